"""Writes: channel accounts. Config is validated by the plugin's form; secrets are encrypted."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _

from omnidesk.audit.services import audit_record, diff
from omnidesk.channel_accounts.models import ChannelAccount, ChannelSchedule
from omnidesk.channel_accounts.secrets import decrypt_secrets, encrypt_secrets
from omnidesk.plugin_api.registry import UnknownPlugin, get_adapter
from omnidesk.tenants.models import Municipality, Team

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
    team: Team | None = None, actor: Any = None,
) -> ChannelAccount:
    """`actor`: who did it, for the audit log (None: the system or a command-line operator)."""
    clean_config, secrets = _validated(plugin_key, config, {})
    if ChannelAccount.objects.filter(municipality=municipality, name=name).exists():
        # Refused like invalid config, so callers (addchannel, settings pages) answer it instead of crashing.
        raise ValidationError({"name": [_("This municipality has a channel named %(name)r already.") % {"name": name}]})
    _check_team(municipality, team)
    account = ChannelAccount.objects.create(
        municipality=municipality,
        plugin_key=plugin_key,
        name=name,
        enabled=enabled,
        disabled_at=None if enabled else timezone.now(),
        team=team,
        config=clean_config,
        encrypted_secrets=encrypt_secrets(secrets),
    )
    extra = {"team": team.name} if team else {}
    audit_record(municipality=municipality, actor=actor, action="channel.created", target=account,
                 changes=diff({}, {"plugin": plugin_key, "enabled": enabled, **extra, **clean_config, **secrets},
                              secrets=set(secrets)))
    return account


def _check_team(municipality: Municipality, team: Team | None) -> None:
    if team is not None and team.municipality_id != municipality.pk:
        raise ValidationError({"team": [_("Choose a team of this municipality.")]})


@transaction.atomic
def channel_account_update(
    *, account: ChannelAccount, name: str, team: Team | None, sunset_reply_nl: str, sunset_reply_en: str,
    sunset_period_days: int, actor: Any,
) -> ChannelAccount:
    """The account's own settings (not the plugin's config: channel_account_update_config)."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": [_("Enter a name.")]})
    if ChannelAccount.objects.filter(municipality_id=account.municipality_id, name=name).exclude(pk=account.pk).exists():
        raise ValidationError({"name": [_("This municipality has a channel named %(name)r already.") % {"name": name}]})
    _check_team(account.municipality, team)
    if sunset_period_days < 1:
        raise ValidationError({"sunset_period_days": [_("Enter at least one day.")]})
    fields = {"name": name, "team": team, "sunset_reply_nl": sunset_reply_nl, "sunset_reply_en": sunset_reply_en,
              "sunset_period_days": sunset_period_days}
    old = {field: getattr(account, field) for field in fields}
    for field, value in fields.items():
        setattr(account, field, value)
    account.save(update_fields=list(fields))

    def shown(values: dict[str, Any]) -> dict[str, Any]:  # the audit log stores JSON: a team by its name
        return {**values, "team": values["team"].name if values["team"] else None}

    changes = diff(shown(old), shown(fields))
    if changes:
        audit_record(municipality=account.municipality, actor=actor, action="channel.updated", target=account,
                     changes=changes)
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
def channel_account_set_enabled(
    *, account: ChannelAccount, enabled: bool, actor: Any = None, scheduled_at: datetime | None = None
) -> ChannelAccount:
    """Switch the account on or off at once (switched off: no new tickets, sends refused, sunset replies).

    `scheduled_at`: the time of the ChannelSchedule this carries out, recorded in the audit log.
    """
    from omnidesk.realtime.services import publish

    # Locked and read from the database: two admins (or an admin and the schedule task) switching at the same
    # moment give one change and one audit entry, not two.
    current = ChannelAccount.objects.select_for_update().filter(pk=account.pk).values_list("enabled", flat=True).first()
    if current == enabled:
        account.enabled = enabled
        return account
    from omnidesk.sunset.services import sunset_consents_carry_over

    switched_off_since = account.disabled_at
    account.enabled = enabled
    account.disabled_at = None if enabled else timezone.now()
    account.save(update_fields=["enabled", "disabled_at"])
    if enabled:  # STOPs sent to the closed number hold from now on
        sunset_consents_carry_over(account, switched_off_since)
    changes: dict[str, list[Any]] = {"enabled": [not enabled, enabled]}
    if scheduled_at is not None:
        changes["scheduled"] = [None, scheduled_at.isoformat()]
    audit_record(municipality=account.municipality, actor=actor,
                 action="channel.enabled" if enabled else "channel.disabled", target=account, changes=changes)
    publish(municipality_id=account.municipality_id, type="channel.state",
            payload={"channel_account_id": account.pk, "enabled": enabled})
    return account


@transaction.atomic
def channel_schedule_create(
    *, account: ChannelAccount, at: datetime, enable: bool, actor: Any, now: datetime | None = None
) -> ChannelSchedule:
    """Plan a switch on or off; `apply_due_schedules` carries it out once `at` has come."""
    if at <= (now or timezone.now()):
        raise ValidationError({"at": [_("Choose a moment in the future.")]})
    schedule = ChannelSchedule.objects.create(account=account, at=at, enable=enable,
                                              created_by=actor if getattr(actor, "pk", None) else None)
    audit_record(municipality=account.municipality, actor=actor, action="channel.schedule_created", target=account,
                 changes={"at": [None, at.isoformat()], "enabled": [None, enable]})
    return schedule


@transaction.atomic
def channel_schedule_cancel(*, schedule: ChannelSchedule, actor: Any) -> ChannelSchedule:
    # Locked: the schedule task may be applying it this very moment (it skips locked rows, so one of us wins).
    locked = ChannelSchedule.objects.select_for_update().select_related("account__municipality").get(pk=schedule.pk)
    if locked.applied_at or locked.cancelled_at:
        raise ValidationError(_("This switch has already been carried out or cancelled."))
    locked.cancelled_at = timezone.now()
    locked.save(update_fields=["cancelled_at"])
    audit_record(municipality=locked.account.municipality, actor=actor, action="channel.schedule_cancelled",
                 target=locked.account, changes={"at": [locked.at.isoformat(), None], "enabled": [locked.enable, None]})
    return locked


def apply_due_schedules(now: datetime | None = None) -> int:
    """Carry out every planned switch whose time has come; returns how many. Safe to run concurrently and again."""
    now = now or timezone.now()
    applied = 0
    while True:
        # One schedule per transaction, oldest first (off at 9, on at 10: on wins); rows another runner holds
        # are skipped, and an applied one is no longer due, so nothing is switched twice.
        with transaction.atomic():
            schedule = (ChannelSchedule.objects.select_for_update(skip_locked=True, of=("self",))
                        .filter(at__lte=now, applied_at__isnull=True, cancelled_at__isnull=True)
                        .select_related("account__municipality").order_by("at", "pk").first())
            if schedule is None:
                return applied
            channel_account_set_enabled(account=schedule.account, enabled=schedule.enable, actor=None,
                                        scheduled_at=schedule.at)
            schedule.applied_at = timezone.now()
            schedule.save(update_fields=["applied_at"])
            applied += 1


def channel_account_remove(*, account: ChannelAccount, actor: Any) -> None:
    """Delete an account that never carried a ticket; one that did stays (its tickets need it): switch it off."""
    refusal = ValidationError(_("This channel has tickets, so it cannot be removed. Switch it off instead: "
                                "no new tickets arrive and residents get the sunset reply."), code="has_tickets")
    if account.tickets.exists():
        raise refusal
    try:
        with transaction.atomic():
            audit_record(municipality=account.municipality, actor=actor, action="channel.removed", target=account,
                         changes={"name": [account.name, None], "plugin": [account.plugin_key, None]})
            account.delete()
    except (ProtectedError, RestrictedError):
        raise refusal from None  # a ticket arrived since the check


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
