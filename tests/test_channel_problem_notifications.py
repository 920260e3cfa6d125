"""A flagged channel account notifies the municipality's admins once (until they read it), in the bell and live;
agents see the inbox banner instead."""
from __future__ import annotations

import json

from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import AbstractBaseUser
from django.template.loader import render_to_string
from django.test import Client, RequestFactory

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.services import channel_account_clear_flag, channel_account_flag
from omnidesk.notifications.models import Notification
from omnidesk.notifications.selectors import channel_settings_url
from omnidesk.tenants.access import SESSION_KEY, get_membership
from omnidesk.tenants.models import Municipality, Role
from tests.conftest import run_async, run_at_once
from tests.factories import MembershipFactory, MunicipalityFactory, UserFactory, sandbox_account
from tests.test_notifications import dashboard, frames_until_quiet, session_cookie

EXPIRED = "The access token has expired: enter a new one."


def member(municipality: Municipality, role: str, **user: Any) -> AbstractBaseUser:
    return MembershipFactory(municipality=municipality, role=role, user=UserFactory(**user)).user


def client_of(user: AbstractBaseUser, municipality: Municipality | None = None) -> Client:
    client = Client()
    client.force_login(user)
    if municipality is not None:
        session = client.session
        session[SESSION_KEY] = municipality.pk
        session.save()
    return client


def recipients(account: ChannelAccount) -> list[int]:
    return sorted(Notification.objects.filter(channel_account=account).values_list("recipient_id", flat=True))


@pytest.fixture
def people(municipality: Municipality) -> dict[str, AbstractBaseUser]:
    other = MunicipalityFactory()
    both = member(municipality, Role.ADMIN)
    MembershipFactory(municipality=other, role=Role.ADMIN, user=both)
    return {
        "admin": member(municipality, Role.ADMIN),
        "both": both,  # an admin here and in the other municipality
        "agent": member(municipality, Role.AGENT),
        "supervisor": member(municipality, Role.SUPERVISOR),
        "gone": member(municipality, Role.ADMIN, is_active=False),
        "elsewhere": member(other, Role.ADMIN),
    }


def test_a_flag_notifies_each_admin_of_the_municipality_once(municipality, account, people):
    channel_account_flag(account=account, reason=EXPIRED)

    assert recipients(account) == sorted([people["admin"].pk, people["both"].pk])
    for notification in Notification.objects.filter(channel_account=account):
        assert (notification.kind, notification.ticket_id, notification.municipality_id) == (
            "channel_problem", None, municipality.pk)
        assert notification.read_at is None and notification.actor_id is None


def test_no_second_notification_while_the_first_is_unread(municipality, account, people):
    channel_account_flag(account=account, reason=EXPIRED)
    channel_account_flag(account=account, reason="Mailbox unreachable")  # another reason: flagged again
    channel_account_clear_flag(account=account)
    channel_account_flag(account=account, reason=EXPIRED)
    assert len(recipients(account)) == 2

    # One admin reads it; the next flag notifies that admin again, not the one who has not read theirs yet.
    mine = Notification.objects.get(recipient=people["admin"], channel_account=account)
    response = client_of(people["admin"]).post("/notifications/read/", {"ids": str(mine.pk)},
                                               HTTP_ACCEPT="application/json")
    assert response.json() == {"ok": True, "unread": 0}
    channel_account_flag(account=account, reason="Mailbox unreachable")

    assert recipients(account) == sorted([people["admin"].pk, people["admin"].pk, people["both"].pk])
    assert Notification.objects.filter(recipient=people["both"], read_at__isnull=True).count() == 1


def test_each_account_is_notified_on_its_own(municipality, account, people):
    second = sandbox_account(municipality, name="Tweede")
    channel_account_flag(account=account, reason=EXPIRED)
    channel_account_flag(account=second, reason=EXPIRED)
    assert len(recipients(account)) == len(recipients(second)) == 2


def test_two_flags_at_once_notify_once(transactional_db, municipality, account, people):
    def flag(reason: str) -> None:
        channel_account_flag(account=ChannelAccount.objects.get(pk=account.pk), reason=reason)

    run_at_once(flag, [(EXPIRED,), ("Mailbox unreachable",), ("Login refused",)])

    assert recipients(account) == sorted([people["admin"].pk, people["both"].pk])


def test_the_bell_lists_it_without_a_ticket_and_links_to_the_channel(municipality, account, people):
    account.name = "WhatsApp <Balie>"
    account.save(update_fields=["name"])
    channel_account_flag(account=account, reason=EXPIRED)
    client = client_of(people["both"], municipality)

    data = client.get("/notifications/").json()

    assert data["unread"] == 1
    [item] = data["notifications"]
    assert item["kind"] == "channel_problem" and item["ticket_id"] is None and item["ticket_number"] is None
    assert (item["account_id"], item["account_name"], item["text"]) == (account.pk, "WhatsApp <Balie>", EXPIRED)
    assert item["url"] == f"/settings/channels/{account.pk}/" == channel_settings_url(account)
    assert item["read"] is False and item["actor_name"] == ""
    # In the other municipality the same admin sees nothing of it.
    other = next(m.municipality for m in people["both"].memberships.all() if m.municipality_id != municipality.pk)
    assert client_of(people["both"], other).get("/notifications/").json() == {"unread": 0, "notifications": []}
    # Marking all as read works on them as on any other.
    assert client.post("/notifications/read/", {"all": "1"}, HTTP_ACCEPT="application/json").json()["unread"] == 0


def test_the_link_falls_back_to_the_channel_list(db):
    assert channel_settings_url(None) == "/settings/channels/"


def test_the_bell_has_a_label_for_it(municipality, account, people):
    channel_account_flag(account=account, reason=EXPIRED)
    request = RequestFactory().get("/")
    request.user = people["admin"]
    request.session = {}
    bell = render_to_string("dashboard/_notifications.html",
                            {"request": request, "current_membership": get_membership(request), "user": request.user})
    config = json.loads(bell.split('id="notifications-config" type="application/json">')[1].split("</script>")[0])
    assert "%(account)s" in config["labels"]["channel_problem"]
    # And a page with the bell renders for the admin.
    assert client_of(people["admin"]).get("/settings/").status_code == 200


def test_agents_see_the_flagged_account_in_the_inbox_banner(municipality, account, people):
    channel_account_flag(account=account, reason=EXPIRED)
    page = client_of(people["agent"]).get("/").content.decode()
    banner = page.split('id="channel-problems"')[1].split("</div>")[0]
    assert f'data-channel-account="{account.pk}"' in banner and EXPIRED in banner
    assert not Notification.objects.filter(recipient=people["agent"]).exists()


def test_the_push_reaches_the_admins_only(transactional_db, municipality, account, people):
    cookies = {name: session_cookie(people[name]) for name in ("admin", "agent")}

    async def scenario() -> dict[str, list[dict[str, Any]]]:
        sockets = {name: dashboard(municipality.pk, cookie) for name, cookie in cookies.items()}
        for socket in sockets.values():
            assert (await socket.connect(timeout=10))[0]
        await database_sync_to_async(channel_account_flag)(account=account, reason=EXPIRED)
        frames = {name: await frames_until_quiet(socket) for name, socket in sockets.items()}
        for socket in sockets.values():
            await socket.disconnect()
        return frames

    frames = run_async(scenario)
    [pushed] = [f for f in frames["admin"] if f["type"] == "notification"]
    stored = Notification.objects.get(recipient=people["admin"])
    assert pushed["data"]["id"] == stored.pk and pushed["data"]["kind"] == "channel_problem"
    assert pushed["data"]["account_name"] == account.name and pushed["data"]["text"] == EXPIRED
    assert not [f for f in frames["agent"] if f["type"] == "notification"]
    # Everyone still gets the live banner event.
    assert all(any(f["type"] == "channel.problem" for f in frames[name]) for name in ("admin", "agent"))
