"""Invitations: the mail and its link, only a hash stored, and every way the link can be used or refused."""
from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from omnidesk.audit.models import AuditEntry
from omnidesk.tenants.models import Invitation, Membership, Role
from tests.factories import MembershipFactory, MunicipalityFactory, UserFactory

LINK = re.compile(re.escape(settings.PUBLIC_URL) + r"/invitations/([A-Za-z0-9_-]{43})/")
PASSWORD = "Lange-wachtzin-voor-de-balie-42"


@pytest.fixture
def admin(municipality):  # type: ignore[no-untyped-def]
    return MembershipFactory(municipality=municipality, role=Role.ADMIN).user


def invite(client, admin, email: str, role: str = Role.SUPERVISOR) -> str:  # type: ignore[no-untyped-def]
    """Invite through the settings page as the admin; returns the token from the mail, the client logged out."""
    client.force_login(admin)
    mail.outbox.clear()
    assert client.post("/settings/people/invite/", {"email": email, "role": role}).status_code == 302
    client.logout()
    assert len(mail.outbox) == 1
    return token_in(mail.outbox[0])


def token_in(message) -> str:  # type: ignore[no-untyped-def]
    tokens = LINK.findall(message.body)
    assert len(tokens) == 2 and tokens[0] == tokens[1]  # the same link in the Dutch and the English part
    return tokens[0]


def test_an_invitation_mails_a_link_and_stores_only_the_tokens_hash(client, municipality, admin):
    token = invite(client, admin, "Nieuwe.Collega@Example.nl")
    message = mail.outbox[0]
    assert message.to == ["nieuwe.collega@example.nl"] and message.from_email == settings.DEFAULT_FROM_EMAIL
    assert municipality.name in message.subject and municipality.name in message.body

    invitation = Invitation.objects.get()
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert invitation.role == Role.SUPERVISOR and invitation.invited_by == admin
    assert timedelta(days=6, hours=23) < invitation.expires_at - timezone.now() <= timedelta(days=7)
    stored = json.dumps(list(Invitation.objects.values()), default=str) + json.dumps(
        list(AuditEntry.objects.values()), default=str)
    assert token not in stored
    entry = AuditEntry.objects.get(action="invitation.created")
    assert entry.actor == admin and entry.target_id == str(invitation.pk)
    assert entry.changes == {"email": [None, "nieuwe.collega@example.nl"], "role": [None, "supervisor"]}

    page = client.get(f"/invitations/{token}/")
    assert page.status_code == 200 and 'id="invitation-new-account"' in page.content.decode()
    listing_client = client
    listing_client.force_login(admin)
    listing = listing_client.get("/settings/people/").content.decode()
    assert f'data-invitation="{invitation.pk}"' in listing and token not in listing


def test_a_new_person_accepts_makes_an_account_and_is_logged_in(client, municipality, admin):
    token = invite(client, admin, "nieuw@example.nl")
    response = client.post(f"/invitations/{token}/", {"first_name": "Fatima", "last_name": "El Amrani",
                                                      "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    user = get_user_model().objects.get(username="nieuw@example.nl")
    assert user.email == "nieuw@example.nl" and user.get_full_name() == "Fatima El Amrani"
    assert user.check_password(PASSWORD)
    assert Membership.objects.get(user=user).role == Role.SUPERVISOR
    assert Membership.objects.get(user=user).municipality == municipality
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get("/").status_code == 200  # the inbox, as the new member

    invitation = Invitation.objects.get()
    assert invitation.accepted_by == user and invitation.accepted_at is not None
    entry = AuditEntry.objects.get(action="invitation.accepted")
    assert entry.actor == user and entry.municipality == municipality and entry.target_id == str(invitation.pk)

    # Used once: the link is dead now, for anybody.
    client.logout()
    again = client.post(f"/invitations/{token}/", {"first_name": "Nog", "last_name": "Eens",
                                                   "password1": PASSWORD, "password2": PASSWORD})
    assert again.status_code == 410 and 'id="invitation-unusable"' in again.content.decode()
    assert get_user_model().objects.filter(first_name="Nog").count() == 0


@pytest.mark.parametrize("password1,password2,field", [
    (PASSWORD, PASSWORD + "x", "password2"),  # they differ
    ("kort", "kort", "password1"),  # too short
    ("nieuw@example.nl!", "nieuw@example.nl!", "password1"),  # long enough, but resembles the account's address
    ("password12345", "password12345", "password1"),  # a common password
])
def test_the_new_account_form_applies_the_password_rules(client, municipality, admin, password1, password2, field,
                                                         caplog):
    token = invite(client, admin, "nieuw@example.nl")
    response = client.post(f"/invitations/{token}/", {"first_name": "Fatima", "last_name": "El Amrani",
                                                      "password1": password1, "password2": password2})
    assert response.status_code == 200  # not 4xx: Django would log the path, which holds the live token
    body = response.content.decode()
    assert f'id="id_{field}_error"' in body
    assert re.search(rf'aria-describedby="[^"]*\bid_{field}_error\b[^"]*"', body)
    assert not get_user_model().objects.filter(username="nieuw@example.nl").exists()
    assert Invitation.objects.get().accepted_at is None
    assert token not in caplog.text and password1 not in caplog.text


def _membership_count() -> int:
    return Membership.objects.count()


@pytest.mark.parametrize("spoil", ["expired", "revoked", "unknown"])
def test_an_expired_withdrawn_or_unknown_link_gives_no_membership(client, municipality, admin, spoil):
    token = invite(client, admin, "nieuw@example.nl")
    invitation = Invitation.objects.get()
    if spoil == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif spoil == "revoked":
        client.force_login(admin)
        assert client.post(f"/settings/people/invitations/{invitation.pk}/revoke/").status_code == 302
        client.logout()
        assert AuditEntry.objects.get(action="invitation.revoked").actor == admin
    else:
        token = token[:-1] + ("A" if token[-1] != "A" else "B")
    before = _membership_count()
    expected = 404 if spoil == "unknown" else 410
    for response in (client.get(f"/invitations/{token}/"),
                     client.post(f"/invitations/{token}/", {"first_name": "Fatima", "last_name": "El Amrani",
                                                            "password1": PASSWORD, "password2": PASSWORD})):
        assert response.status_code == expected
        assert 'id="invitation-unusable"' in response.content.decode()
    assert _membership_count() == before
    assert not get_user_model().objects.filter(username="nieuw@example.nl").exists()

    # Even the invited person, logged in, cannot join with it.
    existing = UserFactory(email="nieuw@example.nl")
    client.force_login(existing)
    assert client.post(f"/invitations/{token}/").status_code == expected
    assert not Membership.objects.filter(user=existing).exists()


def test_somebody_with_an_account_logs_in_first_and_then_joins(client, municipality, admin):
    elsewhere = MunicipalityFactory()
    colleague = MembershipFactory(municipality=elsewhere, role=Role.ADMIN,
                                  user=UserFactory(email="j.jansen@example.nl")).user
    token = invite(client, admin, "J.Jansen@example.nl", role=Role.AGENT)

    page = client.get(f"/invitations/{token}/")
    assert page.status_code == 200
    assert f'href="/login/?next=%2Finvitations%2F{token}%2F"' in page.content.decode()
    # A form posted without logging in makes no second account.
    client.post(f"/invitations/{token}/", {"first_name": "J", "last_name": "Jansen", "password1": PASSWORD,
                                           "password2": PASSWORD})
    assert get_user_model().objects.filter(email__iexact="j.jansen@example.nl").count() == 1

    login = client.post(f"/login/?next=/invitations/{token}/", {"username": colleague.username,
                                                                 "password": "correct-horse-battery",
                                                                 "next": f"/invitations/{token}/"})
    assert login.status_code == 302 and login["Location"] == f"/invitations/{token}/"
    join = client.get(f"/invitations/{token}/")
    assert join.status_code == 200 and 'id="invitation-join"' in join.content.decode()
    assert not Membership.objects.filter(user=colleague, municipality=municipality).exists()  # not before the click
    response = client.post(f"/invitations/{token}/", {"join": "1"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert Membership.objects.get(user=colleague, municipality=municipality).role == Role.AGENT
    assert Membership.objects.get(user=colleague, municipality=elsewhere).role == Role.ADMIN  # untouched
    # They now work in the municipality that invited them.
    assert client.get("/").context["current_membership"].municipality == municipality
    assert AuditEntry.objects.get(action="invitation.accepted").actor == colleague


def test_an_account_whose_username_is_the_address_counts_as_that_person(client, municipality, admin):
    person = UserFactory(username="p.devries@example.nl", email="")
    token = invite(client, admin, "p.devries@example.nl", role=Role.AGENT)
    client.force_login(person)
    assert client.post(f"/invitations/{token}/").status_code == 302
    assert Membership.objects.get(user=person).municipality == municipality


def test_logged_in_as_somebody_else_says_so_and_joins_nobody(client, municipality, admin, caplog):
    token = invite(client, admin, "bedoeld@example.nl")
    other = MembershipFactory(municipality=MunicipalityFactory(), user=UserFactory(email="ander@example.nl")).user
    client.force_login(other)
    page = client.get(f"/invitations/{token}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="invitation-other-user"' in body and 'id="invitation-log-out"' in body
    assert f'name="next" value="/invitations/{token}/"' in body
    assert 'id="invitation-other-user"' in client.post(f"/invitations/{token}/", {"join": "1"}).content.decode()
    assert not Membership.objects.filter(user=other, municipality=municipality).exists()
    assert Invitation.objects.get().accepted_at is None
    assert token not in caplog.text

    logout = client.post("/logout/", {"next": f"/invitations/{token}/"})
    assert logout.status_code == 302 and logout["Location"] == f"/invitations/{token}/"
    assert 'id="invitation-new-account"' in client.get(f"/invitations/{token}/").content.decode()


def test_resending_makes_a_new_link_and_kills_the_old_one(client, municipality, admin):
    old_token = invite(client, admin, "nieuw@example.nl")
    invitation = Invitation.objects.get()
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=1))
    client.force_login(admin)
    assert 'data-expired="true"' in client.get("/settings/people/").content.decode()
    assert client.post(f"/settings/people/invitations/{invitation.pk}/resend/").status_code == 302
    client.logout()
    assert len(mail.outbox) == 2
    new_token = token_in(mail.outbox[1])
    assert new_token != old_token
    invitation.refresh_from_db()
    assert invitation.token_hash == hashlib.sha256(new_token.encode()).hexdigest()
    assert invitation.expires_at > timezone.now() + timedelta(days=6)
    assert client.get(f"/invitations/{old_token}/").status_code == 404
    assert client.get(f"/invitations/{new_token}/").status_code == 200
    entry = AuditEntry.objects.get(action="invitation.resent")
    assert entry.actor == admin
    assert new_token not in json.dumps(list(AuditEntry.objects.values()), default=str)


def test_an_invitation_for_another_municipality_never_gives_access_here(client, municipality, admin):
    elsewhere = MunicipalityFactory()
    their_admin = MembershipFactory(municipality=elsewhere, role=Role.ADMIN).user
    token = invite(client, their_admin, "nieuw@example.nl", role=Role.ADMIN)
    client.post(f"/invitations/{token}/", {"first_name": "Fatima", "last_name": "El Amrani",
                                           "password1": PASSWORD, "password2": PASSWORD})
    user = get_user_model().objects.get(username="nieuw@example.nl")
    assert list(Membership.objects.filter(user=user).values_list("municipality", "role")) == [(elsewhere.pk, "admin")]
    client.force_login(admin)
    assert "nieuw@example.nl" not in client.get("/settings/people/").content.decode()


def test_two_simultaneous_uses_of_one_link_make_one_account(transactional_db):
    from omnidesk.tenants.services import InvitationRefused, invitation_accept_as_new_user, invitation_create
    from tests.conftest import run_at_once

    municipality = MunicipalityFactory()
    admin = MembershipFactory(municipality=municipality, role=Role.ADMIN).user
    invitation = invitation_create(municipality=municipality, email="nieuw@example.nl", role=Role.AGENT, actor=admin)

    def accept(first_name: str) -> str:
        try:
            invitation_accept_as_new_user(invitation=invitation, first_name=first_name, last_name="Test",
                                          password=PASSWORD)
            return "joined"
        except InvitationRefused:
            return "refused"

    assert sorted(run_at_once(accept, [("Een",), ("Twee",)])) == ["joined", "refused"]
    assert get_user_model().objects.filter(username="nieuw@example.nl").count() == 1
    assert Membership.objects.filter(municipality=municipality).count() == 2
