"""Writes: channel accounts. Config is validated by the plugin's form; secrets are encrypted."""
from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from omnidesk.audit.services import audit_record, diff
from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.secrets import decrypt_secrets, encrypt_secrets
from omnidesk.plugin_api.registry import UnknownPlugin, get_adapter
from omnidesk.tenants.models import Municipality

logger = logging.getLogger(__name__)


def _validated(plugin_key: str, raw: dict[str, Any], current_secrets: dict[str, Any]) -> tuple[dict, dict]:
    try:
        form_class = get_adapter(plugin_key).config_form
    except UnknownPlugin:
        raise ValidationError({"plugin_key": f"Unknown channel plugin {plugin_key!r}."}) from None
    secret_names = form_class.secret_field_names()
    # An empty secret keeps the stored one, so forms never need to show it.
    # (The kept values go last: a form posts an empty field as "", which must not override them.)
    data = {**raw, **{k: v for k, v in current_secrets.items() if not raw.get(k)}}
    form = form_class(data=data)
    if not form.is_valid():
        raise ValidationError({field: [str(e) for e in errors] for field, errors in form.errors.items()})
    cleaned = form.cleaned_data
    config = {k: v for k, v in cleaned.items() if k not in secret_names}
    secrets = {k: v for k, v in cleaned.items() if k in secret_names and v}
    return config, secrets


@transaction.atomic
def channel_account_create(
    *, municipality: Municipality, plugin_key: str, name: str, config: dict[str, Any], enabled: bool = True,
    actor: Any = None,
) -> ChannelAccount:
    """`actor`: who did it, for the audit log (None: the system or a command-line operator)."""
    clean_config, secrets = _validated(plugin_key, config, {})
    if ChannelAccount.objects.filter(municipality=municipality, name=name).exists():
        # Refused like invalid config, so callers (addchannel, settings pages) answer it instead of crashing.
        raise ValidationError({"name": [f"This municipality has a channel named {name!r} already."]})
    account = ChannelAccount.objects.create(
        municipality=municipality,
        plugin_key=plugin_key,
        name=name,
        enabled=enabled,
        config=clean_config,
        encrypted_secrets=encrypt_secrets(secrets),
    )
    audit_record(municipality=municipality, actor=actor, action="channel.created", target=account,
                 changes=diff({}, {"plugin": plugin_key, "enabled": enabled, **clean_config, **secrets},
                              secrets=set(secrets)))
    return account


@transaction.atomic
def channel_account_update_config(*, account: ChannelAccount, config: dict[str, Any], actor: Any = None) -> ChannelAccount:
    old_secrets = decrypt_secrets(account.encrypted_secrets)
    clean_config, secrets = _validated(account.plugin_key, config, old_secrets)
    changes = diff({**account.config, **old_secrets}, {**clean_config, **secrets},
                   secrets=set(old_secrets) | set(secrets))
    account.config = clean_config
    account.encrypted_secrets = encrypt_secrets(secrets)
    account.save(update_fields=["config", "encrypted_secrets"])
    if changes:
        audit_record(municipality=account.municipality, actor=actor, action="channel.config_changed", target=account,
                     changes=changes)
    return account


@transaction.atomic
def channel_account_set_enabled(*, account: ChannelAccount, enabled: bool, actor: Any = None) -> ChannelAccount:
    if account.enabled == enabled and account.pk and ChannelAccount.objects.filter(pk=account.pk,
                                                                                     enabled=enabled).exists():
        return account
    account.enabled = enabled
    account.save(update_fields=["enabled"])
    audit_record(municipality=account.municipality, actor=actor,
                 action="channel.enabled" if enabled else "channel.disabled", target=account,
                 changes={"enabled": [not enabled, enabled]})
    return account


def channel_account_flag(*, account: ChannelAccount, reason: str) -> None:
    """The provider says the account cannot work: show it to everyone until a send succeeds again."""
    from omnidesk.realtime.services import publish

    if account.problem == reason[:300]:
        return
    account.problem, account.problem_since = reason[:300], timezone.now()
    account.save(update_fields=["problem", "problem_since"])
    logger.error("channel account flagged", extra={"account": account.public_id, "plugin": account.plugin_key})
    from omnidesk.notifications.services import notify_channel_problem

    notify_channel_problem(account)
    publish(municipality_id=account.municipality_id, type="channel.problem",
            payload={"channel_account_id": account.pk, "name": account.name, "problem": account.problem})


def channel_account_clear_flag(*, account: ChannelAccount) -> None:
    from omnidesk.realtime.services import publish

    if not account.problem:
        return
    account.problem, account.problem_since = "", None
    account.save(update_fields=["problem", "problem_since"])
    publish(municipality_id=account.municipality_id, type="channel.problem",
            payload={"channel_account_id": account.pk, "name": account.name, "problem": ""})
