"""The municipality admin's view of the audit log, and its CSV export."""
from __future__ import annotations

import json
from collections.abc import Iterator

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from omnidesk.audit.selectors import audit_log
from omnidesk.ops.csv_export import streaming_csv
from omnidesk.tenants.access import role_required
from omnidesk.tenants.models import Role

PAGE_SIZE = 100


@role_required(Role.ADMIN)
def audit_list(request: HttpRequest) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    page = Paginator(audit_log(membership.municipality), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "audit/list.html", {"page": page, "municipality": membership.municipality})


@role_required(Role.ADMIN)
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    """All entries as CSV (streamed: a long log does not sit in memory)."""
    membership = request.membership  # type: ignore[attr-defined]

    def rows() -> Iterator[list[str]]:
        yield ["time", "actor", "action", "target_type", "target_id", "target", "changes"]
        for entry in audit_log(membership.municipality).iterator(chunk_size=500):
            yield [timezone.localtime(entry.created_at).isoformat(), entry.actor_name, entry.action,
                   entry.target_type, entry.target_id, entry.target_label,
                   json.dumps(entry.changes, ensure_ascii=False, default=str)]

    return streaming_csv(f"audit-{membership.municipality.slug}.csv", rows())
