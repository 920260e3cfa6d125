"""Through Omnidesk's real webhook endpoint, dashboard and API, with the Graph API peer on the other side.

Only public interfaces are used: management commands to set up, HTTP to act and to look.
"""
from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command

from channels_plugins.whatsapp.peer import GraphPeer
from channels_plugins.whatsapp.tests.support import APP_SECRET, VERIFY_TOKEN

JPEG = b"\xff\xd8\xff\xe0" + b"losse-stoeptegel" * 300


def _command(*args: str, **options: Any) -> dict[str, Any]:
    out = io.StringIO()
    call_command(*args, stdout=out, **options)
    return json.loads(out.getvalue())


@pytest.fixture
def channel(db, peer: GraphPeer, client, settings) -> str:  # type: ignore[no-untyped-def]
    settings.CELERY_TASK_ALWAYS_EAGER = True  # media fetches and deliveries run in-process, after commit
    _command("createmunicipality", "utrecht", name="Gemeente Utrecht")
    account = _command("addchannel", "utrecht", "whatsapp", name="WhatsApp", config_json=json.dumps(peer.account_config()))
    agent = _command("createagent", "utrecht", "anna", name="Anna de Jong")
    assert client.login(username=agent["username"], password=agent["password"])
    return f"/webhooks/{account['public_id']}/"


def post(client, url: str, peer: GraphPeer, payload: dict[str, Any]):  # type: ignore[no-untyped-def]
    body, headers = peer.signed(payload)
    return client.post(url, data=body, content_type="application/json",
                       headers={"X-Hub-Signature-256": headers["X-Hub-Signature-256"]})


def tickets(client) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/tickets/")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def messages(client, number: int) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/tickets/{number}/messages/")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_handshake_through_the_endpoint(client, channel: str) -> None:  # type: ignore[no-untyped-def]
    ok = client.get(channel, {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.content == b"1158201444" and ok["Content-Type"].startswith("text/plain")
    wrong = client.get(channel, {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"})
    assert wrong.status_code == 403 and b"1158201444" not in wrong.content


def test_unsigned_or_tampered_posts_are_refused_and_store_nothing(client, channel: str, peer: GraphPeer) -> None:  # type: ignore[no-untyped-def]
    body, headers = peer.signed(peer.inbound("31612345678", text="Hallo"))
    unsigned = client.post(channel, data=body, content_type="application/json")
    tampered = client.post(channel, data=body.replace(b"Hallo", b"Hallo!"), content_type="application/json",
                           headers={"X-Hub-Signature-256": headers["X-Hub-Signature-256"]})
    wrong_secret = GraphPeer(app_secret="not-" + APP_SECRET)
    forged = post(client, channel, wrong_secret, peer.inbound("31612345678", text="Hallo"))
    assert (unsigned.status_code, tampered.status_code, forged.status_code) == (403, 403, 403)
    assert tickets(client) == []


def test_a_batch_is_ingested_whole_and_once(client, channel: str, peer: GraphPeer) -> None:  # type: ignore[no-untyped-def]
    first, second = peer.inbound("31612345678", text="Eerste", name="Sanne"), peer.inbound("31687654321", text="Tweede")
    first["entry"].append(second["entry"][0])
    first["entry"][0]["changes"].append(peer.status("wamid.UNKNOWN", "delivered")["entry"][0]["changes"][0])
    other = peer.inbound("31611112222", text="Voor een ander nummer")
    other["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "998877665544332"
    first["entry"].append(other["entry"][0])
    report = post(client, channel, peer, first).json()
    assert (report["messages"], report["statuses"], report["duplicates"]) == (2, 1, 0)
    again = post(client, channel, peer, first).json()
    assert (again["messages"], again["duplicates"]) == (0, 2)
    assert sorted(t["contact_name"] for t in tickets(client)) == ["Inwoner", "Sanne"]


def test_inbound_text_and_image_appear_with_the_image_viewable(client, channel: str, peer: GraphPeer,  # type: ignore[no-untyped-def]
                                                               django_capture_on_commit_callbacks) -> None:
    media_id = peer.add_media(JPEG, "image/jpeg")
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, channel, peer, peer.inbound("31612345678", text="De stoep is kapot", name="Sanne")).status_code == 200
        assert post(client, channel, peer, peer.inbound("31612345678", media_id=media_id, caption="Zo", name="Sanne")).status_code == 200
    [ticket] = tickets(client)
    assert ticket["channel_key"] == "whatsapp" and ticket["contact_name"] == "Sanne"
    text, image = messages(client, ticket["number"])
    assert text["text"] == "De stoep is kapot" and image["text"] == "Zo"
    [attachment] = image["attachments"]
    assert attachment["url"] and attachment["content_type"] == "image/jpeg" and not attachment["error"]
    shown = client.get(attachment["url"])
    assert shown.status_code == 200 and b"".join(shown.streaming_content if shown.streaming else [shown.content]) == JPEG


def _reply(client, channel: str, peer: GraphPeer, capture, text: str = "Wij komen morgen kijken.") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with capture(execute=True):
        post(client, channel, peer, peer.inbound("31612345678", text="Wanneer komt u?", name="Sanne"))
    [ticket] = tickets(client)
    with capture(execute=True):
        response = client.post(f"/tickets/{ticket['number']}/reply/", {"text": text})
    assert response.status_code in (200, 302), response.content
    return ticket


def test_a_reply_is_delivered_and_its_statuses_arrive_out_of_order(client, channel: str, peer: GraphPeer,  # type: ignore[no-untyped-def]
                                                                  django_capture_on_commit_callbacks) -> None:
    ticket = _reply(client, channel, peer, django_capture_on_commit_callbacks)
    [sent] = peer.sent
    assert sent["to"] == "31612345678" and sent["text"]["body"] == "Wij komen morgen kijken."
    reply = messages(client, ticket["number"])[-1]
    assert sent["biz_opaque_callback_data"] == str(reply["id"])
    for state, at in (("read", 1795870300), ("sent", 1795870100), ("delivered", 1795870200)):
        assert post(client, channel, peer, peer.status(sent["_wamid"], state, at=at)).status_code == 200
    assert messages(client, ticket["number"])[-1]["delivery_status"] == "read"


def test_429_and_500_answers_are_retried_and_the_reply_goes_out(client, channel: str, peer: GraphPeer,  # type: ignore[no-untyped-def]
                                                               django_capture_on_commit_callbacks) -> None:
    peer.fail_next(130429, http_status=429)
    peer.fail_next_raw(500, "Internal Server Error")
    ticket = _reply(client, channel, peer, django_capture_on_commit_callbacks)
    assert len(peer.sent) == 1
    assert sum(1 for method, path in peer.log if path.endswith("/messages")) == 3
    assert messages(client, ticket["number"])[-1]["delivery_status"] == "sent"


def test_a_131047_failure_is_shown_to_the_agent(client, channel: str, peer: GraphPeer,  # type: ignore[no-untyped-def]
                                               django_capture_on_commit_callbacks) -> None:
    peer.fail_next(131047, details="Message failed to send because more than 24 hours have passed")
    ticket = _reply(client, channel, peer, django_capture_on_commit_callbacks)
    reply = messages(client, ticket["number"])[-1]
    assert (reply["delivery_status"], reply["error_code"]) == ("failed", "131047")
    assert "template" in reply["error_message"]


def test_a_131047_arriving_later_as_a_status_is_shown_too(client, channel: str, peer: GraphPeer,  # type: ignore[no-untyped-def]
                                                         django_capture_on_commit_callbacks) -> None:
    ticket = _reply(client, channel, peer, django_capture_on_commit_callbacks)
    post(client, channel, peer, peer.status(peer.sent[0]["_wamid"], "failed", error_code=131047))
    reply = messages(client, ticket["number"])[-1]
    assert (reply["delivery_status"], reply["error_code"]) == ("failed", "131047")
    assert "send an approved template instead" in reply["error_message"]


def test_the_peer_delivers_signed_webhooks_to_a_live_server(live_server, peer: GraphPeer, settings) -> None:  # type: ignore[no-untyped-def]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    _command("createmunicipality", "zeist", name="Gemeente Zeist")
    account = _command("addchannel", "zeist", "whatsapp", name="WhatsApp", config_json=json.dumps(peer.account_config()))
    peer.webhook_url = f"{live_server.url}/webhooks/{account['public_id']}/"
    assert peer.handshake(challenge="8421").text == "8421"
    answer = peer.deliver(peer.inbound("31612345678", text="Via het echte netwerk", name="Sanne"))
    assert answer.status_code == 200 and answer.json()["messages"] == 1
    tampered_peer = GraphPeer(app_secret="wrong")
    assert tampered_peer.deliver(peer.inbound("31612345678", text="y"), url=peer.webhook_url).status_code == 403


def test_outside_the_window_free_text_is_blocked_and_a_template_goes_out(client, channel: str, peer: GraphPeer,  # type: ignore[no-untyped-def]
                                                                          django_capture_on_commit_callbacks) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from omnidesk.tickets.models import Ticket

    peer.add_template("afspraak_herinnering", "Beste {{1}}, uw afspraak is op {{2}}.")
    peer.add_template("nog_niet_goedgekeurd", "Hallo {{1}}", status="PENDING")
    assert post(client, channel, peer, peer.inbound("31612345678", text="Hallo", name="Sanne")).status_code == 200
    [ticket] = tickets(client)
    # The resident last wrote 25 hours ago: the 24-hour customer-service window has closed.
    Ticket.objects.filter(number=ticket["number"]).update(last_inbound_at=timezone.now() - timedelta(hours=25))

    page = client.get(f"/tickets/{ticket['number']}/").content.decode()
    assert "afspraak_herinnering" in page and "nog_niet_goedgekeurd" not in page
    blocked = client.post(f"/tickets/{ticket['number']}/reply/", {"text": "Vrije tekst"}, HTTP_ACCEPT="application/json")
    assert blocked.status_code == 400 and peer.sent == []

    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(f"/tickets/{ticket['number']}/template/",
                           {"template": "afspraak_herinnering|nl", "param_1": "Sanne", "param_2": "dinsdag 10:00"},
                           HTTP_ACCEPT="application/json")
    assert sent.status_code == 200, sent.content
    [request] = peer.sent
    assert request["type"] == "template" and request["template"]["name"] == "afspraak_herinnering"
    assert request["template"]["language"]["code"] == "nl"
    assert [p["text"] for p in request["template"]["components"][0]["parameters"]] == ["Sanne", "dinsdag 10:00"]
    reply = messages(client, ticket["number"])[-1]
    assert reply["delivery_status"] == "sent" and reply["text"] == "Beste Sanne, uw afspraak is op dinsdag 10:00."


def test_a_reply_with_a_photo_quoting_the_resident_goes_out_as_media_with_caption(
    transactional_db, live_server, peer: GraphPeer, client, settings  # type: ignore[no-untyped-def]
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.PUBLIC_URL = live_server.url  # the plugin fetches the reply's file from a signed address here
    _command("createmunicipality", "delft", name="Gemeente Delft")
    account = _command("addchannel", "delft", "whatsapp", name="WhatsApp", config_json=json.dumps(peer.account_config()))
    agent = _command("createagent", "delft", "bram", name="Bram de Boer")
    assert client.login(username=agent["username"], password=agent["password"])
    webhook = f"/webhooks/{account['public_id']}/"
    inbound = peer.inbound("31612345678", text="Waar moet ik de container neerzetten?", name="Sanne")
    assert post(client, webhook, peer, inbound).status_code == 200
    [ticket] = tickets(client)
    [question] = messages(client, ticket["number"])

    photo = SimpleUploadedFile("plek.jpg", JPEG, content_type="image/jpeg")
    response = client.post(f"/tickets/{ticket['number']}/reply/",
                           {"text": "Hier, naast de lantaarnpaal.", "attachments": photo, "quote": question["id"]},
                           HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content
    [sent] = peer.sent
    assert sent["type"] == "image" and sent["image"]["caption"] == "Hier, naast de lantaarnpaal."
    assert sent["context"]["message_id"] == inbound["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert peer.media[sent["image"]["id"]].content == JPEG  # the bytes Meta received are the agent's file
    reply = messages(client, ticket["number"])[-1]
    assert reply["delivery_status"] == "sent" and reply["quoted_text"] == "Waar moet ik de container neerzetten?"
    [attachment] = reply["attachments"]
    assert attachment["filename"] == "plek.jpg" and attachment["size"] == len(JPEG)


def test_testchannel_checks_the_credentials_against_the_graph_api(channel: str, peer: GraphPeer) -> None:  # type: ignore[no-untyped-def]
    from django.core.management import CommandError

    from omnidesk.channel_accounts.models import ChannelAccount
    from omnidesk.channel_accounts.services import channel_account_update_config

    account = ChannelAccount.objects.get(plugin_key="whatsapp")
    assert _command("testchannel", account.public_id)["ok"] is True
    channel_account_update_config(account=account, config={**account.config, "access_token": "expired-token"})
    with pytest.raises(CommandError, match="access token"):
        call_command("testchannel", account.public_id, stdout=io.StringIO())
