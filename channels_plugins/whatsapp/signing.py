"""Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed with the app secret>`."""
from __future__ import annotations

import hashlib
import hmac

from omnidesk.plugin_api import VerificationFailed

SIGNATURE_HEADER = "x-hub-signature-256"
PREFIX = "sha256="


def signature(app_secret: str, body: bytes) -> str:
    """The header value Meta sends for this body."""
    return PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(app_secret: str, body: bytes, header: str) -> None:
    """Raise VerificationFailed unless `header` signs exactly these bytes (compared in constant time)."""
    if not header:
        raise VerificationFailed("The X-Hub-Signature-256 header is missing.")
    if not app_secret:
        raise VerificationFailed("This account has no app secret to check signatures with.")
    if not header.startswith(PREFIX):
        raise VerificationFailed("The X-Hub-Signature-256 header is not of the form sha256=<hex>.")
    if not hmac.compare_digest(signature(app_secret, body).encode(), header.strip().lower().encode()):
        raise VerificationFailed("The X-Hub-Signature-256 signature does not match the body.")


def verify_token_matches(expected: str, received: str) -> bool:
    return bool(expected) and hmac.compare_digest(expected.encode(), received.encode())
