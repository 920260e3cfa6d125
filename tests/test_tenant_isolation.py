"""A member of municipality A never reads or changes anything of municipality B: pages, actions, files, API, events."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from django.contrib.auth import get_user_model

from omnidesk.contacts.services import contact_for_identity
from omnidesk.contacts.models import ContactIdentity
from omnidesk.plugin_api import IdentityKind, IdentityRef, InboundAttachment
from omnidesk.tenants.access import SESSION_KEY
from omnidesk.tenants.models import Municipality
from omnidesk.tickets.models import Attachment, DeliveryStatus, Direction, Kind, Message, Status, Ticket
from omnidesk.tickets.services import message_receive
from tests.factories import MembershipFactory, MunicipalityFactory, UserFactory, sandbox_account

SENT = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


@dataclass
class Town:
    municipality: Municipality
    tickets: list[Ticket]
    attachment: Attachment
    secret_text: str


def _town(slug: str, name: str, texts: list[str]) -> Town:
    municipality = MunicipalityFactory(slug=slug, name=name)
    account = sandbox_account(municipality, name=f"Sandbox {name}")
    tickets, attachment = [], None
    for n, text in enumerate(texts):
        ref = IdentityRef(IdentityKind.VISITOR, f"sandbox-{slug}-{n}")
        contact = contact_for_identity(municipality=municipality, identity=ref, display_name=f"Inwoner {name} {n}")
        identity = ContactIdentity.objects.get(municipality=municipality, value=ref.value)
        message = message_receive(
            account=account, contact=contact, identity=identity, provider_message_id=f"{slug}-{n}", text=text,
            sent_at=SENT,
            attachments=(InboundAttachment(filename=f"{slug}-{n}.pdf", content_type="application/pdf",
                                           content=f"%PDF-1.4 {text}".encode()),),
        )
        tickets.append(message.ticket)
        attachment = attachment or message.attachments.get()
    assert attachment is not None and attachment.file
    return Town(municipality, tickets, attachment, texts[0])


@pytest.fixture
def towns(db):
    ours = _town("ons-dorp", "Ons Dorp", ["Vraag over de brug in ons dorp"])
    theirs = _town("hun-stad", "Hun Stad", ["Geheim uit hun stad", "Tweede geheim van hun stad", "Derde geheim"])
    # Numbering is per municipality: both start at 1, so B's #2 and #3 do not exist for A.
    assert [t.number for t in ours.tickets] == [1]
    assert [t.number for t in theirs.tickets] == [1, 2, 3]
    return ours, theirs


@pytest.fixture
def member_of_a(towns):
    ours, _theirs = towns
    return MembershipFactory(municipality=ours.municipality).user


@pytest.fixture
def a_client(client, member_of_a):
    client.force_login(member_of_a)
    return client


def their_state(theirs: Town) -> list[tuple]:
    return [
        (t.status, t.assignee_id, t.first_response_at, t.resolved_at, Message.objects.filter(ticket=t).count())
        for t in Ticket.objects.filter(municipality=theirs.municipality).order_by("number")
    ]


# --- pages ---------------------------------------------------------------------------------------
def test_their_ticket_pages_are_404(a_client, towns):
    ours, theirs = towns
    for number in (2, 3):
        assert a_client.get(f"/tickets/{number}/").status_code == 404
    # Number 1 exists in both towns; A sees its own ticket and nothing of B's.
    page = a_client.get("/tickets/1/")
    assert page.status_code == 200
    html = page.content.decode()
    assert ours.secret_text in html
    assert theirs.secret_text not in html and "Hun Stad" not in html


def test_their_tickets_are_not_in_the_inbox(a_client, towns):
    ours, theirs = towns
    html = a_client.get("/").content.decode()
    assert ours.secret_text in html
    for text in ("Geheim uit hun stad", "Tweede geheim", "Derde geheim", "Inwoner Hun Stad"):
        assert text not in html


@pytest.mark.parametrize("query", ["channel_account={their_account}", "assignee={their_user}", "status=new",
                                   "page=2", "assignee=none"])
def test_filters_cannot_reach_their_tickets(a_client, towns, query):
    ours, theirs = towns
    their_user = MembershipFactory(municipality=theirs.municipality).user
    Ticket.objects.filter(municipality=theirs.municipality).update(assignee=their_user)
    filled = query.format(their_account=theirs.tickets[0].channel_account_id, their_user=their_user.pk)
    response = a_client.get(f"/?{filled}")
    assert response.status_code == 200
    assert "geheim" not in response.content.decode().lower()
    api = a_client.get(f"/api/v1/tickets/?{filled}")
    assert api.status_code == 200
    assert {t["id"] for t in api.json()["results"]} <= {t.pk for t in ours.tickets}


# --- actions -------------------------------------------------------------------------------------
@pytest.mark.parametrize("action, data", [
    ("reply", {"text": "Antwoord aan de verkeerde stad"}),
    ("note", {"text": "Notitie in de verkeerde stad"}),
    ("assign", {"assignee": "me"}),
    ("assign", {"assignee": ""}),
    ("status", {"status": "closed"}),
    ("status", {"status": "resolved"}),
    ("template", {"template": "x|nl"}),
])
@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_their_ticket_actions_are_404_and_change_nothing(a_client, towns, action, data, accept):
    _ours, theirs = towns
    before = their_state(theirs)
    for number in (2, 3):
        response = a_client.post(f"/tickets/{number}/{action}/", data, headers={"Accept": accept})
        assert response.status_code == 404
    assert their_state(theirs) == before
    assert not Message.objects.filter(municipality=theirs.municipality, author_user__isnull=False).exists()


def test_actions_on_the_shared_number_touch_only_our_ticket(a_client, towns, member_of_a):
    ours, theirs = towns
    before = their_state(theirs)
    assert a_client.post("/tickets/1/note/", {"text": "Eigen notitie"}).status_code == 302
    assert a_client.post("/tickets/1/assign/", {"assignee": "me"}).status_code == 302
    assert a_client.post("/tickets/1/status/", {"status": "pending"}).status_code == 302
    assert their_state(theirs) == before
    ours.tickets[0].refresh_from_db()
    assert ours.tickets[0].assignee == member_of_a and ours.tickets[0].status == Status.PENDING


def test_their_colleague_cannot_be_assigned_to_our_ticket(a_client, towns):
    ours, theirs = towns
    their_user = MembershipFactory(municipality=theirs.municipality).user
    response = a_client.post("/tickets/1/assign/", {"assignee": str(their_user.pk)},
                             headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.json()["ok"] is False
    ours.tickets[0].refresh_from_db()
    assert ours.tickets[0].assignee_id is None


def test_their_failed_reply_cannot_be_resent(a_client, towns):
    _ours, theirs = towns
    failed = Message.objects.create(
        municipality=theirs.municipality, ticket=theirs.tickets[0], channel_account=theirs.tickets[0].channel_account,
        direction=Direction.OUTBOUND, kind=Kind.MESSAGE, text="Mislukt", delivery_status=DeliveryStatus.FAILED,
    )
    assert a_client.post(f"/messages/{failed.pk}/resend/").status_code == 404
    failed.refresh_from_db()
    assert failed.delivery_status == DeliveryStatus.FAILED


# --- files ---------------------------------------------------------------------------------------
def test_their_attachment_is_404_and_ours_downloads(a_client, towns):
    ours, theirs = towns
    assert a_client.get(f"/attachments/{theirs.attachment.uuid}/").status_code == 404
    response = a_client.get(f"/attachments/{ours.attachment.uuid}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == f"%PDF-1.4 {ours.secret_text}".encode()
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in response["Content-Disposition"]


def test_their_attachment_is_404_even_for_a_member_of_both_working_for_a(client, towns):
    ours, theirs = towns
    user = UserFactory()
    MembershipFactory(user=user, municipality=ours.municipality)
    MembershipFactory(user=user, municipality=theirs.municipality)
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = ours.municipality.pk
    session.save()
    assert client.get(f"/attachments/{theirs.attachment.uuid}/").status_code == 404
    assert client.get("/tickets/2/").status_code == 404
    # After switching, B's data is shown and A's is not.
    assert client.post("/municipality/", {"municipality": theirs.municipality.pk}).status_code == 302
    assert client.get(f"/attachments/{theirs.attachment.uuid}/").status_code == 200
    assert client.get(f"/attachments/{ours.attachment.uuid}/").status_code == 404
    assert client.get("/tickets/2/").status_code == 200


# --- session tampering ---------------------------------------------------------------------------
def test_choosing_a_municipality_one_does_not_work_for_is_refused(a_client, towns):
    _ours, theirs = towns
    assert a_client.post("/municipality/", {"municipality": theirs.municipality.pk}).status_code == 404
    assert a_client.post("/municipality/", {"municipality": "abc"}).status_code == 404
    assert a_client.get("/tickets/2/").status_code == 404


def test_a_session_pointing_at_their_municipality_falls_back_to_ours(a_client, towns):
    ours, theirs = towns
    session = a_client.session
    session[SESSION_KEY] = theirs.municipality.pk
    session.save()
    assert a_client.get("/tickets/2/").status_code == 404
    assert a_client.get("/api/v1/tickets/2/").status_code == 404
    assert ours.secret_text in a_client.get("/tickets/1/").content.decode()


# --- API -----------------------------------------------------------------------------------------
def test_api_list_shows_only_our_tickets(a_client, towns):
    ours, _theirs = towns
    response = a_client.get("/api/v1/tickets/")
    assert response.status_code == 200
    assert [t["id"] for t in response.json()["results"]] == [ours.tickets[0].pk]


@pytest.mark.parametrize("path", ["/api/v1/tickets/{n}/", "/api/v1/tickets/{n}/messages/"])
def test_api_their_objects_are_404(a_client, towns, path):
    for number in (2, 3):
        response = a_client.get(path.format(n=number))
        assert response.status_code == 404


def test_api_shared_number_shows_our_ticket_and_messages(a_client, towns):
    ours, theirs = towns
    detail = a_client.get("/api/v1/tickets/1/").json()
    assert detail["id"] == ours.tickets[0].pk
    messages = a_client.get("/api/v1/tickets/1/messages/").json()["results"]
    assert [m["text"] for m in messages] == [ours.secret_text]
    assert messages[0]["attachments"][0]["url"] == f"/attachments/{ours.attachment.uuid}/"
    assert theirs.secret_text not in str(detail) + str(messages)


def test_api_refuses_anonymous_and_non_members(client, towns):
    for path in ("/api/v1/tickets/", "/api/v1/tickets/1/", "/api/v1/tickets/1/messages/"):
        assert client.get(path).status_code == 403
    client.force_login(UserFactory())  # logged in, but working for no municipality
    for path in ("/api/v1/tickets/", "/api/v1/tickets/1/", "/api/v1/tickets/1/messages/"):
        assert client.get(path).status_code == 403


def test_api_is_read_only(a_client, towns):
    for method in ("post", "put", "patch", "delete"):
        response = getattr(a_client, method)("/api/v1/tickets/2/", {"status": "closed"}, content_type="application/json")
        assert response.status_code in (403, 404, 405)
    assert their_state(towns[1])[1][0] == Status.NEW


# --- realtime catch-up ---------------------------------------------------------------------------
def test_event_catch_up_shows_only_our_events(a_client, towns):
    ours, theirs = towns
    frames = a_client.get("/events/?after=0").json()["events"]
    assert frames, "our ticket's events are missing"
    ticket_ids = {f["data"]["ticket"]["id"] for f in frames}
    assert ticket_ids == {ours.tickets[0].pk}
    assert theirs.secret_text not in str(frames)


# --- anonymous -----------------------------------------------------------------------------------
@pytest.mark.parametrize("method, path", [
    ("get", "/"), ("get", "/tickets/1/"), ("post", "/tickets/1/reply/"), ("post", "/tickets/1/note/"),
    ("post", "/tickets/1/assign/"), ("post", "/tickets/1/status/"), ("get", "/events/"),
])
def test_anonymous_is_sent_to_login(client, towns, method, path):
    response = getattr(client, method)(path, {"text": "x"} if method == "post" else None)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_anonymous_cannot_download_files(client, towns):
    ours, _theirs = towns
    response = client.get(f"/attachments/{ours.attachment.uuid}/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_user_without_membership_is_forbidden(client, towns):
    client.force_login(get_user_model().objects.create_user("zwerver", password="x" * 16))
    assert client.get("/").status_code == 403
    assert client.get("/tickets/1/").status_code == 403
