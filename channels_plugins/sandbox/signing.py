"""The resident token: proof that a webhook call comes from a page this account handed out."""
from __future__ import annotations

import hashlib
import hmac


def resident_token(secret: str, resident_id: str) -> str:
    return hmac.new(secret.encode(), resident_id.encode(), hashlib.sha256).hexdigest()


def token_is_valid(secret: str, resident_id: str, token: str) -> bool:
    return bool(secret and resident_id) and hmac.compare_digest(resident_token(secret, resident_id), token)


def resident_group(public_id: str, resident_id: str) -> str:
    """The channel-layer group of one resident's open simulator pages."""
    return f"sandbox.{public_id}.{resident_id}"
