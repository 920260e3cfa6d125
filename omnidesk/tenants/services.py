"""Writes: municipalities, agents, and the admin's people pages (roles, removal, invitations, teams)."""
from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AbstractUser
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from omnidesk.audit.services import audit_record, diff
from omnidesk.tenants import selectors
from omnidesk.tenants.models import Invitation, Membership, Municipality, Role, Team

INVITATION_VALID_FOR = timedelta(days=7)
# The invitation mail carries both languages, Dutch first: the invitee's preference is not known yet.
INVITATION_LANGUAGES = ("nl", "en")


def municipality_create(*, slug: str, name: str) -> Municipality:
    return Municipality.objects.create(slug=slug, name=name)


def generate_password() -> str:
    return secrets.token_urlsafe(15)


@transaction.atomic
def agent_create(
    *,
    municipality: Municipality,
    username: str,
    role: Role,
    password: str | None = None,
    full_name: str = "",
    reset_password: bool = False,
) -> tuple[AbstractUser, str | None]:
    """Create a user with a role in the municipality, or give an existing user that role there.

    Returns the user and the password set: always for a new user; for an existing one only when `password` or
    `reset_password` asks for it (None otherwise), so adding a colleague to a second municipality never locks them out.
    """
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username)
    if full_name:
        first, _sep, last = full_name.partition(" ")
        user.first_name, user.last_name = first, last
    new_password: str | None = None
    if created or password or reset_password:
        new_password = password or generate_password()
        user.set_password(new_password)
    user.save()
    Membership.objects.update_or_create(user=user, municipality=municipality, defaults={"role": role})
    return user, new_password


@transaction.atomic
def municipality_update(*, municipality: Municipality, actor: Any, fields: dict[str, Any],
                        action: str = "municipality.settings_changed") -> Municipality:
    """Change a municipality's own settings (never slug or ticket counter); records what changed in the audit log."""
    from omnidesk.audit.services import audit_record, diff

    refused = set(fields) & {"id", "slug", "last_ticket_number", "created_at"}
    if refused:
        raise ValueError(f"not a setting: {', '.join(sorted(refused))}")
    old = {name: getattr(municipality, name) for name in fields}
    for name, value in fields.items():
        setattr(municipality, name, value)
    municipality.full_clean(exclude=["slug"])
    municipality.save(update_fields=list(fields))
    changes = diff(old, fields)
    if changes:
        audit_record(municipality=municipality, actor=actor, action=action, target=municipality, changes=changes)
    return municipality


# --- members ------------------------------------------------------------------------------------------------------
class LastAdministrator(ValidationError):
    """Refused: the municipality would be left without anyone who can manage it."""


def _locked_membership(membership: Membership) -> Membership:
    """The membership re-read under a lock on its municipality: changes to a municipality's people happen one at a
    time (always municipality first, so two admins demoting each other cannot deadlock or both succeed)."""
    _lock_municipality(membership.municipality_id)
    return Membership.objects.select_for_update(of=("self",)).select_related("user", "municipality").get(
        pk=membership.pk)


def _lock_municipality(municipality_id: int) -> None:
    Municipality.objects.select_for_update().filter(pk=municipality_id).values_list("pk", flat=True).first()


def _refuse_last_admin(membership: Membership) -> None:
    admins = Membership.objects.select_for_update().filter(municipality_id=membership.municipality_id,
                                                            role=Role.ADMIN).values_list("pk", flat=True)
    if list(admins) == [membership.pk]:
        raise LastAdministrator(_("A municipality needs at least one administrator; make someone else administrator "
                                  "first."), code="last_admin")


@transaction.atomic
def membership_set_role(*, membership: Membership, role: Role | str, actor: Any) -> Membership:
    role = Role(role)
    membership = _locked_membership(membership)
    if membership.role == role:
        return membership
    if membership.role == Role.ADMIN:
        _refuse_last_admin(membership)
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(municipality=membership.municipality, actor=actor, action="member.role_changed", target=membership,
                 changes=diff({"role": old}, {"role": role.value}))
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Any) -> None:
    """Take someone off the municipality. The user account stays (they may work for another municipality); their
    active tickets here go back to the queue, and they leave this municipality's teams."""
    from omnidesk.tickets.models import Ticket
    from omnidesk.tickets.intake import ACTIVE_STATUSES
    from omnidesk.tickets.services import ticket_assign

    membership = _locked_membership(membership)
    if membership.role == Role.ADMIN:
        _refuse_last_admin(membership)
    municipality, user = membership.municipality, membership.user
    tickets = list(Ticket.objects.filter(municipality=municipality, assignee=user, status__in=ACTIVE_STATUSES)
                   .select_related("channel_account", "contact").order_by("number"))
    for ticket in tickets:
        ticket_assign(ticket=ticket, assignee=None, actor=actor)
    teams = list(Team.objects.filter(municipality=municipality, members=user).order_by("name"))
    for team in teams:
        team.members.remove(user)
    audit_record(municipality=municipality, actor=actor, action="member.removed", target=membership,
                 changes={"role": [membership.role, None], "teams": [[t.name for t in teams], []],
                          "unassigned_tickets": [[t.number for t in tickets], []]})
    membership.delete()


# --- invitations --------------------------------------------------------------------------------------------------
class InvitationRefused(ValidationError):
    """An invitation that cannot be made, resent, revoked or accepted; the message says why."""


def _new_token(invitation: Invitation) -> str:
    """Give the invitation a fresh token and expiry; only the token's hash is kept, so only the mail holds the link."""
    token = secrets.token_urlsafe(32)
    invitation.token_hash = selectors.token_hash(token)
    invitation.expires_at = timezone.now() + INVITATION_VALID_FOR
    return token


def invitation_link(token: str) -> str:
    return settings.PUBLIC_URL + reverse("invitations:accept", args=[token])


def _send_invitation(invitation: Invitation, token: str, actor: Any) -> None:
    from omnidesk.tickets.presenters import user_name

    context = {"invitation": invitation, "municipality": invitation.municipality, "link": invitation_link(token),
               "invited_by": user_name(actor) if getattr(actor, "pk", None) else ""}
    subjects, bodies = [], []
    for language in INVITATION_LANGUAGES:
        with translation.override(language):
            context["role"] = str(Role(invitation.role).label)
            subjects.append(render_to_string("invitations/email_subject.txt", context).strip())
            bodies.append(render_to_string("invitations/email.txt", context).strip())
    send_mail(subject=" / ".join(dict.fromkeys(subjects)), message="\n\n-----\n\n".join(bodies) + "\n",
              from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[invitation.email])


@transaction.atomic
def invitation_create(*, municipality: Municipality, email: str, role: Role | str, actor: Any) -> Invitation:
    """Invite someone by e-mail. The mail goes out inside the transaction: if it cannot be sent, no invitation
    is left behind that nobody received."""
    email = email.strip().lower()
    # One invitation at a time per municipality, so two admins cannot invite the same address twice at once.
    _lock_municipality(municipality.pk)
    if selectors.is_member_email(municipality, email):
        raise InvitationRefused(_("Somebody with this email address already works for this municipality."),
                                code="member")
    if selectors.pending_invitation_exists(municipality, email):
        raise InvitationRefused(_("This email address has already been invited; you can send the invitation again."),
                                code="pending")
    invitation = Invitation(municipality=municipality, email=email, role=Role(role),
                            invited_by=actor if getattr(actor, "pk", None) else None)
    token = _new_token(invitation)
    invitation.save()
    audit_record(municipality=municipality, actor=actor, action="invitation.created", target=invitation,
                 changes=diff({}, {"email": email, "role": invitation.role}))
    _send_invitation(invitation, token, actor)
    return invitation


@transaction.atomic
def invitation_resend(*, invitation: Invitation, actor: Any) -> Invitation:
    """A new link (the old one stops working) valid for another week."""
    invitation = Invitation.objects.select_for_update(of=("self",)).select_related("municipality").get(
        pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise InvitationRefused(_("This invitation was already used or withdrawn."), code="closed")
    old_expiry = invitation.expires_at
    token = _new_token(invitation)
    invitation.save(update_fields=["token_hash", "expires_at"])
    audit_record(municipality=invitation.municipality, actor=actor, action="invitation.resent", target=invitation,
                 changes={"expires_at": [old_expiry.isoformat(), invitation.expires_at.isoformat()]})
    _send_invitation(invitation, token, actor)
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: Any) -> Invitation:
    invitation = Invitation.objects.select_for_update(of=("self",)).select_related("municipality").get(
        pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise InvitationRefused(_("This invitation was already used or withdrawn."), code="closed")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(municipality=invitation.municipality, actor=actor, action="invitation.revoked", target=invitation)
    return invitation


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: AbstractBaseUser) -> Membership:
    """The invited person joins in the invited role. An existing membership keeps its role (never a silent change)."""
    invitation = Invitation.objects.select_for_update(of=("self",)).select_related("municipality").get(
        pk=invitation.pk)
    if not selectors.invitation_is_usable(invitation):
        raise InvitationRefused(_("This invitation can no longer be used."), code="unusable")
    if not selectors.user_matches_email(user, invitation.email):
        raise InvitationRefused(_("This invitation is for somebody else."), code="other_user")
    membership, _created = Membership.objects.get_or_create(user=user, municipality=invitation.municipality,
                                                            defaults={"role": invitation.role})
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(municipality=invitation.municipality, actor=user, action="invitation.accepted", target=invitation,
                 changes=diff({}, {"role": membership.role}))
    return membership


@transaction.atomic
def invitation_accept_as_new_user(*, invitation: Invitation, first_name: str, last_name: str,
                                  password: str) -> tuple[AbstractBaseUser, Membership]:
    """Make the account for somebody new (username = the invited address) and let them join."""
    # The invitation is locked before the account is made: a second, simultaneous use waits and then finds it used.
    invitation = Invitation.objects.select_for_update(of=("self",)).select_related("municipality").get(
        pk=invitation.pk)
    if not selectors.invitation_is_usable(invitation):
        raise InvitationRefused(_("This invitation can no longer be used."), code="unusable")
    if selectors.users_with_email(invitation.email).exists():
        raise InvitationRefused(_("An account with this email address exists already; log in to accept."),
                                code="user_exists")
    user = get_user_model().objects.create_user(username=invitation.email, email=invitation.email,
                                                password=password, first_name=first_name, last_name=last_name)
    return user, invitation_accept(invitation=invitation, user=user)


# --- teams --------------------------------------------------------------------------------------------------------
def _check_members(municipality: Municipality, members: Iterable[AbstractBaseUser]) -> list[AbstractBaseUser]:
    members = list(members)
    allowed = set(selectors.member_users(municipality).filter(pk__in=[u.pk for u in members])
                  .values_list("pk", flat=True))
    if any(user.pk not in allowed for user in members):
        raise ValidationError(_("A team can only have members of this municipality."), code="not_member")
    return members


def _member_names(users: Iterable[AbstractBaseUser]) -> list[str]:
    return sorted(user.get_username() for user in users)


@transaction.atomic
def team_create(*, municipality: Municipality, name: str, members: Iterable[AbstractBaseUser], actor: Any) -> Team:
    members = _check_members(municipality, members)
    team = Team.objects.create(municipality=municipality, name=name.strip())
    team.members.set(members)
    audit_record(municipality=municipality, actor=actor, action="team.created", target=team,
                 changes=diff({}, {"name": team.name, "members": _member_names(members)}))
    return team


@transaction.atomic
def team_update(*, team: Team, name: str, members: Iterable[AbstractBaseUser], actor: Any) -> Team:
    members = _check_members(team.municipality, members)
    old = {"name": team.name, "members": _member_names(team.members.all())}
    team.name = name.strip()
    team.save(update_fields=["name"])
    team.members.set(members)
    changes = diff(old, {"name": team.name, "members": _member_names(members)})
    if changes:
        audit_record(municipality=team.municipality, actor=actor, action="team.updated", target=team, changes=changes)
    return team


@transaction.atomic
def team_delete(*, team: Team, actor: Any) -> None:
    """Tickets, channel accounts and routing rules of the team stay; their team becomes empty (SET_NULL)."""
    audit_record(municipality=team.municipality, actor=actor, action="team.deleted", target=team,
                 changes={"name": [team.name, None], "members": [_member_names(team.members.all()), []]})
    team.delete()
