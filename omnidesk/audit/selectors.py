"""Reads: a municipality's audit log, newest first."""
from __future__ import annotations

from django.db.models import QuerySet

from omnidesk.audit.models import AuditEntry
from omnidesk.tenants.models import Municipality


def audit_log(municipality: Municipality) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(municipality=municipality).order_by("-created_at", "-id")
