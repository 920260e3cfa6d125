"""Who is chatting: a server-signed visitor token, kept by the widget across page loads.

Anonymous visitors get a random visitor id; a resident portal can vouch for a logged-in resident's email address
with an HMAC-SHA256 under the account's identity secret, so their chat joins their other tickets.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.core import signing

from omnidesk.plugin_api import IdentityKind, IdentityRef

SALT = "omnidesk.livechat.visitor"
VISITOR_PREFIX = "livechat-"
MAX_AGE_SECONDS = 180 * 24 * 3600  # a visitor who comes back within half a year sees their history


@dataclass(frozen=True)
class Visitor:
    key: str  # stable per visitor: the group their socket joins, part of their messages' ids
    identity: IdentityRef


def new_visitor_token(public_id: str) -> str:
    return signing.dumps({"a": public_id, "k": "visitor", "v": secrets.token_hex(16)}, salt=SALT, compress=True)


def verified_token(public_id: str, email: str) -> str:
    return signing.dumps({"a": public_id, "k": "email", "v": email.strip().lower()}, salt=SALT, compress=True)


def visitor_for(public_id: str, token: str) -> Visitor | None:
    """The visitor a token names, if it was signed by us for this account."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("a") != public_id or not isinstance(data.get("v"), str):
        return None
    if data.get("k") == "email":
        identity = IdentityRef(IdentityKind.EMAIL, data["v"])
    elif data.get("k") == "visitor" and len(data["v"]) == 32:
        identity = IdentityRef(IdentityKind.VISITOR, f"{VISITOR_PREFIX}{data['v']}")
    else:
        return None
    return Visitor(key_for(identity), identity)


def key_for(identity: IdentityRef) -> str:
    """A short, stable, group-name-safe key per visitor (never the email address itself)."""
    if identity.kind == IdentityKind.EMAIL:
        return "e" + hashlib.sha256(identity.value.strip().lower().encode()).hexdigest()[:24]
    return "v" + identity.value.removeprefix(VISITOR_PREFIX)


def identity_hash(secret: str, user: str) -> str:
    return hmac.new(secret.encode(), user.strip().lower().encode(), hashlib.sha256).hexdigest()


def vouched(secret: str, user: str, given_hash: str) -> bool:
    """The portal's HMAC over the (lower-cased) email address, compared in constant time."""
    return bool(secret and user and given_hash) and hmac.compare_digest(identity_hash(secret, user), given_hash.lower())


def visitor_group(public_id: str, visitor_key: str) -> str:
    return f"livechat.{public_id[:40]}.{visitor_key}"
