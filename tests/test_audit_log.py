"""The audit log: who switched a channel on or off or changed its settings, when; secrets redacted; admins only."""
from __future__ import annotations

import csv
import io

from omnidesk.audit.models import AuditEntry
from omnidesk.channel_accounts.services import (
    channel_account_create,
    channel_account_set_enabled,
    channel_account_update_config,
)
from omnidesk.tenants.models import Role
from tests.factories import MembershipFactory, MunicipalityFactory


def test_enable_disable_and_config_changes_are_recorded_with_actor_time_and_no_secret(municipality):
    admin = MembershipFactory(municipality=municipality, role=Role.ADMIN).user
    account = channel_account_create(municipality=municipality, plugin_key="sandbox", name="Proef",
                                     config={"signing_secret": "zeer-geheim-1234567890"}, actor=admin)
    channel_account_set_enabled(account=account, enabled=False, actor=admin)
    channel_account_set_enabled(account=account, enabled=False, actor=admin)  # no change, no entry
    channel_account_update_config(account=account, config={"signing_secret": "nieuw-geheim-0987654321",
                                                           "welcome_text": "Welkom"}, actor=admin)
    entries = list(AuditEntry.objects.order_by("id"))
    assert [e.action for e in entries] == ["channel.created", "channel.disabled", "channel.config_changed"]
    assert all(e.actor == admin and e.municipality == municipality and e.created_at for e in entries)
    assert entries[1].changes == {"enabled": [True, False]}
    assert entries[2].changes["signing_secret"] == ["••••", "••••"]
    assert entries[2].changes["welcome_text"] == ["", "Welkom"]
    dump = str([e.changes for e in entries])
    assert "geheim" not in dump


def test_only_the_municipality_admin_sees_and_exports_its_own_log(client, municipality):
    admin = MembershipFactory(municipality=municipality, role=Role.ADMIN).user
    agent = MembershipFactory(municipality=municipality, role=Role.AGENT).user
    supervisor = MembershipFactory(municipality=municipality, role=Role.SUPERVISOR).user
    other = MunicipalityFactory()
    theirs = channel_account_create(municipality=other, plugin_key="sandbox", name="Van de buren", config={})
    ours = channel_account_create(municipality=municipality, plugin_key="sandbox", name="Eigen", config={}, actor=admin)
    channel_account_set_enabled(account=ours, enabled=False, actor=admin)
    channel_account_set_enabled(account=theirs, enabled=False)

    for user in (agent, supervisor):
        client.force_login(user)
        assert client.get("/audit/").status_code == 403
        assert client.get("/audit/export.csv").status_code == 403
    client.force_login(admin)
    page = client.get("/audit/").content.decode()
    assert "channel.disabled" in page and "Eigen" in page and "Van de buren" not in page
    export = client.get("/audit/export.csv")
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0][:3] == ["time", "actor", "action"]
    assert [r[2] for r in rows[1:]] == ["channel.disabled", "channel.created"]
    assert all(r[5] != "Van de buren" for r in rows[1:])


def test_switching_a_channel_off_in_the_admin_is_audited(client, municipality):
    from tests.factories import UserFactory

    staff = UserFactory(is_staff=True, is_superuser=True)
    account = channel_account_create(municipality=municipality, plugin_key="sandbox", name="Proef", config={})
    client.force_login(staff)
    response = client.post(f"/admin/channel_accounts/channelaccount/{account.pk}/change/",
                           {"name": "Proef", "enabled": ""})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.enabled is False
    entry = AuditEntry.objects.get(action="channel.disabled")
    assert entry.actor == staff and entry.target_id == str(account.pk)
