"""The widget's HTTP side: loader script, config, panel page, session, history, uploads, offline form, demo site.

None of these use cookies: a visitor is who their signed token says, so cross-site embedding needs no CSRF
exemption beyond these endpoints, and the Origin is checked against the account's allow-list.
"""
from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone
from functools import wraps
from pathlib import Path
from typing import Any, Callable

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from omnidesk.contacts.normalise import InvalidIdentity, normalise_email, normalise_phone
from omnidesk.plugin_api import (
    AccountContext,
    AccountNotice,
    IdentityKind,
    IdentityRef,
    InboundAttachment,
    InboundMessage,
)
from omnidesk.plugin_api.host import account_for, account_notice, conversation_history, forward_to, history_item, receive

from channels_plugins.livechat.availability import availability
from channels_plugins.livechat.frames import inbound_id, message_frame
from channels_plugins.livechat.labels import language_of, widget_labels
from channels_plugins.livechat.origins import allowed, own_origin
from channels_plugins.livechat.ratelimits import conversation_allowed, message_allowed
from channels_plugins.livechat.uploads import UploadRefused, checked_type, safe_filename
from channels_plugins.livechat.visitors import Visitor, new_visitor_token, verified_token, visitor_for, vouched

STATIC = Path(__file__).resolve().parent / "static" / "livechat"
MAX_JSON_BYTES = 16 * 1024


def _account_or_404(public_id: str) -> AccountContext:
    """The account, switched off or not: a switched-off chat still loads, to tell residents where to go instead."""
    account = account_for(public_id, "livechat", include_switched_off=True)
    if account is None:
        raise Http404("No such chat.")
    return account


def _notice_or_404(public_id: str) -> AccountNotice:
    notice = account_notice(public_id, "livechat")
    if notice is None:
        raise Http404("No such chat.")
    return notice


def closed_text(notice: AccountNotice, language: str) -> str:
    """Where else to go, in the widget's language: the account's sunset text, or a plain sentence without one."""
    return notice.alternatives.get(language) or widget_labels(language)["closed_default"]


def _error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"ok": False, "error": {"code": code, "message": message, **extra}}, status=status)


def _cors(response: HttpResponse, request: HttpRequest, account: AccountContext) -> HttpResponse:
    origin = request.headers.get("Origin", "")
    if origin and allowed(account, origin):
        response["Access-Control-Allow-Origin"] = origin
        response["Vary"] = "Origin"
    return response


def widget_endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """An endpoint the panel calls: Origin on the allow-list (or our own), account switched on, no cookies.

    A switched-off account refuses clearly (410 `switched_off`, with where else to go), so an open panel shows
    that instead of retrying."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, public_id: str) -> HttpResponse:
        account = _account_or_404(public_id)
        if not allowed(account, request.headers.get("Origin", own_origin())):
            return _error(403, "origin", _("This website may not use this chat."))
        notice = _notice_or_404(public_id)
        if not notice.enabled:
            language = language_of(request.GET.get("lang") or request.headers.get("Accept-Language"))
            return _error(410, "switched_off", closed_text(notice, language))
        return view(request, account)

    return wrapper


def _visitor(request: HttpRequest, account: AccountContext) -> Visitor | None:
    return visitor_for(account.public_id, request.headers.get("X-Visitor-Token", ""))


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _json(request: HttpRequest) -> dict[str, Any] | None:
    if len(request.body) > MAX_JSON_BYTES:
        return None
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


@require_GET
def widget_script(request: HttpRequest, public_id: str) -> HttpResponse:
    _account_or_404(public_id)
    response = FileResponse((STATIC / "widget.js").open("rb"), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def widget_config(request: HttpRequest, public_id: str) -> HttpResponse:
    account = _account_or_404(public_id)
    labels = widget_labels(language_of(request.GET.get("lang")))
    data = {"labels": {"open": labels["open"], "close": labels["close"], "new_messages": labels["new_messages"]},
            "colour": account.config.get("colour", "#1d4ed8"), "text_colour": account.config.get("text_colour", "#ffffff"),
            "title": account.config.get("title") or labels["title"]}
    # Only allowed sites can read it, so the launcher never appears on a site that may not use the chat.
    return _cors(JsonResponse(data), request, account)


@xframe_options_exempt
@require_GET
def panel(request: HttpRequest, public_id: str) -> HttpResponse:
    account = _account_or_404(public_id)
    notice = _notice_or_404(public_id)
    language = language_of(request.GET.get("lang"))
    labels = widget_labels(language)
    base = settings.PUBLIC_URL + reverse("livechat-panel", kwargs={"public_id": public_id}).removesuffix("panel/")
    ws_base = settings.PUBLIC_URL.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    config = {
        "public_id": public_id, "base": base, "ws_url": f"{ws_base}/ws/channels/livechat/{public_id}/",
        "colour": account.config.get("colour", "#1d4ed8"), "text_colour": account.config.get("text_colour", "#ffffff"),
        "title": account.config.get("title") or labels["title"], "welcome_text": account.config.get("welcome_text", ""),
        "max_length": 2000, "max_upload_bytes": int(account.config.get("max_upload_mb", 10)) * 1024 * 1024,
        "accept": "image/png,image/jpeg,image/gif,image/webp,application/pdf",
        # Switched off: the panel shows where else to go and never starts a conversation.
        "switched_off": not notice.enabled,
    }
    response = render(request, "livechat/panel.html", {
        "lang": language, "labels": labels, "config": config, "crisis_text": notice.crisis.get(language, ""),
        "closed_text": "" if notice.enabled else closed_text(notice, language)})
    ancestors = " ".join(["'self'", *account.config.get("allowed_origins", [])])
    response["Content-Security-Policy"] = (
        f"frame-ancestors {ancestors}; default-src 'self'; connect-src 'self' {ws_base}; img-src 'self' data: blob:; "
        "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"
    )
    return response


@require_POST
@widget_endpoint
def session(request: HttpRequest, account: AccountContext) -> HttpResponse:
    data = _json(request)
    if data is None:
        return _error(400, "malformed", _("The request could not be read."))
    token = str(data.get("visitor_token") or "")
    user, user_hash = str(data.get("user") or ""), str(data.get("user_hash") or "")
    if user and vouched(account.config.get("identity_secret", ""), user, user_hash):
        try:
            token = verified_token(account.public_id, normalise_email(user))
        except InvalidIdentity:
            return _error(400, "identity", _("The resident portal sent an address that is not an email address."))
    elif user:
        return _error(403, "identity", _("The resident portal's signature does not match."))
    visitor = visitor_for(account.public_id, token)
    if visitor is None:
        verdict = conversation_allowed(account.public_id, _client_ip(request),
                                       int(account.config.get("conversations_per_hour", 10)))
        if not verdict.allowed:
            return _error(429, "rate_limited", _("Too many new conversations from this address. Please try again "
                                                 "in %(m)d minutes.") % {"m": max(1, verdict.retry_after // 60)},
                          retry_after=verdict.retry_after)
        token = new_visitor_token(account.public_id)
        visitor = visitor_for(account.public_id, token)
        assert visitor is not None
    history = [message_frame(item) for item in conversation_history(account, visitor.identity, limit=200)]
    state = availability(account).as_frame()
    state.pop("type")
    return JsonResponse({"ok": True, "visitor_token": token, "history": history, "state": state})


@require_GET
@widget_endpoint
def history(request: HttpRequest, account: AccountContext) -> HttpResponse:
    visitor = _visitor(request, account)
    if visitor is None:
        return _error(403, "visitor", _("This conversation is not yours."))
    after = request.GET.get("after", "0")
    items = conversation_history(account, visitor.identity, after=int(after) if after.isdigit() else 0)
    return JsonResponse({"ok": True, "history": [message_frame(item) for item in items]})


@require_POST
@widget_endpoint
def upload(request: HttpRequest, account: AccountContext) -> HttpResponse:
    visitor = _visitor(request, account)
    if visitor is None:
        return _error(403, "visitor", _("This conversation is not yours."))
    file = request.FILES.get("file")
    client_id = request.POST.get("client_id", "")
    if file is None or not (8 <= len(client_id) <= 64) or not client_id.replace("-", "").isalnum():
        return _error(400, "malformed", _("The request could not be read."))
    limit = int(account.config.get("max_upload_mb", 10)) * 1024 * 1024
    if file.size > limit:
        return _error(413, "file_too_large", _("This file is too large (at most %(mb)d MB).") % {"mb": limit // 2**20})
    verdict = message_allowed(account.public_id, visitor.key, _client_ip(request),
                              int(account.config.get("messages_per_minute", 20)))
    if not verdict.allowed:
        return _error(429, "rate_limited", _("You are sending messages very quickly. Please wait %(s)d seconds.")
                      % {"s": verdict.retry_after}, retry_after=verdict.retry_after)
    content = file.read()
    try:
        content_type = checked_type(content)
    except UploadRefused:
        return _error(415, "file_type", _("Only images (PNG, JPEG, GIF, WebP) and PDF files can be sent."))
    provider_id = inbound_id(visitor.key, client_id)
    receive(account, [InboundMessage(
        provider_message_id=provider_id, sender=visitor.identity, sent_at=datetime.now(timezone.utc),
        attachments=(InboundAttachment(filename=safe_filename(file.name, content_type), content_type=content_type,
                                       content=content),))])
    item = history_item(account, provider_id)
    return JsonResponse({"ok": True, "message": message_frame(item) if item else None})


@require_POST
@widget_endpoint
def offline(request: HttpRequest, account: AccountContext) -> HttpResponse:
    """Outside hours: the question becomes a ticket on the email (or SMS) channel, answered there later."""
    data = _json(request)
    if data is None:
        return _error(400, "malformed", _("The request could not be read."))
    name = str(data.get("name") or "").strip()[:100]
    question = str(data.get("question") or "").strip()
    email, phone = str(data.get("email") or "").strip(), str(data.get("phone") or "").strip()
    errors: dict[str, list[str]] = {}
    if not question:
        errors["question"] = [_("Write your question.")]
    elif len(question) > 4000:
        errors["question"] = [_("A question can have at most %(n)d characters.") % {"n": 4000}]
    identity = None
    target = ""
    try:
        if email:
            identity, target = IdentityRef(IdentityKind.EMAIL, normalise_email(email)), "offline_email_account"
        elif phone:
            identity, target = IdentityRef(IdentityKind.PHONE, normalise_phone(phone)), "offline_sms_account"
        else:
            errors["email"] = [_("Enter an email address or a phone number, so we can answer you.")]
    except InvalidIdentity:
        errors["email" if email else "phone"] = [_("This is not a valid email address.") if email else
                                                 _("This is not a valid phone number.")]
    if errors:
        return JsonResponse({"ok": False, "errors": errors}, status=400)
    verdict = conversation_allowed(account.public_id, _client_ip(request),
                                   int(account.config.get("conversations_per_hour", 10)))
    if not verdict.allowed:
        return _error(429, "rate_limited", _("Too many questions from this address. Please try again later."),
                      retry_after=verdict.retry_after)
    assert identity is not None
    message = InboundMessage(
        provider_message_id=f"lc-offline-{secrets.token_hex(12)}",
        sender=identity, sender_name=name, text=question, subject=_("Question from the website chat"),
        sent_at=datetime.now(timezone.utc), metadata={"via": "livechat-offline", "livechat": account.public_id})
    target_id = account.config.get(target, "")
    if not (target_id and forward_to(account, target_id, message)):
        # No channel to answer on: keep it on the chat itself, with the address to reach them (nothing is lost).
        receive(account, [InboundMessage(
            provider_message_id=message.provider_message_id, sender=identity, sender_name=name, text=question,
            sent_at=message.sent_at, metadata=message.metadata)])
    return JsonResponse({"ok": True, "reply_expected": account.config.get("away_text", "")})


@require_GET
def demo_site(request: HttpRequest, public_id: str) -> HttpResponse:
    """A stand-in for the municipality's website, for the demo: open it on another origin than Omnidesk's."""
    _account_or_404(public_id)
    widget_url = settings.PUBLIC_URL + reverse("livechat-widget", kwargs={"public_id": public_id})
    return render(request, "livechat/demo_site.html", {"widget_url": widget_url})
