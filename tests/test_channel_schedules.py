"""Planned switches: an admin plans a channel to go off (or on) at a moment; the beat task carries it out once."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.messages import constants as message_levels
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from omnidesk.audit.models import AuditEntry
from omnidesk.channel_accounts.models import ChannelAccount, ChannelSchedule
from omnidesk.channel_accounts.services import apply_due_schedules, channel_schedule_cancel, channel_schedule_create
from omnidesk.channel_accounts.tasks import apply_channel_schedules
from omnidesk.realtime.models import Event
from tests.conftest import run_at_once
from tests.factories import MunicipalityFactory, sandbox_account


def _due(account: ChannelAccount, *, enable: bool, minutes_ago: int = 1, actor=None) -> ChannelSchedule:  # type: ignore[no-untyped-def]
    """A schedule whose time has come: planned (through the service) an hour before it."""
    at = timezone.now() - timedelta(minutes=minutes_ago)
    return channel_schedule_create(account=account, at=at, enable=enable, actor=actor, now=at - timedelta(hours=1))


def test_planning_through_the_page_reads_the_installations_time_zone(client, municipality, municipal_admin, account):
    client.force_login(municipal_admin)
    response = client.post(reverse("settings:channel-schedule", args=[account.pk]),
                           {"at": "2099-06-01T09:00", "enable": "0"})
    assert response.status_code == 302 and response["Location"] == reverse("settings:channel-edit", args=[account.pk])
    schedule = ChannelSchedule.objects.get(account=account)
    assert schedule.at == datetime(2099, 6, 1, 9, 0, tzinfo=ZoneInfo(settings.TIME_ZONE))
    assert (schedule.enable, schedule.created_by, schedule.applied_at) == (False, municipal_admin, None)
    entry = AuditEntry.objects.get(action="channel.schedule_created")
    assert (entry.actor, entry.target_id) == (municipal_admin, str(account.pk))
    assert entry.changes["enabled"] == [None, False]
    page = client.get(reverse("settings:channel-edit", args=[account.pk])).content.decode()
    assert f'data-schedule="{schedule.pk}"' in page and 'datetime="2099-06-01T09:00:00+02:00"' in page


def test_a_moment_in_the_past_is_refused(client, municipality, municipal_admin, account):
    client.force_login(municipal_admin)
    url = reverse("settings:channel-schedule", args=[account.pk])
    past = (timezone.localtime() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    for data in ({"at": past, "enable": "0"}, {"at": "2001-01-01T10:00", "enable": "1"}, {"at": "morgen", "enable": "1"}):
        response = client.post(url, data)
        assert response.status_code == 200 and 'id="id_at_error"' in response.content.decode(), data
    assert not ChannelSchedule.objects.exists()
    assert not AuditEntry.objects.filter(action="channel.schedule_created").exists()
    with pytest.raises(ValidationError) as refused:
        channel_schedule_create(account=account, at=timezone.now() - timedelta(seconds=1), enable=False,
                                actor=municipal_admin)
    assert "at" in refused.value.message_dict


def test_a_due_schedule_switches_the_account_once(municipality, municipal_admin, account):
    schedule = _due(account, enable=False, actor=municipal_admin)
    assert apply_due_schedules() == 1
    account.refresh_from_db()
    schedule.refresh_from_db()
    assert account.enabled is False and account.disabled_at is not None and schedule.applied_at is not None
    entry = AuditEntry.objects.get(action="channel.disabled")
    assert entry.actor is None and entry.target_id == str(account.pk)  # the system did it, as planned
    assert entry.changes == {"enabled": [True, False], "scheduled": [None, schedule.at.isoformat()]}
    assert Event.objects.filter(type="channel.state", payload__enabled=False).count() == 1

    applied_at = schedule.applied_at
    assert apply_due_schedules() == 0  # again: nothing more
    schedule.refresh_from_db()
    assert schedule.applied_at == applied_at
    assert AuditEntry.objects.filter(action__in=["channel.disabled", "channel.enabled"]).count() == 1


def test_a_schedule_waits_for_its_moment(account):
    at = timezone.now() + timedelta(hours=2)
    schedule = channel_schedule_create(account=account, at=at, enable=False, actor=None)
    assert apply_due_schedules() == 0
    assert apply_due_schedules(now=at - timedelta(seconds=1)) == 0
    account.refresh_from_db()
    assert account.enabled is True
    assert apply_due_schedules(now=at) == 1
    account.refresh_from_db()
    schedule.refresh_from_db()
    assert account.enabled is False and schedule.applied_at is not None


def test_due_schedules_are_applied_in_order(account):
    off = _due(account, enable=False, minutes_ago=10)
    on = _due(account, enable=True, minutes_ago=5)
    assert apply_due_schedules() == 2
    account.refresh_from_db()
    assert account.enabled is True and account.disabled_at is None
    entries = list(AuditEntry.objects.filter(action__in=["channel.disabled", "channel.enabled"]).order_by("id"))
    assert [(e.action, e.changes["scheduled"][1]) for e in entries] == [
        ("channel.disabled", off.at.isoformat()), ("channel.enabled", on.at.isoformat())]


def test_a_cancelled_schedule_is_never_applied(client, municipality, municipal_admin, account):
    schedule = _due(account, enable=False)
    client.force_login(municipal_admin)
    response = client.post(reverse("settings:channel-schedule-cancel", args=[account.pk, schedule.pk]),
                           {"back": "list"})
    assert response.status_code == 302 and response["Location"] == reverse("settings:channels")
    schedule.refresh_from_db()
    assert schedule.cancelled_at is not None
    entry = AuditEntry.objects.get(action="channel.schedule_cancelled")
    assert (entry.actor, entry.target_id) == (municipal_admin, str(account.pk))
    assert apply_due_schedules(now=timezone.now() + timedelta(days=365)) == 0
    account.refresh_from_db()
    schedule.refresh_from_db()
    assert account.enabled is True and schedule.applied_at is None
    page = client.get(reverse("settings:channels")).content.decode()
    assert f'data-schedule="{schedule.pk}"' not in page


def test_an_applied_schedule_cannot_be_cancelled(client, municipal_admin, account):
    schedule = _due(account, enable=False)
    apply_due_schedules()
    client.force_login(municipal_admin)
    response = client.post(reverse("settings:channel-schedule-cancel", args=[account.pk, schedule.pk]), follow=True)
    assert [m.level for m in response.context["messages"]] == [message_levels.ERROR]
    schedule.refresh_from_db()
    assert schedule.cancelled_at is None
    assert not AuditEntry.objects.filter(action="channel.schedule_cancelled").exists()
    with pytest.raises(ValidationError):
        channel_schedule_cancel(schedule=schedule, actor=municipal_admin)


def test_a_schedule_for_the_state_the_account_has_changes_nothing(account):
    schedule = _due(account, enable=True)
    assert apply_due_schedules() == 1
    schedule.refresh_from_db()
    assert schedule.applied_at is not None
    assert not AuditEntry.objects.filter(action__in=["channel.disabled", "channel.enabled"]).exists()


def test_the_beat_task_applies_due_schedules_of_every_municipality(municipality, account):
    other = sandbox_account(MunicipalityFactory(), name="Elders")
    _due(account, enable=False)
    _due(other, enable=False)
    assert apply_channel_schedules.apply().get() == 2
    assert not ChannelAccount.objects.filter(enabled=True).exists()
    assert apply_channel_schedules.apply().get() == 0
    entry = settings.CELERY_BEAT_SCHEDULE["apply-channel-schedules"]
    assert entry["task"] == apply_channel_schedules.name == "omnidesk.channel_accounts.tasks.apply_channel_schedules"


def test_two_runners_at_once_switch_an_account_once(transactional_db):
    municipality = MunicipalityFactory()
    accounts = [sandbox_account(municipality, name=f"Kanaal {n}") for n in range(5)]
    for account in accounts:
        _due(account, enable=False)
    results = run_at_once(apply_due_schedules, [[], [], []])
    assert sum(results) == 5
    assert ChannelSchedule.objects.filter(applied_at__isnull=False).count() == 5
    assert AuditEntry.objects.filter(action="channel.disabled").count() == 5
    assert not ChannelAccount.objects.filter(enabled=True).exists()
