"""HTTP catch-up for dashboards whose websocket missed events."""
from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from omnidesk.realtime.selectors import events_after
from omnidesk.tenants.access import member_required


@member_required
def catch_up(request: HttpRequest) -> JsonResponse:
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        return JsonResponse({"error": "invalid_after", "detail": "`after` must be an event id."}, status=400)
    frames = events_after(municipality_id=request.membership.municipality_id, after_id=after)  # type: ignore[attr-defined]
    return JsonResponse({"events": frames})
