"""Reads about municipalities and memberships."""
from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from omnidesk.tenants.models import Membership, Municipality


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
