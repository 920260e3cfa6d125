"""Settings → people: members and roles, removal, invitations (admin side), teams. Admins only, own municipality only."""
from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from omnidesk.audit.models import AuditEntry
from omnidesk.contacts.models import ContactIdentity
from omnidesk.contacts.services import contact_for_identity
from omnidesk.plugin_api import IdentityKind, IdentityRef
from omnidesk.tenants.models import Invitation, Membership, Role, Team
from omnidesk.tenants.services import (
    LastAdministrator,
    invitation_create,
    membership_remove,
    membership_set_role,
    team_create,
)
from omnidesk.tickets.models import Status, Ticket
from omnidesk.tickets.services import message_receive, ticket_assign, ticket_set_status
from tests.conftest import run_at_once
from tests.factories import MembershipFactory, MunicipalityFactory, UserFactory, sandbox_account


def _ticket(account, assignee=None, actor=None) -> Ticket:  # type: ignore[no-untyped-def]
    ref = IdentityRef(IdentityKind.VISITOR, f"sandbox-{uuid.uuid4().hex}")
    contact = contact_for_identity(municipality=account.municipality, identity=ref, display_name="Inwoner")
    identity = ContactIdentity.objects.get(municipality=account.municipality, value=ref.value)
    ticket = message_receive(account=account, contact=contact, identity=identity,
                             provider_message_id=uuid.uuid4().hex, text="Vraag").ticket
    if assignee is not None:
        ticket_assign(ticket=ticket, assignee=assignee, actor=actor)
    return ticket


@pytest.fixture
def people(municipality):  # type: ignore[no-untyped-def]
    """An admin, an agent in a team, an open invitation, and a team: one object of each kind the URLs address."""
    admin = MembershipFactory(municipality=municipality, role=Role.ADMIN)
    agent = MembershipFactory(municipality=municipality, role=Role.AGENT)
    team = team_create(municipality=municipality, name="Burgerzaken", members=[agent.user], actor=admin.user)
    invitation = invitation_create(municipality=municipality, email="nieuw@example.nl", role=Role.AGENT,
                                   actor=admin.user)
    mail.outbox.clear()
    return {"admin": admin, "agent": agent, "team": team, "invitation": invitation}


def _urls(people) -> tuple[list[str], list[tuple[str, dict]]]:  # type: ignore[no-untyped-def]
    agent, team, invitation = people["agent"], people["team"], people["invitation"]
    pages = ["/settings/people/", "/settings/people/teams/", "/settings/people/teams/add/",
             f"/settings/people/teams/{team.pk}/"]
    actions = [
        (f"/settings/people/{agent.pk}/role/", {"role": Role.SUPERVISOR}),
        ("/settings/people/invite/", {"email": "nog-iemand@example.nl", "role": Role.AGENT}),
        (f"/settings/people/invitations/{invitation.pk}/resend/", {}),
        ("/settings/people/teams/add/", {"name": "Vergunningen", "members": [agent.user.pk]}),
        (f"/settings/people/teams/{team.pk}/", {"name": "Burgerzaken en Belastingen", "members": []}),
        (f"/settings/people/invitations/{invitation.pk}/revoke/", {}),
        (f"/settings/people/teams/{team.pk}/delete/", {}),
        (f"/settings/people/{agent.pk}/remove/", {}),
    ]
    return pages, actions


def _state(municipality) -> tuple:  # type: ignore[no-untyped-def]
    return (sorted(Membership.objects.filter(municipality=municipality).values_list("pk", "role")),
            sorted(Invitation.objects.values_list("pk", "token_hash", "revoked_at")),
            sorted(Team.objects.values_list("pk", "name")), AuditEntry.objects.count(), len(mail.outbox))


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_agents_and_supervisors_get_403_on_every_people_url(client, municipality, people, role):
    client.force_login(MembershipFactory(municipality=municipality, role=role).user)
    pages, actions = _urls(people)
    before = _state(municipality)
    for url in pages:
        assert client.get(url).status_code == 403, url
    for url, data in actions:
        assert client.post(url, data).status_code == 403, url
        assert client.get(url).status_code == 403, url
    assert _state(municipality) == before


def test_admin_reaches_every_people_page_and_action(client, municipality, people):
    client.force_login(people["admin"].user)
    pages, actions = _urls(people)
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
    page = client.get("/settings/people/").content.decode()
    assert f'data-membership="{people["agent"].pk}"' in page and f'data-invitation="{people["invitation"].pk}"' in page
    assert 'id="roles"' in page and 'id="invite-form"' in page
    assert f'data-team="{people["team"].pk}"' in client.get("/settings/people/teams/").content.decode()

    for url, data in actions:
        response = client.post(url, data)
        assert response.status_code == 302, (url, response.content[:500])
    recorded = AuditEntry.objects.filter(actor=people["admin"].user).order_by("id").values_list("action", flat=True)
    assert list(recorded)[2:] == [  # after the fixture's team.created and invitation.created
        "member.role_changed", "invitation.created", "invitation.resent", "team.created", "team.updated",
        "invitation.revoked", "team.deleted", "member.removed"]
    assert not Membership.objects.filter(pk=people["agent"].pk).exists()
    assert len(mail.outbox) == 2  # the new invitation and the resent one


def test_admin_cannot_change_the_post_only_urls_with_get(client, municipality, people):
    client.force_login(people["admin"].user)
    before = _state(municipality)
    _pages, actions = _urls(people)
    for url, _data in actions:
        if "/teams/" in url and not url.endswith("/delete/"):
            continue  # the team forms are pages too
        assert client.get(url).status_code == 405, url
    assert _state(municipality) == before


def test_another_municipalitys_people_are_404(client, municipality, people):
    elsewhere = MunicipalityFactory()
    their_admin = MembershipFactory(municipality=elsewhere, role=Role.ADMIN)
    theirs = {"admin": their_admin, "agent": MembershipFactory(municipality=elsewhere), "team": None,
              "invitation": invitation_create(municipality=elsewhere, email="buur@example.nl", role=Role.AGENT,
                                              actor=their_admin.user)}
    theirs["team"] = team_create(municipality=elsewhere, name="Hun team", members=[], actor=their_admin.user)
    mail.outbox.clear()
    client.force_login(people["admin"].user)
    before = _state(elsewhere)
    pages, actions = _urls(theirs)
    for url in pages[3:]:
        assert client.get(url).status_code == 404, url
    for url, data in actions:
        if url.endswith("/invite/") or url.endswith("/teams/add/"):
            continue  # no id in these: they act on the admin's own municipality
        assert client.post(url, data).status_code == 404, url
    assert _state(elsewhere) == before
    page = client.get("/settings/people/").content.decode()
    assert their_admin.user.get_username() not in page and "buur@example.nl" not in page
    assert "Hun team" not in client.get("/settings/people/teams/").content.decode()


def test_role_change_is_audited_with_the_actor(client, municipality, people):
    admin, agent = people["admin"], people["agent"]
    client.force_login(admin.user)
    assert client.post(f"/settings/people/{agent.pk}/role/", {"role": Role.ADMIN}).status_code == 302
    agent.refresh_from_db()
    assert agent.role == Role.ADMIN
    entry = AuditEntry.objects.get(action="member.role_changed")
    assert entry.actor == admin.user and entry.municipality == municipality
    assert entry.target_id == str(agent.pk) and entry.changes == {"role": ["agent", "admin"]}
    assert client.post(f"/settings/people/{agent.pk}/role/", {"role": "owner"}).status_code == 302
    agent.refresh_from_db()
    assert agent.role == Role.ADMIN and AuditEntry.objects.filter(action="member.role_changed").count() == 1


def test_the_last_admin_can_be_neither_demoted_nor_removed(client, municipality, people):
    admin = people["admin"]
    client.force_login(admin.user)
    for url, data in ((f"/settings/people/{admin.pk}/role/", {"role": Role.AGENT}),
                      (f"/settings/people/{admin.pk}/remove/", {})):
        response = client.post(url, data, follow=True)
        assert response.redirect_chain[-1][0] == "/settings/people/"
        assert [m.level_tag for m in response.context["messages"]] == ["error"]
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN
    assert not AuditEntry.objects.filter(action__in=["member.role_changed", "member.removed"]).exists()
    with pytest.raises(LastAdministrator):
        membership_set_role(membership=admin, role=Role.SUPERVISOR, actor=admin.user)

    # With a second admin, the first may step down (and then no longer sees the settings); the second may not.
    second = people["agent"]
    membership_set_role(membership=second, role=Role.ADMIN, actor=admin.user)
    response = client.post(f"/settings/people/{admin.pk}/role/", {"role": Role.SUPERVISOR})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/settings/people/").status_code == 403
    with pytest.raises(LastAdministrator):
        membership_remove(membership=second, actor=second.user)
    assert Membership.objects.get(pk=second.pk).role == Role.ADMIN


def test_two_admins_demoting_each_other_at_once_leave_one_admin(transactional_db):
    municipality = MunicipalityFactory()
    anna, bram = (MembershipFactory(municipality=municipality, role=Role.ADMIN) for _ in range(2))

    def demote(membership: Membership, actor) -> str:  # type: ignore[no-untyped-def]
        try:
            membership_set_role(membership=membership, role=Role.AGENT, actor=actor)
            return "done"
        except LastAdministrator:
            return "refused"

    results = run_at_once(demote, [(anna, bram.user), (bram, anna.user)])
    assert sorted(results) == ["done", "refused"]
    assert Membership.objects.filter(municipality=municipality, role=Role.ADMIN).count() == 1


def test_removing_someone_keeps_their_account_and_unassigns_their_active_tickets(client, municipality, people):
    admin, agent = people["admin"], people["agent"]
    account = sandbox_account(municipality)
    elsewhere = MunicipalityFactory()
    MembershipFactory(municipality=elsewhere, user=agent.user)
    their_ticket = _ticket(sandbox_account(elsewhere), assignee=agent.user, actor=agent.user)
    open_ticket = _ticket(account, assignee=agent.user, actor=admin.user)
    pending = _ticket(account, assignee=agent.user, actor=admin.user)
    ticket_set_status(ticket=pending, status=Status.PENDING, actor=admin.user)
    resolved = _ticket(account, assignee=agent.user, actor=admin.user)
    ticket_set_status(ticket=resolved, status=Status.RESOLVED, actor=admin.user)
    colleague_ticket = _ticket(account, assignee=admin.user, actor=admin.user)

    client.force_login(admin.user)
    assert client.post(f"/settings/people/{agent.pk}/remove/").status_code == 302
    assert not Membership.objects.filter(pk=agent.pk).exists()
    assert get_user_model().objects.filter(pk=agent.user.pk).exists()
    assert Membership.objects.filter(user=agent.user, municipality=elsewhere).exists()
    assignees = {t.pk: t.assignee_id for t in Ticket.objects.all()}
    assert assignees[open_ticket.pk] is None and assignees[pending.pk] is None
    assert assignees[resolved.pk] == agent.user.pk  # finished work keeps who did it
    assert assignees[colleague_ticket.pk] == admin.user.pk and assignees[their_ticket.pk] == agent.user.pk
    assert open_ticket.messages.filter(kind="event", metadata__event="unassigned").count() == 1
    assert not people["team"].members.filter(pk=agent.user.pk).exists()
    entry = AuditEntry.objects.get(action="member.removed")
    assert entry.actor == admin.user and entry.target_id == str(agent.pk)
    assert entry.changes["unassigned_tickets"][0] == sorted([open_ticket.number, pending.number])
    assert entry.changes["teams"] == [["Burgerzaken"], []]


def test_invite_form_refuses_members_and_pending_addresses(client, municipality, people):
    admin, agent = people["admin"], people["agent"]
    get_user_model().objects.filter(pk=agent.user.pk).update(email="Collega@Example.nl")
    client.force_login(admin.user)
    for email in ("collega@example.nl", "NIEUW@example.nl", "geen-adres"):
        response = client.post("/settings/people/invite/", {"email": email, "role": Role.AGENT})
        assert response.status_code == 400, email
        assert 'id="id_email_error"' in response.content.decode()
        assert 'aria-describedby="id_email_error"' in response.content.decode()
    assert Invitation.objects.count() == 1 and len(mail.outbox) == 0
    # Somebody with an account who works elsewhere may be invited.
    MembershipFactory(municipality=MunicipalityFactory(), user=UserFactory(email="elders@example.nl"))
    assert client.post("/settings/people/invite/", {"email": "elders@example.nl", "role": Role.SUPERVISOR}
                       ).status_code == 302
    assert Invitation.objects.get(email="elders@example.nl").role == Role.SUPERVISOR


def test_a_withdrawn_or_used_invitation_cannot_be_resent_or_withdrawn_again(client, municipality, people):
    client.force_login(people["admin"].user)
    invitation = people["invitation"]
    response = client.post(f"/settings/people/invitations/{invitation.pk}/revoke/", follow=True)
    assert [m.level_tag for m in response.context["messages"]] == ["success"]
    for action in ("resend", "revoke"):
        response = client.post(f"/settings/people/invitations/{invitation.pk}/{action}/", follow=True)
        assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert AuditEntry.objects.filter(action="invitation.revoked").count() == 1
    assert not AuditEntry.objects.filter(action="invitation.resent").exists() and len(mail.outbox) == 0
    assert f'data-invitation="{invitation.pk}"' not in client.get("/settings/people/").content.decode()


def test_teams_are_created_edited_and_deleted_with_members_of_the_municipality_only(client, municipality, people):
    admin, agent = people["admin"], people["agent"]
    outsider = MembershipFactory(municipality=MunicipalityFactory()).user
    client.force_login(admin.user)

    form = client.get("/settings/people/teams/add/").content.decode()
    assert f'value="{agent.user.pk}"' in form and f'value="{outsider.pk}"' not in form
    response = client.post("/settings/people/teams/add/", {"name": "Vergunningen", "members": [agent.user.pk,
                                                                                                 outsider.pk]})
    assert response.status_code == 400 and 'id="id_members_error"' in response.content.decode()
    response = client.post("/settings/people/teams/add/", {"name": "burgerzaken", "members": []})
    assert response.status_code == 400 and 'id="id_name_error"' in response.content.decode()
    assert list(Team.objects.values_list("name", flat=True)) == ["Burgerzaken"]

    assert client.post("/settings/people/teams/add/", {"name": "Vergunningen",
                                                       "members": [agent.user.pk, admin.user.pk]}).status_code == 302
    team = Team.objects.get(name="Vergunningen")
    assert team.municipality == municipality and set(team.members.all()) == {agent.user, admin.user}
    created = AuditEntry.objects.get(action="team.created", target_id=str(team.pk))
    assert created.actor == admin.user and created.changes["name"] == [None, "Vergunningen"]

    edit = f"/settings/people/teams/{team.pk}/"
    assert 'value="Vergunningen"' in client.get(edit).content.decode()
    response = client.post(edit, {"name": "Vergunningen", "members": [outsider.pk]})
    assert response.status_code == 400 and 'id="id_members_error"' in response.content.decode()
    assert client.post(edit, {"name": "Vergunningen en Handhaving", "members": [admin.user.pk]}).status_code == 302
    team.refresh_from_db()
    assert team.name == "Vergunningen en Handhaving" and list(team.members.all()) == [admin.user]
    updated = AuditEntry.objects.get(action="team.updated")
    assert updated.actor == admin.user
    assert updated.changes["members"] == [sorted([agent.user.username, admin.user.username]), [admin.user.username]]

    ticket = _ticket(sandbox_account(municipality))
    Ticket.objects.filter(pk=ticket.pk).update(team=team)
    assert client.post(f"/settings/people/teams/{team.pk}/delete/").status_code == 302
    assert not Team.objects.filter(pk=team.pk).exists()
    ticket.refresh_from_db()
    assert ticket.team_id is None
    deleted = AuditEntry.objects.get(action="team.deleted")
    assert deleted.actor == admin.user and deleted.target_id == str(team.pk)


@pytest.mark.browser
@pytest.mark.stack
@pytest.mark.parametrize("language", ["nl-NL", "en-GB"])
def test_people_pages_and_the_invitation_page_meet_wcag_21_aa(live_stack, browser, language):
    import re

    from tests.test_accessibility import assert_accessible

    municipality = MunicipalityFactory()
    admin = MembershipFactory(municipality=municipality, role=Role.ADMIN).user
    agent = MembershipFactory(municipality=municipality).user
    team = team_create(municipality=municipality, name="Burgerzaken", members=[agent], actor=admin)
    invitation_create(municipality=municipality, email="nieuw@example.nl", role=Role.AGENT, actor=admin)
    token = re.search(r"/invitations/([A-Za-z0-9_-]{43})/", mail.outbox[-1].body).group(1)

    page = browser.new_context(locale=language).new_page()
    page.goto(f"{live_stack}/login/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", "correct-horse-battery")
    page.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_stack}/")
    for path, name in (("/settings/people/", "users"), ("/settings/people/teams/", "teams"),
                       (f"/settings/people/teams/{team.pk}/", "team form")):
        page.goto(f"{live_stack}{path}")
        assert_accessible(page, name)
    page.goto(f"{live_stack}/settings/people/")
    page.fill("#id_email", "nieuw@example.nl")  # invited already: the form shows an error
    page.locator("#invite-form button[type=submit]").click()
    page.wait_for_selector("#id_email_error")
    assert_accessible(page, "users with an invitation error")

    newcomer = browser.new_context(locale=language).new_page()
    newcomer.goto(f"{live_stack}/invitations/{token}/")
    assert_accessible(newcomer, "new account")
    newcomer.fill("#id_first_name", "Fatima")
    newcomer.locator("#invitation-new-account button[type=submit]").click()
    newcomer.wait_for_selector("#id_password1_error")
    assert_accessible(newcomer, "new account with errors")
    newcomer.goto(f"{live_stack}/invitations/{token[:-2]}xx/")
    assert_accessible(newcomer, "unusable link")
