"""Reads about channel accounts, and the AccountContext handed to plugins."""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from omnidesk.channel_accounts.models import ChannelAccount, ChannelSchedule
from omnidesk.channel_accounts.secrets import MASK, decrypt_secrets
from omnidesk.plugin_api.capabilities import Capabilities
from omnidesk.plugin_api.events import AccountContext, ConnectionCheck
from omnidesk.plugin_api.registry import UnknownPlugin, get_adapter, get_registry
from omnidesk.tenants.models import Municipality

logger = logging.getLogger(__name__)


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


# --- settings pages ----------------------------------------------------------------------------
def pending_schedules(account: ChannelAccount) -> QuerySet[ChannelSchedule]:
    """Planned switches not yet carried out or cancelled, soonest first."""
    return account.schedules.filter(applied_at__isnull=True, cancelled_at__isnull=True).order_by("at", "pk")


def accounts_for_settings(municipality: Municipality) -> QuerySet[ChannelAccount]:
    """The municipality's accounts with their team and pending switches (as `pending`), for the settings list."""
    pending = ChannelSchedule.objects.filter(applied_at__isnull=True, cancelled_at__isnull=True).order_by("at", "pk")
    return (accounts_of(municipality).select_related("team")
            .prefetch_related(Prefetch("schedules", queryset=pending, to_attr="pending")).order_by("name"))


def schedule_of(account: ChannelAccount, schedule_id: int) -> ChannelSchedule | None:
    return account.schedules.filter(pk=schedule_id).first()


@dataclass(frozen=True)
class PluginInfo:
    key: str
    name: str
    features: tuple[str, ...]  # what the channel can do, from its declared capabilities
    installed: bool = True


def _features(capabilities: Capabilities) -> tuple[str, ...]:
    found = [
        (capabilities.webhooks and not capabilities.polling, _("Messages arrive through a webhook")),
        (capabilities.polling, _("Omnidesk fetches messages regularly")),
        (capabilities.attachments, _("Attachments")),
        (capabilities.templates, _("Message templates")),
        (capabilities.reply_window_hours is not None,
         _("Free replies within %(hours)s hours") % {"hours": capabilities.reply_window_hours}),
        (capabilities.threads, _("Conversations as threads")),
        (capabilities.read_receipts, _("Read receipts")),
        (capabilities.typing_indicators, _("Typing indicators")),
    ]
    return tuple(str(text) for present, text in found if present)


def plugin_info(plugin_key: str) -> PluginInfo:
    """Display name and features of an installed plugin; a plugin no longer installed keeps its key as name."""
    try:
        adapter = get_adapter(plugin_key)
    except UnknownPlugin:
        return PluginInfo(key=plugin_key, name=plugin_key, features=(), installed=False)
    return PluginInfo(key=plugin_key, name=str(adapter.verbose_name), features=_features(adapter.capabilities))


def installed_plugins() -> list[PluginInfo]:
    return sorted((plugin_info(key) for key in get_registry().adapters), key=lambda info: info.name.lower())


def receives_webhooks(account: ChannelAccount) -> bool:
    try:
        return get_adapter(account.plugin_key).capabilities.webhooks
    except UnknownPlugin:
        return False


def secret_values(account: ChannelAccount) -> list[str]:
    """The stored secret values, longest first: for removing them from text before it is shown."""
    return sorted((str(v) for v in decrypt_secrets(account.encrypted_secrets).values() if v), key=len, reverse=True)


def stored_secret_names(account: ChannelAccount) -> frozenset[str]:
    """Which secrets have a value (the edit page says so; never what the value is)."""
    return frozenset(name for name, value in decrypt_secrets(account.encrypted_secrets).items() if value)


def without_secrets(text: str, secrets: Iterable[str]) -> str:
    for value in secrets:
        text = text.replace(value, MASK)
    return text


def embed_code(account: ChannelAccount) -> str:
    """What the plugin asks the municipality to paste into its website ("" for none)."""
    try:
        adapter = get_adapter(account.plugin_key)
    except UnknownPlugin:
        return ""
    return without_secrets(adapter.embed_code(account_context(account)), secret_values(account))


def resident_page_url(account: ChannelAccount) -> str:
    try:
        adapter = get_adapter(account.plugin_key)
    except UnknownPlugin:
        return ""
    return adapter.resident_page_url(account_context(account))


def connection_check(account: ChannelAccount) -> ConnectionCheck:
    """Test the credentials against the provider. The detail never carries a stored secret, whatever the plugin says."""
    try:
        adapter = get_adapter(account.plugin_key)
    except UnknownPlugin:
        return ConnectionCheck(ok=False, detail=_("The channel plugin %(key)s is not installed.") % {"key": account.plugin_key})
    try:
        check = adapter.check_connection(account_context(account))
    except Exception as exc:  # a plugin bug must not become a server error on the settings page
        # Only the type: the message might quote a credential.
        logger.warning("connection check raised", extra={"plugin": account.plugin_key, "error": type(exc).__name__})
        return ConnectionCheck(ok=False, detail=_("The connection test failed unexpectedly (%(error)s).")
                               % {"error": type(exc).__name__})
    return ConnectionCheck(ok=check.ok, detail=without_secrets(str(check.detail), secret_values(account)))


def has_tickets(account: ChannelAccount) -> bool:
    """Tickets keep their account (PROTECT): such an account can be switched off, not removed."""
    return account.tickets.exists()
