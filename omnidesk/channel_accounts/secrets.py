"""Encryption at rest for channel secrets (Fernet; several keys allow rotation, the first encrypts)."""
from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

MASK = "••••••••"


class SecretsUnreadable(Exception):
    """The stored secrets cannot be decrypted with any configured key."""


def _fernet() -> MultiFernet:
    keys = list(settings.OMNIDESK["ENCRYPTION_KEYS"])
    if not keys:
        # Embedded default: derive a key from SECRET_KEY. Production sets OMNIDESK_ENCRYPTION_KEYS.
        digest = hashlib.sha256(f"omnidesk-secrets:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def encrypt_secrets(values: dict[str, str]) -> str:
    if not values:
        return ""
    return _fernet().encrypt(json.dumps(values).encode()).decode()


def decrypt_secrets(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise SecretsUnreadable("channel secrets cannot be decrypted with the configured keys") from exc


def rotate(token: str) -> str:
    """Re-encrypt under the newest key."""
    return _fernet().rotate(token.encode()).decode() if token else ""
