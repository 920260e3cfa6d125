"""Focused checks of the pure parts: the signature, the handshake, and parsing edge cases."""
from __future__ import annotations

import json

import pytest

from omnidesk.plugin_api import (
    AccountContext,
    DeliveryStatus,
    InboundMessage,
    MalformedPayload,
    ProfileUpdate,
    StatusUpdate,
    VerificationFailed,
    WebhookRequest,
)

from channels_plugins.whatsapp.adapter import WhatsAppAdapter
from channels_plugins.whatsapp.parsing import parse_payload, split_media_id
from channels_plugins.whatsapp.peer import GraphPeer
from channels_plugins.whatsapp.signing import signature, verify_signature
from channels_plugins.whatsapp.tests.support import PHONE_NUMBER_ID, VERIFY_TOKEN, config

ACCOUNT = AccountContext(public_id="wa", name="WhatsApp", municipality_slug="utrecht",
                         config=WhatsAppAdapter.config_form(data=config("https://graph.facebook.com")).data,
                         webhook_url="https://omnidesk.example/webhooks/wa/")


def test_signature_matches_the_reference_vector() -> None:
    expected = "sha256=dc46983557fea127b43af721467eb9b3fde2338fe3e14f51952aa8478c13d355"
    assert signature("secret", b"body") == expected
    verify_signature("secret", b"body", expected)
    verify_signature("secret", b"body", expected.upper().replace("SHA256=", "sha256="))  # hex case does not matter


@pytest.mark.parametrize("header", ["", "dc46983557fea127b43af721467eb9b3fde2338fe3e14f51952aa8478c13d355",
                                    "sha256=" + "0" * 64, "sha1=abc"])
def test_bad_signatures_are_refused(header: str) -> None:
    with pytest.raises(VerificationFailed):
        verify_signature("secret", b"body", header)


def test_signature_is_over_the_raw_bytes_not_reserialised_json() -> None:
    raw = b'{"text": "caf\\u00e9"}'  # Meta escapes non-ASCII; json.dumps(json.loads(raw)) would differ
    header = signature("secret", raw)
    verify_signature("secret", raw, header)
    with pytest.raises(VerificationFailed):
        verify_signature("secret", json.dumps(json.loads(raw), ensure_ascii=False).encode(), header)


def _get(**query: str) -> WebhookRequest:
    return WebhookRequest(method="GET", url=ACCOUNT.webhook_url, headers={}, query=query, body=b"")


def test_handshake_echoes_the_challenge_for_our_verify_token() -> None:
    result = WhatsAppAdapter().handle_webhook(
        _get(**{"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}), ACCOUNT)
    assert result.events == ()
    assert (result.response.status, result.response.body, result.response.content_type) == (
        200, b"1158201444", "text/plain")


@pytest.mark.parametrize("query", [
    {"hub.mode": "subscribe", "hub.verify_token": "guessed", "hub.challenge": "1"},
    {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
    {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN},
    {},
])
def test_handshake_with_a_wrong_token_or_mode_is_refused(query: dict[str, str]) -> None:
    with pytest.raises(VerificationFailed):
        WhatsAppAdapter().handle_webhook(_get(**query), ACCOUNT)


def test_not_json_or_no_entry_is_malformed() -> None:
    with pytest.raises(MalformedPayload):
        parse_payload(b"<html>", PHONE_NUMBER_ID)
    with pytest.raises(MalformedPayload):
        parse_payload(b'{"object": "whatsapp_business_account"}', PHONE_NUMBER_ID)


def test_other_webhook_objects_are_ignored() -> None:
    assert parse_payload(b'{"object": "page", "entry": []}', PHONE_NUMBER_ID) == []


def test_a_message_without_id_is_malformed() -> None:
    peer = GraphPeer()
    payload = peer.inbound("31612345678", text="hoi")
    del payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    with pytest.raises(MalformedPayload):
        parse_payload(json.dumps(payload).encode(), peer.phone_number_id)


def test_statuses_in_any_order_each_become_an_event_played_counts_as_read_and_unknown_states_are_skipped() -> None:
    peer = GraphPeer()
    statuses = [peer.status("wamid.X", state, at=1795870000 + i)["entry"][0]["changes"][0]["value"]["statuses"][0]
                for i, state in enumerate(["read", "sent", "played", "deleted", "delivered"])]
    events = parse_payload(json.dumps(peer.envelope(statuses=statuses)).encode(), peer.phone_number_id)
    assert [e.status for e in events if isinstance(e, StatusUpdate)] == [
        DeliveryStatus.READ, DeliveryStatus.SENT, DeliveryStatus.READ, DeliveryStatus.DELIVERED]


def test_failed_status_with_an_unknown_code_keeps_metas_details() -> None:
    peer = GraphPeer()
    events = parse_payload(json.dumps(peer.status("wamid.Y", "failed", error_code=139999)).encode(), peer.phone_number_id)
    assert events == [StatusUpdate(provider_message_id="wamid.Y", status=DeliveryStatus.FAILED,
                                   occurred_at=events[0].occurred_at, error_code="139999", error_message="Error 139999")]


def test_a_renamed_resident_gives_one_profile_update_per_batch_after_the_messages() -> None:
    peer = GraphPeer()
    first, second = peer.inbound("31612345678", text="a", name="Sanne"), peer.inbound("31612345678", text="b", name="Sanne")
    value = first["entry"][0]["changes"][0]["value"]
    value["messages"] += second["entry"][0]["changes"][0]["value"]["messages"]
    events = parse_payload(json.dumps(first).encode(), peer.phone_number_id)
    assert [type(e) for e in events] == [InboundMessage, InboundMessage, ProfileUpdate]


def test_media_id_carries_the_webhooks_sha256() -> None:
    assert split_media_id("123|sha256=abc=") == ("123", "abc=")
    assert split_media_id("123") == ("123", "")


def test_parse_touches_no_network_or_database(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parse must not use the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    peer = GraphPeer()
    media_id = peer.add_media(b"\x89PNG", "image/png")
    events = parse_payload(json.dumps(peer.inbound("31612345678", media_id=media_id, caption="kijk")).encode(),
                           peer.phone_number_id)
    assert events[0].attachments[0].provider_media_id.startswith(media_id + "|sha256=")
