"""A member of one municipality can never read or change another's data: pages, actions, files, API, websocket."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings

from omnidesk.asgi import application
from omnidesk.inbound.services import ingest_events
from omnidesk.plugin_api import IdentityKind, IdentityRef, InboundAttachment, InboundMessage
from omnidesk.tickets.models import Attachment, Message, Ticket
from tests.factories import MembershipFactory, MunicipalityFactory, sandbox_account


def _ticket_with_file(municipality, text: str) -> Ticket:
    account = sandbox_account(municipality)
    ingest_events(account=account, events=(InboundMessage(
        provider_message_id=f"{municipality.slug}-1", sender=IdentityRef(IdentityKind.VISITOR, f"v-{municipality.slug}"),
        text=text, sent_at=datetime(2026, 11, 28, tzinfo=timezone.utc),
        attachments=(InboundAttachment(filename="paspoort.pdf", content_type="application/pdf", content=b"%PDF-1.4 geheim"),),
    ),))
    return Ticket.objects.get(channel_account=account)


@pytest.fixture
def two_towns(db):
    ours, theirs = MunicipalityFactory(slug="ons-dorp"), MunicipalityFactory(slug="hun-stad")
    our_ticket = _ticket_with_file(ours, "Vraag van ons dorp")
    their_ticket = _ticket_with_file(theirs, "Geheim van hun stad")
    member = MembershipFactory(municipality=ours).user
    return member, our_ticket, their_ticket


def test_their_ticket_is_never_shown(client, two_towns):
    member, ours, theirs = two_towns
    client.force_login(member)
    assert ours.number == theirs.number == 1  # per-municipality numbers: the same number means our ticket
    page = client.get("/tickets/1/").content.decode()
    assert "Vraag van ons dorp" in page and "Geheim van hun stad" not in page
    assert "Geheim van hun stad" not in client.get("/").content.decode()
    # Their second ticket number does not exist for us.
    Ticket.objects.filter(pk=theirs.pk).update(number=2)
    assert client.get("/tickets/2/").status_code == 404


@pytest.mark.parametrize("action, data", [
    ("reply", {"text": "Hallo"}), ("note", {"text": "Notitie"}), ("assign", {"assignee": "me"}),
    ("status", {"status": "closed"}),
])
def test_their_ticket_cannot_be_changed(client, two_towns, action, data):
    member, ours, theirs = two_towns
    Ticket.objects.filter(pk=theirs.pk).update(number=7)
    client.force_login(member)
    before = Message.objects.filter(ticket=theirs).count()
    assert client.post(f"/tickets/7/{action}/", data).status_code == 404
    theirs.refresh_from_db()
    assert Message.objects.filter(ticket=theirs).count() == before
    assert (theirs.status, theirs.assignee_id) == ("new", None)


def test_their_message_cannot_be_resent(client, two_towns):
    member, ours, theirs = two_towns
    message = Message.objects.filter(ticket=theirs).first()
    Message.objects.filter(pk=message.pk).update(delivery_status="failed")
    client.force_login(member)
    assert client.post(f"/messages/{message.pk}/resend/").status_code == 404
    message.refresh_from_db()
    assert message.delivery_status == "failed"


def test_their_attachment_is_404_and_ours_is_a_safe_download(client, two_towns):
    member, ours, theirs = two_towns
    client.force_login(member)
    their_file = Attachment.objects.get(message__ticket=theirs)
    assert client.get(f"/attachments/{their_file.uuid}/").status_code == 404
    our_file = Attachment.objects.get(message__ticket=ours)
    response = client.get(f"/attachments/{our_file.uuid}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"%PDF-1.4 geheim"


def test_their_api_objects_are_404_and_lists_hold_only_ours(client, two_towns):
    member, ours, theirs = two_towns
    Ticket.objects.filter(pk=theirs.pk).update(number=9)
    client.force_login(member)
    assert client.get("/api/v1/tickets/9/").status_code == 404
    assert client.get("/api/v1/tickets/9/messages/").status_code == 404
    listed = client.get("/api/v1/tickets/").json()["results"]
    assert [t["id"] for t in listed] == [ours.pk]
    events = client.get("/events/?after=0").json()["events"]
    assert events and all("Geheim" not in str(e) for e in events)


def test_anonymous_users_get_nothing(client, two_towns):
    _member, ours, _theirs = two_towns
    assert client.get("/").status_code == 302
    assert client.get("/tickets/1/").status_code == 302
    assert client.get("/api/v1/tickets/").status_code == 403
    attachment = Attachment.objects.get(message__ticket=ours)
    assert client.get(f"/attachments/{attachment.uuid}/").status_code == 302


def _websocket_verdict(path: str, cookie: str) -> tuple[bool, int | None]:
    async def connect() -> tuple[bool, int | None]:
        communicator = WebsocketCommunicator(
            application, path, headers=[(b"cookie", cookie.encode()), (b"origin", b"http://127.0.0.1"),
                                        (b"host", b"127.0.0.1")])
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    return async_to_sync(connect)()


def test_their_websocket_group_refuses_us(transactional_db, client):
    ours, theirs = MunicipalityFactory(), MunicipalityFactory()
    member = MembershipFactory(municipality=ours).user
    client.force_login(member)
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"
    assert _websocket_verdict(f"/ws/dashboard/{ours.pk}/", cookie) == (True, None)
    assert _websocket_verdict(f"/ws/dashboard/{theirs.pk}/", cookie) == (False, 4403)
    assert _websocket_verdict(f"/ws/dashboard/{ours.pk}/", "sessionid=forged") == (False, 4403)
