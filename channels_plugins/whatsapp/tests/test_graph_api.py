"""Sends, media, templates, read receipts and the connection test, over real HTTP to the local Graph API peer."""
from __future__ import annotations

import dataclasses
import hashlib
import socket
import threading

import pytest

from omnidesk.plugin_api import (
    AccountContext,
    IdentityKind,
    IdentityRef,
    OutboundAttachment,
    OutboundMessage,
    AccountProblem,
    PermanentDeliveryError,
    TemplateInfo,
    TemplateRef,
    TransientDeliveryError,
)

from channels_plugins.whatsapp import client
from channels_plugins.whatsapp.adapter import WhatsAppAdapter
from channels_plugins.whatsapp.peer import GraphPeer
from channels_plugins.whatsapp.tests.support import SANNE, LOTTE

JPEG = b"\xff\xd8\xff\xe0" + b"stoeptegel" * 500
adapter = WhatsAppAdapter()


def outbound(**changes: object) -> OutboundMessage:
    fields: dict = {"message_id": "4242", "recipient": SANNE, "text": "Wij sturen morgen iemand langs.", **changes}
    return OutboundMessage(**fields)


def test_text_goes_to_the_number_with_our_id_for_reconciliation(peer: GraphPeer, wa_account: AccountContext) -> None:
    result = adapter.send(outbound(), wa_account)
    [sent] = peer.sent
    assert result.provider_message_id == sent["_wamid"]
    assert {k: v for k, v in sent.items() if k != "_wamid"} == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "31612345678",
        "biz_opaque_callback_data": "4242", "type": "text",
        "text": {"preview_url": False, "body": "Wij sturen morgen iemand langs."}}


def test_a_quote_becomes_context(peer: GraphPeer, wa_account: AccountContext) -> None:
    adapter.send(outbound(quote="wamid.QUOTED", in_reply_to="wamid.LAST"), wa_account)
    assert peer.sent[0]["context"] == {"message_id": "wamid.QUOTED"}


def test_without_a_quote_there_is_no_context(peer: GraphPeer, wa_account: AccountContext) -> None:
    adapter.send(outbound(in_reply_to="wamid.LAST"), wa_account)
    assert "context" not in peer.sent[0]


def test_a_user_id_without_phone_is_addressed_by_recipient(peer: GraphPeer, wa_account: AccountContext) -> None:
    adapter.send(outbound(recipient=LOTTE), wa_account)
    assert peer.sent[0]["recipient"] == "NL.1349120865530274191" and "to" not in peer.sent[0]


def test_an_address_of_another_kind_is_refused_before_calling_meta(peer: GraphPeer, wa_account: AccountContext) -> None:
    with pytest.raises(PermanentDeliveryError):
        adapter.send(outbound(recipient=IdentityRef(IdentityKind.EMAIL, "a@example.nl")), wa_account)
    assert peer.log == []


def test_template_with_body_parameters(peer: GraphPeer, wa_account: AccountContext) -> None:
    template = TemplateRef(name="afspraak_herinnering", language="nl", parameters=("Sanne", "dinsdag 10:30"))
    adapter.send(outbound(template=template), wa_account)
    assert peer.sent[0]["type"] == "template"
    assert peer.sent[0]["template"] == {
        "name": "afspraak_herinnering", "language": {"code": "nl"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Sanne"},
                                                       {"type": "text", "text": "dinsdag 10:30"}]}]}
    assert "text" not in peer.sent[0]


def test_template_without_parameters_has_no_components(peer: GraphPeer, wa_account: AccountContext) -> None:
    adapter.send(outbound(template=TemplateRef(name="hallo", language="nl")), wa_account)
    assert peer.sent[0]["template"] == {"name": "hallo", "language": {"code": "nl"}}


def test_an_image_is_uploaded_then_sent_with_its_caption(peer: GraphPeer, wa_account: AccountContext, httpserver) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/files/foto.jpg").respond_with_data(JPEG, content_type="image/jpeg")
    attachment = OutboundAttachment(filename="foto.jpg", content_type="image/jpeg", size=len(JPEG),
                                    url=httpserver.url_for("/files/foto.jpg"))
    adapter.send(outbound(attachments=(attachment,)), wa_account)
    sent = peer.sent[0]
    assert sent["type"] == "image" and sent["image"]["caption"] == "Wij sturen morgen iemand langs."
    assert peer.media[sent["image"]["id"]].content == JPEG


def test_audio_with_text_goes_as_a_document_so_the_text_is_kept(peer: GraphPeer, wa_account: AccountContext, httpserver) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/files/uitleg.mp3").respond_with_data(b"ID3audio", content_type="audio/mpeg")
    attachment = OutboundAttachment(filename="uitleg.mp3", content_type="audio/mpeg", size=8,
                                    url=httpserver.url_for("/files/uitleg.mp3"))
    adapter.send(outbound(attachments=(attachment,)), wa_account)
    assert peer.sent[0]["type"] == "document" and peer.sent[0]["document"]["filename"] == "uitleg.mp3"


def test_meta_error_codes_map_to_retry_or_not(peer: GraphPeer, wa_account: AccountContext) -> None:
    cases = [(130429, 400, TransientDeliveryError), (131048, 400, TransientDeliveryError), (80007, 400, TransientDeliveryError),
             (4, 400, TransientDeliveryError), (131016, 503, TransientDeliveryError), (131049, 400, PermanentDeliveryError),
             (131050, 400, PermanentDeliveryError), (132000, 400, PermanentDeliveryError), (132016, 400, PermanentDeliveryError),
             (190, 401, AccountProblem), (368, 403, AccountProblem), (131031, 400, AccountProblem)]
    for code, status, error in cases:
        peer.fail_next(code, http_status=status)
        with pytest.raises(error) as caught:
            adapter.send(outbound(), wa_account)
        assert type(caught.value) is error and caught.value.code == str(code), code
    assert peer.sent == []


def test_reasons_for_an_administrator_are_clear(peer: GraphPeer, wa_account: AccountContext) -> None:
    peer.fail_next(190, http_status=401)
    with pytest.raises(PermanentDeliveryError, match="access token has expired"):
        adapter.send(outbound(), wa_account)
    peer.fail_next(131031)
    with pytest.raises(PermanentDeliveryError, match="restricted or locked"):
        adapter.send(outbound(), wa_account)
    peer.fail_next(131047, details="Message failed to send because more than 24 hours have passed")
    with pytest.raises(PermanentDeliveryError, match="send an approved template instead"):
        adapter.send(outbound(), wa_account)


def test_a_wrong_token_is_metas_190(peer: GraphPeer, wa_account: AccountContext) -> None:
    stale = dataclasses.replace(wa_account, config={**wa_account.config, "access_token": "expired"})
    with pytest.raises(PermanentDeliveryError) as caught:
        adapter.send(outbound(), stale)
    assert caught.value.code == "190"


def test_rate_limits_carry_a_wait(peer: GraphPeer, wa_account: AccountContext) -> None:
    peer.fail_next(130429, retry_after=12)
    with pytest.raises(TransientDeliveryError) as caught:
        adapter.send(outbound(), wa_account)
    assert caught.value.retry_after == 12.0
    assert not caught.value.this_recipient_only, "a limit on the number holds back every reply"
    peer.fail_next(131056)
    with pytest.raises(TransientDeliveryError) as caught:
        adapter.send(outbound(), wa_account)
    assert caught.value.retry_after == 60.0  # pair rate limit: Meta gives no header, wait a minute
    assert caught.value.this_recipient_only, "a pair rate limit holds back only this resident's reply"


def test_a_send_that_times_out_is_transient_and_says_so(wa_account: AccountContext, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as silent:  # accepts the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        monkeypatch.setattr(client, "TIMEOUT_SECONDS", (1, 0.3))
        config = {**wa_account.config, "graph_api_base_url": f"http://127.0.0.1:{silent.getsockname()[1]}"}
        with pytest.raises(TransientDeliveryError) as caught:
            adapter.send(outbound(), dataclasses.replace(wa_account, config=config))
    assert caught.value.code == "timeout"


def test_an_answer_without_message_id_is_not_retried(wa_account: AccountContext, httpserver) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/v21.0/112233445566778/messages").respond_with_json({"messaging_product": "whatsapp"})
    config = {**wa_account.config, "graph_api_base_url": httpserver.url_for("").rstrip("/")}
    with pytest.raises(PermanentDeliveryError):
        adapter.send(outbound(), dataclasses.replace(wa_account, config=config))


# --- inbound media ------------------------------------------------------------------------------
def _webhook_media_id(peer: GraphPeer, media_id: str) -> str:
    payload = peer.inbound("31612345678", media_id=media_id)
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    return f"{media_id}|sha256={message['image']['sha256']}"


def test_media_is_resolved_downloaded_and_checked(peer: GraphPeer, wa_account: AccountContext) -> None:
    media_id = peer.add_media(JPEG, "image/jpeg")
    fetched = adapter.fetch_media(wa_account, _webhook_media_id(peer, media_id), max_bytes=10**6)
    assert fetched.content == JPEG and fetched.content_type == "image/jpeg"
    assert [path for method, path in peer.log] == [f"/v21.0/{media_id}", peer.log[1][1]]
    assert peer.log[1][1].startswith("/download/")


def test_media_with_only_the_graph_hash_is_checked_too(peer: GraphPeer, wa_account: AccountContext) -> None:
    media_id = peer.add_media(JPEG, "image/jpeg")
    assert adapter.fetch_media(wa_account, media_id, max_bytes=10**6).content == JPEG


def test_an_expired_url_is_resolved_again_once(peer: GraphPeer, wa_account: AccountContext, monkeypatch: pytest.MonkeyPatch) -> None:
    media_id = peer.add_media(JPEG, "image/jpeg")
    real_download = client._download
    calls = []

    def expire_first(graph, url, max_bytes):  # type: ignore[no-untyped-def]
        calls.append(url)
        if len(calls) == 1:
            peer.expire_media_urls()  # the URL Meta just gave expires before we use it
        return real_download(graph, url, max_bytes)

    monkeypatch.setattr(client, "_download", expire_first)
    assert adapter.fetch_media(wa_account, media_id, max_bytes=10**6).content == JPEG
    assert len(calls) == 2 and calls[0] != calls[1]


def test_a_url_that_keeps_expiring_fails_permanently(peer: GraphPeer, wa_account: AccountContext, monkeypatch: pytest.MonkeyPatch) -> None:
    media_id = peer.add_media(JPEG, "image/jpeg")
    real_download = client._download

    def always_expired(graph, url, max_bytes):  # type: ignore[no-untyped-def]
        peer.expire_media_urls()
        return real_download(graph, url, max_bytes)

    monkeypatch.setattr(client, "_download", always_expired)
    with pytest.raises(PermanentDeliveryError):
        adapter.fetch_media(wa_account, media_id, max_bytes=10**6)


def test_a_file_over_the_limit_is_refused(peer: GraphPeer, wa_account: AccountContext) -> None:
    media_id = peer.add_media(JPEG, "image/jpeg")
    with pytest.raises(PermanentDeliveryError) as caught:
        adapter.fetch_media(wa_account, media_id, max_bytes=100)
    assert caught.value.code == "too_large"


def test_a_hash_mismatch_is_retried(peer: GraphPeer, wa_account: AccountContext) -> None:
    media_id = peer.add_media(JPEG, "image/jpeg")
    wrong = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(TransientDeliveryError) as caught:
        adapter.fetch_media(wa_account, f"{media_id}|sha256={wrong}", max_bytes=10**6)
    assert caught.value.code == "sha256_mismatch"


def test_an_expired_media_id_is_permanent(peer: GraphPeer, wa_account: AccountContext) -> None:
    with pytest.raises(PermanentDeliveryError, match="no longer has this file"):
        adapter.fetch_media(wa_account, "1999999999999999", max_bytes=10**6)


def test_the_token_only_goes_to_metas_hosts() -> None:
    graph = client.Graph.from_config({"graph_api_base_url": "https://graph.facebook.com"})
    assert client.media_url_allowed(graph, "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1")
    assert client.media_url_allowed(graph, "https://graph.facebook.com/v21.0/1")
    assert not client.media_url_allowed(graph, "https://evil.example/steal")
    assert not client.media_url_allowed(graph, "http://lookaside.fbsbx.com/x")
    assert not client.media_url_allowed(graph, "https://fbsbx.com.evil.example/x")


# --- templates, read receipts, connection -------------------------------------------------------
def test_approved_templates_are_listed_across_pages(peer: GraphPeer, wa_account: AccountContext) -> None:
    peer.add_template("afspraak_herinnering", "Beste {{1}}, uw afspraak is op {{2}}. Tot {{2}}!")
    peer.add_template("afgewezen", "Niet goedgekeurd", status="REJECTED")
    for number in range(120):
        peer.add_template(f"bulk_{number}", "Vaste tekst", category="MARKETING", language="en_US")
    templates = adapter.list_templates(wa_account)
    assert len(templates) == 121
    assert templates[0] == TemplateInfo(name="afspraak_herinnering", language="nl",
                                        body="Beste {{1}}, uw afspraak is op {{2}}. Tot {{2}}!", parameter_count=2,
                                        category="utility")
    assert "afgewezen" not in {t.name for t in templates}
    assert sum(1 for method, path in peer.log if path.endswith("/message_templates")) == 2


def test_mark_read_posts_a_read_status_unless_switched_off(peer: GraphPeer, wa_account: AccountContext) -> None:
    adapter.mark_read(wa_account, "wamid.IN1")
    assert peer.read_receipts == ["wamid.IN1"]
    quiet = dataclasses.replace(wa_account, config={**wa_account.config, "skip_read_receipts": True})
    adapter.mark_read(quiet, "wamid.IN2")
    assert peer.read_receipts == ["wamid.IN1"]


def test_check_connection(peer: GraphPeer, wa_account: AccountContext) -> None:
    check = adapter.check_connection(wa_account)
    assert check.ok and "+31850001234" in check.detail and "Gemeente Voorbeeld" in check.detail
    stale = dataclasses.replace(wa_account, config={**wa_account.config, "access_token": "stale-token-xyz"})
    check = adapter.check_connection(stale)
    assert not check.ok and "access token has expired" in check.detail and "stale-token-xyz" not in check.detail


def test_config_form_masks_secrets_and_fills_defaults() -> None:
    form = WhatsAppAdapter.config_form(data={"phone_number_id": "112233445566778", "business_account_id": "102290129340398",
                                             "access_token": "t", "app_secret": "s", "verify_token": "v"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["graph_api_base_url"] == "https://graph.facebook.com"
    assert form.cleaned_data["graph_api_version"] == "v21.0"
    assert form.cleaned_data["skip_read_receipts"] is False
    assert WhatsAppAdapter.config_form.secret_field_names() == {"access_token", "app_secret", "verify_token"}
    assert not WhatsAppAdapter.config_form(data={"phone_number_id": "+31 85 000", "business_account_id": "x"}).is_valid()
