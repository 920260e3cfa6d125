"""Which web origins may use an account's widget: its allow-list, plus Omnidesk's own (the widget's panel)."""
from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from omnidesk.plugin_api import AccountContext


def own_origin() -> str:
    parts = urlsplit(settings.PUBLIC_URL)
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed(account: AccountContext, origin: str) -> bool:
    origin = (origin or "").strip().lower().rstrip("/")
    return bool(origin) and (origin == own_origin() or origin in account.config.get("allowed_origins", []))
