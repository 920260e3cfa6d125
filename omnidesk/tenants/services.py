"""Writes: municipalities and agents."""
from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import transaction

from omnidesk.tenants.models import Membership, Municipality, Role


def municipality_create(*, slug: str, name: str) -> Municipality:
    return Municipality.objects.create(slug=slug, name=name)


def generate_password() -> str:
    return secrets.token_urlsafe(15)


@transaction.atomic
def agent_create(
    *, municipality: Municipality, username: str, role: Role, password: str | None = None, full_name: str = ""
) -> tuple[AbstractUser, str]:
    """Create (or add) a user with a role in the municipality; returns the user and the password set."""
    password = password or generate_password()
    user_model = get_user_model()
    user, _created = user_model.objects.get_or_create(username=username)
    if full_name:
        first, _sep, last = full_name.partition(" ")
        user.first_name, user.last_name = first, last
    user.set_password(password)
    user.save()
    Membership.objects.update_or_create(user=user, municipality=municipality, defaults={"role": role})
    return user, password
