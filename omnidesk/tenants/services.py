"""Writes: municipalities and agents."""
from __future__ import annotations

import secrets
from typing import Any

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
