"""Writes: one audit entry per admin action. Secret values never enter the log, only that they changed."""
from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from omnidesk.audit.models import AuditEntry
from omnidesk.tenants.models import Municipality

REDACTED = "••••"


def diff(old: Mapping[str, Any], new: Mapping[str, Any], *, secrets: Collection[str] = ()) -> dict[str, list[Any]]:
    """{field: [old, new]} for what changed; a secret shows only that it was set or changed."""
    changes: dict[str, list[Any]] = {}
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if key in secrets:
            changes[key] = [REDACTED if before else "", REDACTED if after else ""]
        else:
            changes[key] = [before, after]
    return changes


def audit_record(
    *, municipality: Municipality | None, actor: Any, action: str, target: Any, changes: dict[str, list[Any]] | None = None
) -> AuditEntry:
    from omnidesk.tickets.presenters import user_name

    return AuditEntry.objects.create(
        municipality=municipality,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=user_name(actor) if actor is not None else "",
        action=action,
        target_type=type(target).__name__,
        target_id=str(getattr(target, "pk", "") or ""),
        target_label=str(target)[:200],
        changes=changes or {},
    )
