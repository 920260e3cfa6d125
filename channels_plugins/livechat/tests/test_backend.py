"""The livechat's server side, without a browser: tokens, origins, the socket protocol, uploads, offline questions."""
from __future__ import annotations

import json
import re
import struct
import zlib

import pytest
from channels.testing import WebsocketCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile

from omnidesk.asgi import application
from omnidesk.channel_accounts.services import channel_account_create
from omnidesk.outbound.services import deliver
from omnidesk.tickets.models import Message, Ticket
from omnidesk.tickets.services import reply_create
from channels_plugins.livechat.tests.conftest import run_async

from channels_plugins.livechat.forms import LivechatConfigForm
from channels_plugins.livechat.visitors import identity_hash

SITE = "https://www.gemeente-voorbeeld.nl"
OWN = "http://127.0.0.1:8000"


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


@pytest.fixture
def chat(municipality):  # type: ignore[no-untyped-def]
    return channel_account_create(municipality=municipality, plugin_key="livechat", name="Website", config={
        "allowed_origins": SITE, "welcome_text": "Welkom!", "messages_per_minute": 3})


def start(client, chat, origin: str = SITE, **body) -> dict:  # type: ignore[no-untyped-def]
    response = client.post(f"/channels/livechat/{chat.public_id}/session/", data=json.dumps(body),
                           content_type="application/json", headers={"Origin": origin})
    return {"status": response.status_code, **response.json()}


def socket(chat, token: str, origin: str = OWN) -> WebsocketCommunicator:  # type: ignore[no-untyped-def]
    return WebsocketCommunicator(application, f"/ws/channels/livechat/{chat.public_id}/?token={token}",
                                 headers=[(b"origin", origin.encode()), (b"host", b"127.0.0.1")])


def test_config_form_defaults_a_secret_and_refuses_unreadable_colours():
    form = LivechatConfigForm(data={"colour": "#1d4ed8", "allowed_origins": "https://a.nl\nhttp://localhost:8000/"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["allowed_origins"] == ["https://a.nl", "http://localhost:8000"]
    assert form.cleaned_data["text_colour"] == "#ffffff" and len(form.cleaned_data["identity_secret"]) > 30
    assert not LivechatConfigForm(data={"colour": "#777777"}).is_valid()  # neither white nor black reaches 4.5:1
    assert not LivechatConfigForm(data={"allowed_origins": "https://a.nl/pad"}).is_valid()
    # When the chat is open is core's business hours, not a field of the plugin's own.
    assert "business_hours" not in LivechatConfigForm().fields


def test_the_widget_config_is_readable_only_by_allowed_sites_and_the_panel_only_framed_by_them(client, chat):
    allowed = client.get(f"/channels/livechat/{chat.public_id}/config.json?lang=en", headers={"Origin": SITE})
    assert allowed["Access-Control-Allow-Origin"] == SITE and allowed.json()["labels"]["open"] == "Open the chat"
    other = client.get(f"/channels/livechat/{chat.public_id}/config.json", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other
    panel = client.get(f"/channels/livechat/{chat.public_id}/panel/?lang=nl")
    assert f"frame-ancestors 'self' {SITE};" in panel["Content-Security-Policy"]
    assert "X-Frame-Options" not in panel
    assert client.get("/channels/livechat/nope/widget.js").status_code == 404


def test_a_session_keeps_its_visitor_and_history_and_other_sites_are_refused(client, chat):
    first = start(client, chat)
    assert first["status"] == 200 and first["history"] == [] and first["visitor_token"]
    again = start(client, chat, visitor_token=first["visitor_token"])
    assert again["visitor_token"] == first["visitor_token"]
    assert start(client, chat, origin="https://evil.example")["status"] == 403
    forged = start(client, chat, visitor_token=first["visitor_token"][:-2] + "xx")
    assert forged["visitor_token"] != first["visitor_token"]  # an unknown token is a new visitor, never someone else


def test_a_portal_can_vouch_for_a_resident_with_an_hmac(client, chat):
    from omnidesk.channel_accounts.selectors import account_context

    secret = account_context(chat).config["identity_secret"]
    good = start(client, chat, user="Anna@Example.nl", user_hash=identity_hash(secret, "anna@example.nl"))
    assert good["status"] == 200
    bad = start(client, chat, user="anna@example.nl", user_hash="0" * 64)
    assert bad["status"] == 403 and bad["error"]["code"] == "identity"


def test_the_socket_stores_each_message_once_acks_it_and_refuses_strangers(transactional_db, client, chat):
    token = start(client, chat)["visitor_token"]

    async def scenario() -> list[dict]:
        frames = []
        stranger = socket(chat, token, origin="https://evil.example")
        assert (await stranger.connect())[0] is False
        forged = socket(chat, "not-a-token")
        assert (await forged.connect())[0] is False
        ws = socket(chat, token)
        assert (await ws.connect())[0] is True
        frames.append(await ws.receive_json_from())  # state
        for _ in range(2):  # the second is a resend after a lost ack: one message
            await ws.send_json_to({"type": "message", "client_id": "c0ffee00-0001", "text": "Mijn container is niet geleegd"})
            frames.append(await ws.receive_json_from())  # ack
            frames.append(await ws.receive_json_from())  # the message, for the visitor's other tabs
        await ws.send_json_to({"type": "message", "client_id": "c0ffee00-0002", "text": "x" * 2001})
        frames.append(await ws.receive_json_from())
        await ws.disconnect()
        return frames

    frames = run_async(scenario)
    assert frames[0]["type"] == "state" and frames[0]["online"] is False  # nobody has the dashboard open
    stored = Message.objects.get()
    assert stored.text == "Mijn container is niet geleegd"
    assert frames[1] == {"type": "ack", "client_id": "c0ffee00-0001", "id": stored.pk} == frames[3]
    assert frames[2]["message"]["client_id"] == "c0ffee00-0001" and frames[2]["message"]["direction"] == "inbound"
    assert frames[5]["code"] == "too_long" and frames[5]["client_id"] == "c0ffee00-0002"


def test_a_visitor_sending_too_fast_is_told_to_wait(transactional_db, client, chat):
    token = start(client, chat)["visitor_token"]

    async def scenario() -> dict:
        ws = socket(chat, token)
        await ws.connect()
        await ws.receive_json_from()
        for n in range(3):
            await ws.send_json_to({"type": "message", "client_id": f"rate-limit-{n:04d}", "text": f"Bericht {n}"})
            await ws.receive_json_from()
            await ws.receive_json_from()
        await ws.send_json_to({"type": "message", "client_id": "rate-limit-0009", "text": "Nog een"})
        frame = await ws.receive_json_from()
        await ws.disconnect()
        return frame

    frame = run_async(scenario)
    assert frame["code"] == "rate_limited" and frame["retry_after"] > 0 and "seconds" in frame["message"] or "seconden" in frame["message"]
    assert Message.objects.count() == 3


def test_an_agents_reply_reaches_the_open_widget_and_is_marked_delivered_and_read(transactional_db, client, chat, agent):
    token = start(client, chat)["visitor_token"]

    async def scenario() -> list[dict]:
        from channels.db import database_sync_to_async

        ws = socket(chat, token)
        await ws.connect()
        await ws.receive_json_from()
        await ws.send_json_to({"type": "message", "client_id": "question-0001", "text": "Wanneer is het milieupark open?"})
        await ws.receive_json_from()
        await ws.receive_json_from()

        def reply() -> int:
            ticket = Ticket.objects.get()
            message = reply_create(ticket=ticket, author=agent, text="Zaterdag van 9 tot 16 uur.")
            deliver(message.pk)
            return message.pk

        reply_id = await database_sync_to_async(reply)()
        frames = [await ws.receive_json_from()]
        await ws.send_json_to({"type": "read", "up_to": reply_id})
        await ws.send_json_to({"type": "resume", "after": 0})  # a reconnecting widget asks for everything it missed
        frames += [await ws.receive_json_from(), await ws.receive_json_from()]
        await ws.disconnect()
        return frames

    frames = run_async(scenario)
    reply = Message.objects.get(direction="outbound", kind="message")
    assert frames[0]["type"] == "message" and frames[0]["message"]["text"] == "Zaterdag van 9 tot 16 uur."
    assert frames[0]["message"]["author_name"] and frames[0]["message"]["id"] == reply.pk
    assert [f["message"]["direction"] for f in frames[1:]] == ["inbound", "outbound"]
    assert reply.delivery_status == "read"


def test_uploads_are_sniffed_and_limited(client, chat):
    token = start(client, chat)["visitor_token"]
    url = f"/channels/livechat/{chat.public_id}/upload/"
    headers = {"X-Visitor-Token": token, "Origin": OWN}
    ok = client.post(url, {"client_id": "upload-0001", "file": SimpleUploadedFile("foto.PNG.exe", tiny_png(),
                                                                                  "application/x-msdownload")},
                     headers=headers)
    assert ok.status_code == 200, ok.content
    attachment = Message.objects.get().attachments.get()
    assert (attachment.filename, attachment.content_type) == ("foto.PNG.png", "image/png")
    fake = client.post(url, {"client_id": "upload-0002", "file": SimpleUploadedFile("x.png", b"<script>alert(1)</script>",
                                                                                    "image/png")}, headers=headers)
    assert fake.status_code == 415 and fake.json()["error"]["code"] == "file_type"
    big = client.post(url, {"client_id": "upload-0003", "file": SimpleUploadedFile("big.png", tiny_png() + b"\0" * (11 * 2**20),
                                                                                   "image/png")}, headers=headers)
    assert big.status_code == 413
    stranger = client.post(url, {"client_id": "upload-0004", "file": SimpleUploadedFile("a.png", tiny_png())},
                           headers={"X-Visitor-Token": "forged", "Origin": OWN})
    assert stranger.status_code == 403
    assert Message.objects.count() == 1


def test_an_offline_question_becomes_a_ticket_on_the_email_channel(client, chat, municipality):
    from omnidesk.channel_accounts.services import channel_account_update_config
    from omnidesk.channel_accounts.selectors import account_context

    email = channel_account_create(municipality=municipality, plugin_key="sandbox", name="Mail (test)", config={})
    config = dict(account_context(chat).config)
    config.update(offline_email_account=email.public_id, allowed_origins="\n".join(config["allowed_origins"]))
    channel_account_update_config(account=chat, config=config)
    url = f"/channels/livechat/{chat.public_id}/offline/"
    missing = client.post(url, data=json.dumps({"question": "Hoi"}), content_type="application/json",
                          headers={"Origin": OWN})
    assert missing.status_code == 400 and "email" in missing.json()["errors"]
    ok = client.post(url, data=json.dumps({"name": "Anna", "email": "Anna@Example.nl", "question": "Kan ik een "
                                           "afspraak maken?"}), content_type="application/json", headers={"Origin": OWN})
    assert ok.status_code == 200 and ok.json()["ok"] is True
    ticket = Ticket.objects.get()
    assert ticket.channel_account == email and ticket.identity.value == "anna@example.nl"
    assert str(ticket.contact) == "Anna" and ticket.messages.get().text == "Kan ik een afspraak maken?"


# --- core's business hours, crisis mode and a switched-off chat (plugin API 1.2: account_notice) ----------------
def _closed_today(account) -> None:  # type: ignore[no-untyped-def]
    """Opening hours for the account on tomorrow's weekday only: closed now, open again tomorrow."""
    from datetime import time

    from django.utils import timezone

    from omnidesk.hours.models import OpeningHours

    OpeningHours.objects.create(municipality=account.municipality, channel_account=account,
                                weekday=(timezone.localdate().weekday() + 1) % 7, opens=time(9), closes=time(17))


def test_online_follows_core_business_hours_and_a_present_colleague(client, chat, agent):
    from datetime import datetime

    from django.utils import timezone

    from omnidesk.realtime.presence import mark_present

    mark_present(chat.municipality_id, agent.pk)
    state = start(client, chat)["state"]
    assert (state["online"], state["next_opening"], state["crisis"]) == (True, None, {})  # no hours: always open

    _closed_today(chat)
    state = start(client, chat)["state"]
    assert state["online"] is False and state["away_text"]
    assert datetime.fromisoformat(state["next_opening"]) > timezone.now()


def test_crisis_mode_shows_in_the_panel_and_the_state(client, chat, municipality):
    municipality.crisis_active = True
    municipality.crisis_message_nl, municipality.crisis_message_en = "Stormschade: bel 112.", "Storm damage: call 112."
    municipality.save()
    english = client.get(f"/channels/livechat/{chat.public_id}/panel/?lang=en").content.decode()
    assert re.search(r'<div class="crisis" id="lc-crisis" role="alert">.*Storm damage: call 112\.', english)
    assert start(client, chat)["state"]["crisis"] == {"nl": "Stormschade: bel 112.", "en": "Storm damage: call 112."}
    municipality.crisis_active = False
    municipality.save()
    assert 'id="lc-crisis" role="alert" hidden' in client.get(f"/channels/livechat/{chat.public_id}/panel/").content.decode()


def _switch_off(chat, nl: str = "Chat via www.chat-town.nl of bel 14 030.", en: str = "Call 14 030.") -> None:  # type: ignore[no-untyped-def]
    from omnidesk.channel_accounts.services import channel_account_set_enabled

    chat.sunset_reply_nl, chat.sunset_reply_en = nl, en
    chat.save(update_fields=["sunset_reply_nl", "sunset_reply_en"])
    channel_account_set_enabled(account=chat, enabled=False)


def test_a_switched_off_chat_still_loads_and_shows_where_to_go_instead(client, chat):
    _switch_off(chat)
    base = f"/channels/livechat/{chat.public_id}"
    assert client.get(f"{base}/widget.js").status_code == 200
    config = client.get(f"{base}/config.json", headers={"Origin": SITE})
    assert config.status_code == 200 and config["Access-Control-Allow-Origin"] == SITE
    panel = client.get(f"{base}/panel/?lang=en")
    assert panel.status_code == 200 and f"frame-ancestors 'self' {SITE};" in panel["Content-Security-Policy"]
    html = panel.content.decode()
    assert re.search(r'<section class="closed" id="lc-closed"[^>]*tabindex="-1">', html)  # not hidden
    assert re.search(r'id="lc-closed-text">Call 14 030\.</p>', html)
    assert '<form class="composer" id="lc-composer" hidden>' in html
    assert json.loads(re.search(r'id="livechat-config" type="application/json">(.*?)</script>', html)[1])["switched_off"]
    dutch = client.get(f"{base}/panel/?lang=nl").content.decode()
    assert 'href="http://www.chat-town.nl"' in dutch  # the alternatives' web address is a link


def test_a_switched_off_chat_refuses_new_conversations_clearly(transactional_db, client, chat):
    token = start(client, chat)["visitor_token"]
    _switch_off(chat)
    refused = start(client, chat, visitor_token=token)
    assert refused["status"] == 410
    assert refused["error"] == {"code": "switched_off", "message": "Chat via www.chat-town.nl of bel 14 030."}
    english = client.post(f"/channels/livechat/{chat.public_id}/session/?lang=en", data="{}",
                          content_type="application/json", headers={"Origin": SITE})
    assert english.status_code == 410 and english.json()["error"]["message"] == "Call 14 030."
    assert start(client, chat, origin="https://evil.example")["status"] == 403  # other sites learn nothing new
    offline = client.post(f"/channels/livechat/{chat.public_id}/offline/", data=json.dumps(
        {"email": "anna@example.nl", "question": "Hallo?"}), content_type="application/json", headers={"Origin": OWN})
    assert offline.status_code == 410
    assert Ticket.objects.count() == 0

    async def scenario() -> tuple[bool, int]:
        ws = socket(chat, token)
        connected, code = await ws.connect()
        return connected, code

    assert run_async(scenario) == (False, 4410)


def test_without_a_sunset_text_the_panel_still_says_the_chat_is_closed(client, chat):
    _switch_off(chat, nl="", en="")
    html = client.get(f"/channels/livechat/{chat.public_id}/panel/?lang=nl").content.decode()
    text = re.search(r'id="lc-closed-text">(.*?)</p>', html)[1]
    assert text.strip() and '<form class="composer" id="lc-composer" hidden>' in html
    assert start(client, chat)["error"]["code"] == "switched_off"


def test_a_chat_switched_off_while_open_closes_the_socket_and_stores_nothing(transactional_db, client, chat):
    token = start(client, chat)["visitor_token"]

    async def scenario() -> dict:
        from channels.db import database_sync_to_async

        ws = socket(chat, token)
        assert (await ws.connect())[0] is True
        await ws.receive_json_from()  # state
        await database_sync_to_async(_switch_off)(chat)
        await ws.send_json_to({"type": "message", "client_id": "too-late-0001", "text": "Is er nog iemand?"})
        return await ws.receive_output()

    assert run_async(scenario) == {"type": "websocket.close", "code": 4410}
    assert Message.objects.count() == 0
