"""Keywords, status and error mapping, malformed payloads, and the config form."""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from omnidesk.plugin_api import (
    ConsentChange,
    DeliveryStatus,
    InboundMessage,
    MalformedPayload,
    StatusUpdate,
    WebhookRequest,
)
from omnidesk.plugin_api.testing import utc

from channels_plugins.sms.forms import SmsConfigForm
from channels_plugins.sms.parsing import keyword_of, signed_url
from channels_plugins.sms.providers import PROVIDERS
from channels_plugins.sms.tests.support import RECEIVED_AT, bird_config, twilio_config

TWILIO, BIRD = PROVIDERS["twilio"], PROVIDERS["bird"]


@pytest.mark.parametrize(("text", "keyword"), [
    ("STOP", "STOP"), ("stop", "STOP"), ("  Stop\n", "STOP"), ("Stop.", "STOP"), ("STOPALL", "STOPALL"),
    ("unsubscribe", "UNSUBSCRIBE"), ("Cancel", "CANCEL"), ("end", "END"), ("QUIT!", "QUIT"),
    ("start", "START"), ("Yes", "YES"), ("UNSTOP", "UNSTOP"),
    ("stop met die berichten", ""), ("Please stop", ""), ("STOP STOP", ""), ("nee", ""), ("", ""), ("S T O P", ""),
])
def test_keywords_are_whole_messages(text: str, keyword: str) -> None:
    assert keyword_of(text) == keyword


def twilio_form(**fields: str) -> WebhookRequest:
    return WebhookRequest("POST", "https://x/webhooks/a/", {}, {}, urlencode(fields).encode(),
                          "application/x-www-form-urlencoded")


def test_twilio_message_with_stop_gives_message_then_opt_out() -> None:
    events = TWILIO.parse(twilio_form(MessageSid="SM1", From="+31612345678", Body="Quit"), {}, received_at=RECEIVED_AT)
    assert [type(e) for e in events] == [InboundMessage, ConsentChange]
    assert events[0].text == "Quit" and events[1].opted_out is True and events[1].keyword == "QUIT"


def test_twilio_advanced_opt_out_verdict_covers_custom_keywords() -> None:
    # A keyword configured at Twilio (e.g. Dutch "AFMELDEN") arrives with OptOutType=STOP.
    events = TWILIO.parse(twilio_form(MessageSid="SM1", From="+31612345678", Body="afmelden", OptOutType="STOP"), {},
                          received_at=RECEIVED_AT)
    assert events[1] == ConsentChange(events[0].sender, True, "AFMELDEN", RECEIVED_AT)
    help_only = TWILIO.parse(twilio_form(MessageSid="SM2", From="+31612345678", Body="help", OptOutType="HELP"), {},
                             received_at=RECEIVED_AT)
    assert [type(e) for e in help_only] == [InboundMessage]


@pytest.mark.parametrize(("word", "status"), [
    ("accepted", DeliveryStatus.QUEUED), ("queued", DeliveryStatus.QUEUED), ("sending", DeliveryStatus.SENDING),
    ("sent", DeliveryStatus.SENT), ("delivered", DeliveryStatus.DELIVERED), ("read", DeliveryStatus.READ),
    ("undelivered", DeliveryStatus.FAILED), ("failed", DeliveryStatus.FAILED), ("canceled", DeliveryStatus.FAILED),
])
def test_twilio_statuses(word: str, status: DeliveryStatus) -> None:
    [event] = TWILIO.parse(twilio_form(MessageSid="SM9", MessageStatus=word), {}, received_at=RECEIVED_AT)
    assert event == StatusUpdate("SM9", status, RECEIVED_AT,
                                 error_message="Twilio reported a failure." if status is DeliveryStatus.FAILED else "")


@pytest.mark.parametrize(("code", "explanation"), [
    ("30003", "switched off or out of reach"), ("30005", "does not exist"), ("30006", "landline"),
    ("30007", "filtered"), ("21610", "unsubscribed"), ("21211", "not a valid number"),
    ("39999", "Twilio error 39999."),
])
def test_twilio_error_codes_are_explained(code: str, explanation: str) -> None:
    [event] = TWILIO.parse(twilio_form(MessageSid="SM9", MessageStatus="undelivered", ErrorCode=code), {},
                           received_at=RECEIVED_AT)
    assert event.error_code == code and explanation in event.error_message


@pytest.mark.parametrize("body", [b"", b"From=%2B31612345678&Body=hi", b"MessageSid=SM1&Body=hi", b"\xff\xfe"])
def test_twilio_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        TWILIO.parse(WebhookRequest("POST", "https://x/", {}, {}, body), {}, received_at=RECEIVED_AT)


def bird_request(envelope: object) -> WebhookRequest:
    return WebhookRequest("POST", "https://x/", {}, {}, json.dumps(envelope).encode(), "application/json")


@pytest.mark.parametrize(("word", "status"), [
    ("accepted", DeliveryStatus.QUEUED), ("processing", DeliveryStatus.QUEUED), ("sending", DeliveryStatus.SENDING),
    ("sent", DeliveryStatus.SENT), ("delivered", DeliveryStatus.DELIVERED), ("sending_failed", DeliveryStatus.FAILED),
    ("delivery_failed", DeliveryStatus.FAILED), ("rejected", DeliveryStatus.FAILED),
])
def test_bird_statuses(word: str, status: DeliveryStatus) -> None:
    [event] = BIRD.parse(bird_request({"event": "sms.outbound", "payload": {
        "id": "m1", "status": word, "lastStatusAt": "2026-11-28T13:00:00Z"}}), {}, received_at=RECEIVED_AT)
    assert (event.status, event.occurred_at) == (status, utc(2026, 11, 28, 13))


def test_bird_ignores_unknown_statuses_and_other_channels() -> None:
    config = {"channel_id": "ours"}
    assert BIRD.parse(bird_request({"event": "sms.outbound", "payload": {"id": "m", "status": "deleted"}}), config,
                      received_at=RECEIVED_AT) == []
    assert BIRD.parse(bird_request({"event": "sms.inbound", "payload": {"id": "m", "channelId": "theirs"}}), config,
                      received_at=RECEIVED_AT) == []


def test_bird_unknown_body_type_becomes_a_visible_placeholder() -> None:
    [event] = BIRD.parse(bird_request({"event": "sms.inbound", "payload": {
        "id": "m", "sender": {"contact": {"identifierValue": "+31612345678"}}, "body": {"type": "location"}}}), {},
        received_at=RECEIVED_AT)
    assert "location" in event.text and event.sent_at == RECEIVED_AT


@pytest.mark.parametrize("envelope", [[], {"event": "sms.inbound"}, {"event": "sms.inbound", "payload": {"id": "m"}}])
def test_bird_malformed(envelope: object) -> None:
    with pytest.raises(MalformedPayload):
        BIRD.parse(bird_request(envelope), {}, received_at=RECEIVED_AT)


def test_signed_url() -> None:
    assert signed_url("http://127.0.0.1:8000/webhooks/a/?x=1") == "http://127.0.0.1:8000/webhooks/a/?x=1"
    assert signed_url("http://127.0.0.1:8000/webhooks/a/?x=1", "https://sms.example/") == "https://sms.example/webhooks/a/?x=1"


# --- config form -------------------------------------------------------------------------------------------
def test_form_defaults_the_api_base_url_per_provider() -> None:
    for config, default in [(twilio_config(""), "https://api.twilio.com"), (bird_config(""), "https://api.bird.com")]:
        form = SmsConfigForm(data=config)
        assert form.is_valid(), form.errors
        assert form.cleaned_data["api_base_url"] == default


def test_form_requires_each_providers_credentials_keyed_by_field() -> None:
    form = SmsConfigForm(data={"provider": "twilio"})
    assert not form.is_valid()
    assert {"account_sid", "auth_token", "from_number"} <= set(form.errors)
    form = SmsConfigForm(data={"provider": "bird"})
    assert not form.is_valid()
    assert {"workspace_id", "channel_id", "access_key", "signing_key"} <= set(form.errors)
    form = SmsConfigForm(data=twilio_config("", account_sid="XX123"))
    assert not form.is_valid() and "account_sid" in form.errors
    assert not SmsConfigForm(data={**twilio_config(""), "provider": "nexmo"}).is_valid()


@pytest.mark.parametrize(("sender", "cleaned"), [
    ("+3197010203040", "+3197010203040"), ("097010203040", "+3197010203040"), ("Gemeente", "Gemeente"),
    ("Gem Utrecht", "Gem Utrecht"),
])
def test_form_sender_is_a_number_or_an_alphanumeric_id(sender: str, cleaned: str) -> None:
    form = SmsConfigForm(data=twilio_config("", from_number=sender))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["from_number"] == cleaned


def test_form_messaging_service_replaces_the_sender_and_secrets_are_declared() -> None:
    form = SmsConfigForm(data=twilio_config("", from_number="", messaging_service_sid="MG" + "1" * 32))
    assert form.is_valid(), form.errors
    assert SmsConfigForm.secret_field_names() == {"auth_token", "access_key", "signing_key"}
    assert not SmsConfigForm(data=twilio_config("", from_number="1234567890123456789")).is_valid()

