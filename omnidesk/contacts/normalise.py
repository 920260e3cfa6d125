"""Canonical forms of resident addresses, so one resident is one contact across channels."""
from __future__ import annotations

from functools import lru_cache

import phonenumbers

from omnidesk.plugin_api.events import IdentityKind, IdentityRef

DEFAULT_REGION = "NL"


class InvalidIdentity(ValueError):
    pass


@lru_cache(maxsize=65_536)  # parsing costs ~0.1 ms; a webhook and its drain each normalise the same few residents
def normalise_phone(raw: str) -> str:
    """E.164, with the Dutch region for national numbers ("06 1234 5678" -> "+31612345678")."""
    candidate = raw.strip()
    if candidate.isdigit() and not candidate.startswith("0"):
        candidate = "+" + candidate  # WhatsApp's wa_id is E.164 without the plus
    try:
        number = phonenumbers.parse(candidate, DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentity(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidIdentity(f"not a possible phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    value = raw.strip().lower()
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain:
        raise InvalidIdentity(f"not an email address: {raw!r}")
    return value


def normalise(identity: IdentityRef) -> IdentityRef:
    kind = IdentityKind(identity.kind)
    if kind is IdentityKind.PHONE:
        return IdentityRef(kind, normalise_phone(identity.value))
    if kind is IdentityKind.EMAIL:
        return IdentityRef(kind, normalise_email(identity.value))
    value = identity.value.strip()
    if not value or len(value) > 320:
        raise InvalidIdentity(f"empty or over-long {kind.value} identity")
    return IdentityRef(kind, value)
