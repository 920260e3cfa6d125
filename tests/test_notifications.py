"""Notifications for agents: @mentions in internal notes, assignment, new messages in tickets they own or follow,
the bell's endpoints (scoped per user and municipality) and the realtime push to the recipient only."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from omnidesk.asgi import application
from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.contacts.models import ContactIdentity
from omnidesk.contacts.services import identity_for
from omnidesk.notifications.mentions import mention_tokens, mentioned_users
from omnidesk.notifications.models import Notification, TicketFollower
from omnidesk.plugin_api.events import IdentityKind, IdentityRef
from omnidesk.tenants.access import SESSION_KEY
from omnidesk.tenants.models import Municipality
from omnidesk.tickets.models import Message, Ticket
from omnidesk.tickets.services import message_receive, note_create, reply_create, ticket_assign
from tests.conftest import run_async
from tests.factories import MembershipFactory, MunicipalityFactory, UserFactory, sandbox_account


def member(municipality: Municipality, username: str | None = None):  # type: ignore[no-untyped-def]
    user = UserFactory(**({"username": username} if username else {}))
    MembershipFactory(user=user, municipality=municipality)
    return user


def resident(municipality: Municipality) -> ContactIdentity:
    return identity_for(municipality=municipality, display_name="Piet",
                        identity=IdentityRef(IdentityKind.VISITOR, f"sandbox-{uuid.uuid4().hex}"))


def inbound(account: ChannelAccount, identity: ContactIdentity, text: str = "Hallo") -> Message:
    return message_receive(account=account, contact=identity.contact, identity=identity,
                           provider_message_id=uuid.uuid4().hex, text=text)


def new_ticket(account: ChannelAccount) -> Ticket:
    return inbound(account, resident(account.municipality)).ticket


def kinds_for(user) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    return list(Notification.objects.filter(recipient=user).order_by("id").values_list("kind", "ticket__number"))


# --- mentions ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "tokens"), [
    ("Kun jij @jan even bellen?", [("jan",)]),
    ("@Jan, @PIET-1 en (@an.na)", [("jan",), ("piet-1",), ("an.na",)]),
    ("Vraag het @jan.", [("jan.", "jan")]),
    ("Mail a@b.nl of info@gemeente.nl", []),
    ("@@jan, x@jan, .@jan, jan@", []),
    ("@jan@gemeente.nl", [("jan@gemeente.nl",)]),
    ("", []),
])
def test_mention_tokens(text, tokens):
    assert mention_tokens(text) == tokens


def test_mentions_name_members_of_the_municipality_only_case_insensitively(municipality):
    jan, anna = member(municipality, "jan"), member(municipality, "an.na")
    member(municipality, "piet")
    elsewhere = member(MunicipalityFactory(), "kees")  # a real user, but not one of ours

    found = mentioned_users("Graag @JAN en @an.na. Ook @kees, en mail jan@piet.nl", municipality.pk)

    assert [u.pk for u in found] == [jan.pk, anna.pk]
    assert elsewhere.pk not in [u.pk for u in found]
    assert mentioned_users("geen vermelding", municipality.pk) == []


# --- notes, assignment, inbound messages ----------------------------------------------------------------------
def test_a_note_mentioning_a_colleague_notifies_them_and_they_follow(municipality, agent, account):
    colleague = member(municipality, "marieke")
    quiet = member(municipality, "willem")
    outsider = member(MunicipalityFactory(), "marieke2")  # same pattern of name, another municipality
    ticket = new_ticket(account)

    note = note_create(ticket=ticket, author=agent, text=f"@Marieke kun jij dit oppakken? (niet @{outsider.username}) "
                                                       f"en @{agent.username} zelf niet")

    mention = Notification.objects.get(recipient=colleague)
    assert (mention.kind, mention.ticket_id, mention.message_id, mention.actor_id) == (
        "mention", ticket.pk, note.pk, agent.pk)
    assert mention.municipality_id == municipality.pk and mention.read_at is None
    assert TicketFollower.objects.filter(ticket=ticket, user=colleague).exists()
    assert not Notification.objects.filter(recipient__in=[outsider, agent, quiet]).exists()
    assert not TicketFollower.objects.filter(user__in=[outsider, agent]).exists()


def test_assignment_notifies_the_assignee_but_not_who_takes_a_ticket_themselves(municipality, agent, account):
    colleague = member(municipality)
    ticket = new_ticket(account)

    ticket_assign(ticket=ticket, assignee=agent, actor=agent)  # "take"
    assert not Notification.objects.exists()

    ticket_assign(ticket=ticket, assignee=colleague, actor=agent)
    assigned = Notification.objects.get()
    assert (assigned.recipient_id, assigned.kind, assigned.actor_id) == (colleague.pk, "assigned", agent.pk)

    ticket_assign(ticket=ticket, assignee=None, actor=agent)
    assert Notification.objects.count() == 1


def test_automatic_assignment_notifies_once_without_an_actor(municipality, agent, account, monkeypatch):
    municipality.auto_assign = True
    municipality.save()
    monkeypatch.setattr("omnidesk.tickets.routing.next_agent", lambda ticket: agent)

    ticket = new_ticket(account)

    # Only "assigned": the first message arrived before anyone had the ticket.
    assert kinds_for(agent) == [("assigned", ticket.number)]
    assert Notification.objects.get().actor is None


def test_an_inbound_message_notifies_the_assignee_and_the_followers(municipality, agent, account):
    follower, replier, bystander = member(municipality), member(municipality), member(municipality)
    identity = resident(municipality)
    ticket = inbound(account, identity, "Eerste bericht").ticket
    ticket_assign(ticket=ticket, assignee=agent, actor=follower)
    note_create(ticket=ticket, author=agent, text=f"@{follower.username} volg jij deze?")
    reply_create(ticket=ticket, author=replier, text="We kijken ernaar.")  # replying makes the author follow
    assert TicketFollower.objects.filter(ticket=ticket, user=replier).exists()
    Notification.objects.all().delete()

    message = inbound(account, identity, "Nog een vraag over mijn aanvraag")

    notified = Notification.objects.filter(message=message)
    assert sorted(notified.values_list("recipient_id", flat=True)) == sorted([agent.pk, follower.pk, replier.pk])
    assert set(notified.values_list("kind", flat=True)) == {"message"}
    assert all(n.actor_id is None and n.ticket_id == ticket.pk for n in notified)
    assert not Notification.objects.filter(recipient=bystander).exists()


def test_a_follower_who_left_the_municipality_is_not_notified(municipality, agent, account):
    identity = resident(municipality)
    ticket = inbound(account, identity).ticket
    leaver = member(municipality)
    TicketFollower.objects.create(ticket=ticket, user=leaver)
    leaver.memberships.all().delete()

    inbound(account, identity, "Nog iets")

    assert not Notification.objects.filter(recipient=leaver).exists()


# --- endpoints -----------------------------------------------------------------------------------------------
def test_the_list_is_the_users_own_in_the_current_municipality(municipality, agent, agent_client, account):
    colleague = member(municipality)
    other = MunicipalityFactory()
    MembershipFactory(user=agent, municipality=other)
    ticket, theirs = new_ticket(account), new_ticket(sandbox_account(other))
    note_create(ticket=ticket, author=colleague, text=f"@{agent.username} " + "lang verhaal " * 30)
    note_create(ticket=ticket, author=agent, text=f"@{colleague.username} voor jou")  # the colleague's, not ours
    note_create(ticket=theirs, author=agent, text="zelf")
    ticket_assign(ticket=theirs, assignee=agent, actor=member(other))  # ours, but in the other municipality
    session = agent_client.session
    session[SESSION_KEY] = municipality.pk
    session.save()

    data = agent_client.get("/notifications/").json()

    assert data["unread"] == 1
    [item] = data["notifications"]
    assert item["kind"] == "mention" and item["ticket_number"] == ticket.number
    assert item["url"] == f"/tickets/{ticket.number}/" and item["read"] is False
    assert len(item["text"]) <= 140 and item["text"].endswith("…")
    assert item["actor_name"] == (colleague.get_full_name() or colleague.username)
    # Switched to the other municipality: only that one's.
    session[SESSION_KEY] = other.pk
    session.save()
    assert [n["kind"] for n in agent_client.get("/notifications/").json()["notifications"]] == ["assigned"]


def test_the_list_holds_the_latest_30(municipality, agent, agent_client, account):
    colleague = member(municipality)
    ticket = new_ticket(account)
    for n in range(32):
        note_create(ticket=ticket, author=colleague, text=f"@{agent.username} nummer {n}")

    data = agent_client.get("/notifications/").json()

    assert data["unread"] == 32
    assert len(data["notifications"]) == 30
    assert data["notifications"][0]["text"].endswith("nummer 31")


def test_marking_read_touches_only_the_users_own(municipality, agent, agent_client, account):
    colleague = member(municipality)
    ticket = new_ticket(account)
    ours = [note_create(ticket=ticket, author=colleague, text=f"@{agent.username} {n}") for n in range(3)]
    note_create(ticket=ticket, author=agent, text=f"@{colleague.username} voor jou")
    mine = list(Notification.objects.filter(recipient=agent).order_by("id"))
    theirs = Notification.objects.get(recipient=colleague)
    assert len(ours) == len(mine) == 3

    response = agent_client.post("/notifications/read/", {"ids": f"{mine[0].pk},{theirs.pk}"},
                                 HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json() == {"ok": True, "unread": 2}
    theirs.refresh_from_db()
    assert theirs.read_at is None, "another user's notification stays unread"

    assert agent_client.post("/notifications/read/", {"all": "1"}, HTTP_ACCEPT="application/json").json()["unread"] == 0
    assert not Notification.objects.filter(recipient=agent, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert agent_client.post("/notifications/read/", {"ids": "abc"}, HTTP_ACCEPT="application/json").status_code == 400
    # Without a script the form posts and comes back to the page.
    back = agent_client.post("/notifications/read/", {"all": "1", "next": f"/tickets/{ticket.number}/"})
    assert back.status_code == 302 and back["Location"] == f"/tickets/{ticket.number}/"
    away = agent_client.post("/notifications/read/", {"all": "1", "next": "https://evil.example/"})
    assert away["Location"] == "/"


def test_follow_toggles_within_the_municipality(municipality, agent, agent_client, account):
    ticket = new_ticket(account)
    other = MunicipalityFactory()
    other_account = sandbox_account(other)
    new_ticket(other_account)
    their_second = new_ticket(other_account)  # #2 exists only there
    url = f"/notifications/follow/{ticket.number}/"

    assert agent_client.post(url, HTTP_ACCEPT="application/json").json() == {"ok": True, "following": True}
    assert TicketFollower.objects.filter(ticket=ticket, user=agent).exists()
    assert agent_client.post(url, HTTP_ACCEPT="application/json").json()["following"] is False
    assert not TicketFollower.objects.filter(ticket=ticket, user=agent).exists()
    # An explicit state is idempotent: a double click does not flip it back.
    for _ in range(2):
        assert agent_client.post(url, {"follow": "1"}, HTTP_ACCEPT="application/json").json()["following"] is True
    assert TicketFollower.objects.filter(ticket=ticket, user=agent).count() == 1

    assert agent_client.post(f"/notifications/follow/{their_second.number}/").status_code == 404
    assert not TicketFollower.objects.filter(ticket=their_second).exists()


def test_endpoints_need_a_member_a_post_and_the_csrf_token(municipality, agent, account):
    ticket = new_ticket(account)
    anonymous = Client()
    assert anonymous.get("/notifications/").status_code == 302
    assert anonymous.post("/notifications/read/", {"all": "1"}).status_code == 302
    stranger = Client()
    stranger.force_login(UserFactory())
    assert stranger.get("/notifications/").status_code == 403

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(agent)
    assert strict.post("/notifications/read/", {"all": "1"}).status_code == 403
    assert strict.post(f"/notifications/follow/{ticket.number}/").status_code == 403
    assert strict.get("/notifications/read/").status_code == 405
    assert not TicketFollower.objects.exists()


def test_the_templates_render_the_bell_and_the_follow_button(municipality, agent, agent_client, account):
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from omnidesk.tenants.access import get_membership

    colleague = member(municipality)
    ticket = new_ticket(account)
    note_create(ticket=ticket, author=colleague, text=f"@{agent.username} kijk even")
    request = RequestFactory().get(f"/tickets/{ticket.number}/")
    request.user = agent
    request.session = {}
    context = {"request": request, "current_membership": get_membership(request), "ticket": ticket, "user": agent}

    bell = render_to_string("dashboard/_notifications.html", context)
    follow = render_to_string("dashboard/_follow.html", context)

    assert 'aria-expanded="false"' in bell and "Meldingen (1 ongelezen)" in bell  # Dutch, the default
    assert 'id="notifications-config"' in bell and "notifications.js" in bell
    assert 'aria-pressed="true"' in follow, "mentioned, so following"
    assert f'action="/notifications/follow/{ticket.number}/"' in follow


# --- realtime ------------------------------------------------------------------------------------------------
ORIGIN = (b"origin", b"http://127.0.0.1")
HOST = (b"host", b"127.0.0.1")


def session_cookie(user) -> bytes:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


def dashboard(municipality_id: int, cookie: bytes) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, f"/ws/dashboard/{municipality_id}/",
                                 headers=[ORIGIN, HOST, (b"cookie", cookie)])


async def frames_until_quiet(communicator: WebsocketCommunicator, quiet: float = 1.0) -> list[dict[str, Any]]:
    # receive_nothing only peeks; a receive that times out would cancel the consumer.
    frames = []
    while not await communicator.receive_nothing(timeout=quiet):
        frames.append(await communicator.receive_json_from(timeout=5))
    return frames


def test_the_push_reaches_the_recipient_only(transactional_db, municipality, agent, account):
    colleague = member(municipality)
    other = MunicipalityFactory()
    both = member(municipality)  # also works for another municipality, and has that one's dashboard open too
    MembershipFactory(user=both, municipality=other)
    ticket = new_ticket(account)
    cookies = {user.pk: session_cookie(user) for user in (agent, colleague, both)}

    async def scenario() -> dict[str, list[dict[str, Any]]]:
        sockets = {
            "author": dashboard(municipality.pk, cookies[agent.pk]),
            "colleague": dashboard(municipality.pk, cookies[colleague.pk]),
            "both_here": dashboard(municipality.pk, cookies[both.pk]),
            "both_there": dashboard(other.pk, cookies[both.pk]),
        }
        for socket in sockets.values():
            assert (await socket.connect(timeout=10))[0]
        await database_sync_to_async(note_create)(
            ticket=ticket, author=agent, text=f"@{colleague.username} en @{both.username}: bel de bewoner terug.")
        frames = {name: await frames_until_quiet(socket) for name, socket in sockets.items()}
        for socket in sockets.values():
            await socket.disconnect()
        return frames

    frames = run_async(scenario)
    notifications = {name: [f for f in got if f["type"] == "notification"] for name, got in frames.items()}
    [pushed] = notifications["colleague"]
    stored = Notification.objects.get(recipient=colleague)
    assert pushed["id"] is None, "ephemeral: no event id, nothing for the dashboard to catch up"
    assert pushed["data"]["id"] == stored.pk
    assert pushed["data"]["kind"] == "mention" and pushed["data"]["ticket_number"] == ticket.number
    assert pushed["data"]["url"] == f"/tickets/{ticket.number}/"
    assert pushed["data"]["text"].startswith(f"@{colleague.username} en")
    assert pushed["data"]["actor_name"] == (agent.get_full_name() or agent.username)
    assert len(notifications["both_here"]) == 1
    assert notifications["author"] == [], "the author is not notified of their own note"
    assert notifications["both_there"] == [], "another municipality's dashboard does not show it"
    # Everyone in the municipality still sees the note itself.
    assert all(any(f["type"] == "message.created" for f in frames[name]) for name in ("author", "colleague"))
