"""Reads about municipalities, memberships, invitations and teams."""
from __future__ import annotations

import hashlib
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from omnidesk.tenants.models import Invitation, Membership, Municipality, Role, Team


def memberships_of(user: AbstractBaseUser | AnonymousUser) -> list[Membership]:
    if not user.is_authenticated:
        return []
    return list(Membership.objects.filter(user=user).select_related("municipality").order_by("municipality__name"))


def membership_for(user: AbstractBaseUser | AnonymousUser, municipality_id: int) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, municipality_id=municipality_id).select_related("municipality").first()


def municipality_by_slug(slug: str) -> Municipality | None:
    return Municipality.objects.filter(slug=slug).first()


# --- people: members, invitations, teams (the admin's settings pages) ---------------------------------------------
def user_matches_email(user: AbstractBaseUser | AnonymousUser, email: str) -> bool:
    """Is this the person an invitation to `email` is for? Accounts made by `createagent` often carry the address
    only as their username, so either field counts."""
    if not user.is_authenticated:
        return False
    wanted = email.strip().lower()
    return wanted in {(getattr(user, "email", "") or "").lower(), user.get_username().lower()}


def users_with_email(email: str) -> QuerySet[AbstractBaseUser]:
    return get_user_model().objects.filter(Q(email__iexact=email.strip()) | Q(username__iexact=email.strip()))


def members_of(municipality: Municipality) -> QuerySet[Membership]:
    """The municipality's memberships with their users and, per user, only this municipality's teams."""
    return (
        Membership.objects.filter(municipality=municipality)
        .select_related("user")
        .prefetch_related(Prefetch("user__teams", queryset=Team.objects.filter(municipality=municipality),
                                   to_attr="municipality_teams"))
        .order_by("user__first_name", "user__last_name", "user__username")
    )


def membership_in(municipality: Municipality, membership_id: int) -> Membership | None:
    return Membership.objects.filter(municipality=municipality, pk=membership_id).select_related("user").first()


def member_users(municipality: Municipality) -> QuerySet[AbstractBaseUser]:
    return get_user_model().objects.filter(memberships__municipality=municipality).order_by(
        "first_name", "last_name", "username")


def is_member_email(municipality: Municipality, email: str) -> bool:
    return users_with_email(email).filter(memberships__municipality=municipality).exists()


def admin_count(municipality: Municipality) -> int:
    return Membership.objects.filter(municipality=municipality, role=Role.ADMIN).count()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_is_usable(invitation: Invitation, *, at: datetime | None = None) -> bool:
    at = at or timezone.now()
    return invitation.accepted_at is None and invitation.revoked_at is None and invitation.expires_at > at


def invitation_by_token(token: str) -> Invitation | None:
    """The invitation a link's token stands for, usable or not; the token itself is never stored."""
    return Invitation.objects.filter(token_hash=token_hash(token)).select_related("municipality").first()


def open_invitations(municipality: Municipality) -> QuerySet[Invitation]:
    """Neither accepted nor revoked; an expired one stays listed (marked) until it is resent or revoked."""
    return (Invitation.objects.filter(municipality=municipality, accepted_at__isnull=True, revoked_at__isnull=True)
            .select_related("invited_by").order_by("email"))


def pending_invitation_exists(municipality: Municipality, email: str) -> bool:
    return open_invitations(municipality).filter(email__iexact=email.strip(), expires_at__gt=timezone.now()).exists()


def invitation_in(municipality: Municipality, invitation_id: int) -> Invitation | None:
    return Invitation.objects.filter(municipality=municipality, pk=invitation_id).first()


def teams_of(municipality: Municipality) -> QuerySet[Team]:
    return Team.objects.filter(municipality=municipality).prefetch_related(
        Prefetch("members", queryset=get_user_model().objects.order_by("first_name", "last_name", "username")))


def team_in(municipality: Municipality, team_id: int) -> Team | None:
    return Team.objects.filter(municipality=municipality, pk=team_id).first()


def team_name_taken(municipality: Municipality, name: str, *, except_team: Team | None = None) -> bool:
    teams = Team.objects.filter(municipality=municipality, name__iexact=name.strip())
    if except_team is not None:
        teams = teams.exclude(pk=except_team.pk)
    return teams.exists()
