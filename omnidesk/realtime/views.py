"""HTTP catch-up for dashboards whose websocket missed events: `?since=<seq>` (protocol 2) or `?after=<id>` (1)."""
from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from omnidesk.realtime.selectors import events_after, events_since
from omnidesk.tenants.access import member_required


@member_required
def catch_up(request: HttpRequest) -> JsonResponse:
    municipality_id = request.membership.municipality_id  # type: ignore[attr-defined]
    key = "since" if "since" in request.GET else "after"
    try:
        position = max(0, int(request.GET.get(key, "0")))
    except ValueError:
        return JsonResponse({"error": f"invalid_{key}", "detail": f"`{key}` must be a number."}, status=400)
    if key == "since":
        result = events_since(municipality_id=municipality_id, since=position)
        return JsonResponse({"events": result.events, "more": result.more, "head": result.head})
    return JsonResponse({"events": events_after(municipality_id=municipality_id, after_id=position)})
