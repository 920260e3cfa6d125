"""Reads about channel accounts, and the AccountContext handed to plugins."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.secrets import MASK, decrypt_secrets
from omnidesk.plugin_api.events import AccountContext
from omnidesk.plugin_api.registry import UnknownPlugin, get_adapter
from omnidesk.tenants.models import Municipality


def accounts_of(municipality: Municipality) -> QuerySet[ChannelAccount]:
    return ChannelAccount.objects.filter(municipality=municipality)


def account_by_public_id(public_id: str) -> ChannelAccount | None:
    return ChannelAccount.objects.filter(public_id=public_id).select_related("municipality").first()


def webhook_url(account: ChannelAccount) -> str:
    return settings.PUBLIC_URL + reverse("inbound:webhook", kwargs={"public_id": account.public_id})


def account_context(account: ChannelAccount) -> AccountContext:
    return AccountContext(
        public_id=account.public_id,
        name=account.name,
        municipality_slug=account.municipality.slug,
        config={**account.config, **decrypt_secrets(account.encrypted_secrets)},
        webhook_url=webhook_url(account),
    )


def masked_config(account: ChannelAccount) -> dict[str, Any]:
    """The config as it may be shown anywhere: secrets replaced by a mask (or empty when unset)."""
    try:
        secret_names = get_adapter(account.plugin_key).config_form.secret_field_names()
    except UnknownPlugin:
        secret_names = frozenset()
    stored = decrypt_secrets(account.encrypted_secrets)
    shown = dict(account.config)
    for name in secret_names | set(stored):
        shown[name] = MASK if stored.get(name) else ""
    return shown
