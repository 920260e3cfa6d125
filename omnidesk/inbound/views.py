"""The one webhook endpoint: /webhooks/<account public id>/, dispatched to the account's plugin."""
from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.inbound.journal import ingest_entry, inline, journal_append
from omnidesk.inbound.services import IngestReport, InvalidEvent, validate_events
from omnidesk.inbound.webhook_accounts import WebhookAccount, forget, webhook_account
from omnidesk.plugin_api.errors import MalformedPayload, VerificationFailed
from omnidesk.plugin_api.events import WebhookRequest, WebhookResult
from omnidesk.plugin_api.registry import UnknownPlugin, get_adapter
from omnidesk.sunset.services import sunset_events_record

logger = logging.getLogger(__name__)


def _error(status: int, code: str, detail: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": code, "detail": detail}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The raw body, or None when it exceeds the limit (checked before reading where the length is declared)."""
    declared = request.META.get("CONTENT_LENGTH")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def _webhook_request(request: HttpRequest, body: bytes) -> WebhookRequest:
    return WebhookRequest(
        method=request.method or "POST",
        url=settings.PUBLIC_URL + request.get_full_path(),
        headers={name.lower(): value for name, value in request.headers.items()},
        query={key: request.GET.get(key, "") for key in request.GET},
        body=body,
        content_type=request.content_type or "",
    )


def _switched_off(account: ChannelAccount, result: WebhookResult) -> HttpResponse:
    """A switched-off account: acknowledged so the provider stops retrying; no ticket, contact or message is made.

    Residents' messages are only counted, and answered once per period with where else to go (the sunset reply).
    """
    try:
        sunset_events_record(account=account, events=result.events)
    except InvalidEvent as exc:
        return _error(400, "invalid_event", str(exc))
    except DatabaseError:
        logger.exception("sunset record failed", extra={"account": account.public_id})
        return _error(503, "unavailable", "Temporarily unavailable; retry later.", **{"Retry-After": "30"})
    if result.response is not None:  # the answer the provider expects (e.g. empty TwiML)
        return HttpResponse(result.response.body, status=result.response.status, content_type=result.response.content_type)
    return JsonResponse({"status": "ignored", "reason": "channel_disabled"})


@csrf_exempt
def webhook(request: HttpRequest, public_id: str) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        return _error(405, "method_not_allowed", "Use POST (or GET for a subscription handshake).", Allow="GET, POST")
    try:
        # A handshake (GET) checks a token someone may have just changed: never from the cache.
        found = webhook_account(public_id, fresh=request.method == "GET")
    except DatabaseError:
        return _error(503, "unavailable", "Temporarily unavailable; retry later.", **{"Retry-After": "30"})
    if found is None:
        return _error(404, "unknown_account", "No channel account has this webhook address.")
    limit = settings.OMNIDESK["WEBHOOK_MAX_BYTES"]
    body = _read_body(request, limit)
    if body is None:
        return _error(413, "payload_too_large", f"The body exceeds the limit of {limit} bytes.")
    response = _accept(request, body, found)
    if response is None:  # the cached account was out of date: read it again and handle the webhook anew
        try:
            found = webhook_account(public_id, fresh=True)
        except DatabaseError:
            return _error(503, "unavailable", "Temporarily unavailable; retry later.", **{"Retry-After": "30"})
        if found is None:
            return _error(404, "unknown_account", "No channel account has this webhook address.")
        response = _accept(request, body, found)
    assert response is not None  # only a cached account can be out of date
    return response


def _accept(request: HttpRequest, body: bytes, found: WebhookAccount) -> HttpResponse | None:
    """Verify, parse and journal the webhook; None when the cached account turned out to be out of date."""
    account = found.account
    try:
        adapter = get_adapter(account.plugin_key)
    except UnknownPlugin:
        return _error(503, "plugin_unavailable", "The channel plugin is not installed.", **{"Retry-After": "300"})
    try:
        result = adapter.handle_webhook(_webhook_request(request, body), found.context)
    except VerificationFailed as exc:
        if found.cached:
            return None  # perhaps the secret changed a moment ago
        logger.warning("webhook verification failed", extra={"account": account.public_id, "plugin": account.plugin_key})
        return _error(403, "verification_failed", str(exc) or "The request could not be verified.")
    except MalformedPayload as exc:
        return _error(400, "malformed_payload", str(exc))
    if not account.enabled:
        return _switched_off(account, result)
    try:
        validate_events(result.events)
    except InvalidEvent as exc:
        return _error(400, "invalid_event", str(exc))
    report: IngestReport | None = IngestReport()
    if result.events:
        try:
            entry_id = journal_append(account=account, events=result.events, fingerprint=found.fingerprint)
        except DatabaseError:
            logger.exception("webhook journal append failed", extra={"account": account.public_id})
            return _error(503, "unavailable", "Temporarily unavailable; retry later.", **{"Retry-After": "30"})
        if entry_id is None:  # switched off or reconfigured since it was cached
            forget(account.public_id)
            return None
        # Accepted: the events are durable. Inline they are stored now, and the answer says what became of them.
        report = _ingest_inline(entry_id) if inline() else None
    if result.response is not None:
        return HttpResponse(result.response.body, status=result.response.status, content_type=result.response.content_type)
    return JsonResponse({"status": "accepted"} if report is None else {"status": "ok", **report.as_dict()})


def _ingest_inline(entry_id: int) -> IngestReport | None:
    try:
        return ingest_entry(entry_id)
    except DatabaseError:  # in the journal all the same: a drain stores it
        logger.exception("webhook ingest postponed", extra={"entry": entry_id})
        return None
