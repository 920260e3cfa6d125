"""Webhook signatures: Twilio's reference vector and its own validator, Bird's vector and timestamp window."""
from __future__ import annotations

import dataclasses
import hashlib
import hmac

import pytest
from twilio.request_validator import RequestValidator

from omnidesk.plugin_api import AccountContext, VerificationFailed, WebhookRequest

from channels_plugins.sms.adapter import SmsAdapter
from channels_plugins.sms.forms import SmsConfigForm
from channels_plugins.sms.providers import bird, twilio

VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
                 ("From", "+14158675309"), ("To", "+18005551212")]
BIRD_BODY = b'{"service":"channels","event":"sms.inbound","payload":{"id":"abc"}}'


def account(config: dict, webhook_url: str = "https://omnidesk.example/webhooks/abc123/") -> AccountContext:
    form = SmsConfigForm(data=config)
    assert form.is_valid(), form.errors
    return AccountContext("abc123", "SMS", "town", form.cleaned_data, webhook_url)


def twilio_account(**changes: str) -> AccountContext:
    return account({"provider": "twilio", "account_sid": "AC" + "0" * 32, "auth_token": "12345",
                    "from_number": "+3197010203040", **changes})


def form_request(url: str, params: list[tuple[str, str]], signature: str) -> WebhookRequest:
    from urllib.parse import urlencode

    return WebhookRequest("POST", url, {"x-twilio-signature": signature}, {}, urlencode(params).encode(),
                          "application/x-www-form-urlencoded")


def test_twilio_reference_vector() -> None:
    assert twilio.signature("12345", VECTOR_URL, VECTOR_PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


@pytest.mark.parametrize("params", [
    VECTOR_PARAMS,
    [("Body", "Zoë zegt: “hallo” 👋 & tot 10:00 = prima?"), ("From", "+31612345678"), ("MediaUrl0", "https://x/y?z=1")],
    [("b", "2"), ("a", "1"), ("a", "0"), ("A", "x"), ("Empty", "")],  # repeated names, case, empty values
])
def test_twilio_signature_matches_twilios_own_validator(params: list[tuple[str, str]]) -> None:
    from django.http import QueryDict

    validator = RequestValidator("s3cret")
    query = QueryDict(mutable=True)
    for name, value in params:
        query.appendlist(name, value)
    ours = twilio.signature("s3cret", VECTOR_URL, params)
    assert ours == validator.compute_signature(VECTOR_URL, query)
    assert validator.validate(VECTOR_URL, query, ours)


def test_twilio_vector_through_the_adapter() -> None:
    ctx = twilio_account()
    SmsAdapter().verify(form_request(VECTOR_URL, VECTOR_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), ctx)
    with pytest.raises(VerificationFailed):
        SmsAdapter().verify(form_request(VECTOR_URL, VECTOR_PARAMS[:-1], "RSOYDt4T1cUTdK1PDd93/VVr8B8="), ctx)
    with pytest.raises(VerificationFailed):  # another account's token
        SmsAdapter().verify(form_request(VECTOR_URL, VECTOR_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
                            twilio_account(auth_token="54321"))


@pytest.mark.parametrize(("signed", "received"), [
    ("https://omnidesk.example:443/webhooks/abc123/", "https://omnidesk.example/webhooks/abc123/"),
    ("https://omnidesk.example/webhooks/abc123/", "https://omnidesk.example:443/webhooks/abc123/"),
    ("http://omnidesk.example:80/webhooks/abc123/?x=1", "http://omnidesk.example/webhooks/abc123/?x=1"),
])
def test_twilio_accepts_the_url_with_and_without_default_port(signed: str, received: str) -> None:
    params = [("MessageSid", "SM1"), ("From", "+31612345678"), ("Body", "hoi")]
    SmsAdapter().verify(form_request(received, params, twilio.signature("12345", signed, params)), twilio_account())


def test_twilio_other_ports_are_not_interchangeable() -> None:
    params = [("MessageSid", "SM1")]
    signature = twilio.signature("12345", "https://omnidesk.example:8443/webhooks/abc123/", params)
    with pytest.raises(VerificationFailed):
        SmsAdapter().verify(form_request("https://omnidesk.example/webhooks/abc123/", params, signature), twilio_account())


def test_public_base_url_is_what_the_provider_signed_behind_a_proxy() -> None:
    params = [("MessageSid", "SM1"), ("From", "+31612345678"), ("Body", "hoi")]
    public = "https://sms.gemeente.example/webhooks/abc123/?tenant=7"
    request = form_request("http://10.0.0.5:8000/webhooks/abc123/?tenant=7", params,
                           twilio.signature("12345", public, params))
    with pytest.raises(VerificationFailed):
        SmsAdapter().verify(request, twilio_account())
    SmsAdapter().verify(request, twilio_account(public_base_url="https://sms.gemeente.example/"))


def test_twilio_missing_header_or_token_is_refused() -> None:
    request = form_request(VECTOR_URL, VECTOR_PARAMS, "")
    with pytest.raises(VerificationFailed, match="missing"):
        SmsAdapter().verify(request, twilio_account())
    with pytest.raises(VerificationFailed, match="auth token"):
        twilio.TwilioProvider().verify(dataclasses.replace(request, headers={"x-twilio-signature": "x"}), {},
                                       url=VECTOR_URL)


# --- Bird -------------------------------------------------------------------------------------------------
def test_bird_vector() -> None:
    # Computed independently: printf '1764335100\nhttps://omnidesk.example/webhooks/abc123/\n' followed by
    # `openssl dgst -sha256 -binary` of the body, HMAC-SHA256 (openssl dgst -hmac bird-signing-key), base64.
    expected = "IkNWYFkIYc0McR1nkDNTfmQxLPPELIVHGUxX/jysU4k="
    assert bird.signature("bird-signing-key", "1764335100", "https://omnidesk.example/webhooks/abc123/",
                          BIRD_BODY) == expected
    signed = b"1764335100\nhttps://omnidesk.example/webhooks/abc123/\n" + hashlib.sha256(BIRD_BODY).digest()
    import base64

    assert base64.b64encode(hmac.new(b"bird-signing-key", signed, hashlib.sha256).digest()).decode() == expected


def bird_headers(stamp: str, url: str = "https://omnidesk.example/webhooks/abc123/", body: bytes = BIRD_BODY) -> dict:
    return {bird.SIGNATURE_HEADER: bird.signature("bird-signing-key", stamp, url, body), bird.TIMESTAMP_HEADER: stamp}


@pytest.mark.parametrize(("offset", "ok"), [(0, True), (-299, True), (299, True), (-301, False), (301, False)])
def test_bird_timestamp_window(offset: int, ok: bool) -> None:
    now = 1764335100.0
    headers = bird_headers(str(int(now) + offset))
    url = "https://omnidesk.example/webhooks/abc123/"
    if ok:
        bird.verify_signature("bird-signing-key", headers, url, BIRD_BODY, now=now)
    else:
        with pytest.raises(VerificationFailed, match="timestamp"):
            bird.verify_signature("bird-signing-key", headers, url, BIRD_BODY, now=now)


def test_bird_millisecond_timestamps_are_understood() -> None:
    headers = bird_headers("1764335100123")
    bird.verify_signature("bird-signing-key", headers, "https://omnidesk.example/webhooks/abc123/", BIRD_BODY,
                          now=1764335101.0)


def test_bird_refuses_tampering_and_missing_headers() -> None:
    url, now = "https://omnidesk.example/webhooks/abc123/", 1764335100.0
    headers = bird_headers("1764335100")
    for bad_url, body, bad_headers in [
        (url, BIRD_BODY + b" ", headers),
        (url + "?x=1", BIRD_BODY, headers),
        (url, BIRD_BODY, {**headers, bird.TIMESTAMP_HEADER: "1764335101"}),  # the timestamp is signed too
        (url, BIRD_BODY, {bird.TIMESTAMP_HEADER: "1764335100"}),
        (url, BIRD_BODY, {**headers, bird.TIMESTAMP_HEADER: "yesterday"}),
    ]:
        with pytest.raises(VerificationFailed):
            bird.verify_signature("bird-signing-key", bad_headers, bad_url, body, now=now)
    with pytest.raises(VerificationFailed):
        bird.verify_signature("other-key", headers, url, BIRD_BODY, now=now)
