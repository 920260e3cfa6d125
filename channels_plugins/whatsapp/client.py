"""Meta's Graph API over HTTP: sends, media, templates. Errors are mapped by Meta's code (codes.py), never by text.

The access token only ever goes to the configured Graph API host and Meta's media hosts; it never
reaches an error message or a log.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from omnidesk.plugin_api import AccountProblem, FetchedMedia, PermanentDeliveryError, TransientDeliveryError
from omnidesk.plugin_api.http import BearerAuth, network_failure, pooled_session

from channels_plugins.whatsapp.codes import BACK_OFF_SECONDS, RECIPIENT_LIMIT_CODES, Action, action_for, as_int, explain
from channels_plugins.whatsapp.parsing import split_media_id

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = (3.05, 20)
CHUNK = 64 * 1024
MAX_TEMPLATE_PAGES = 20
# Where Meta serves media downloads; anything else would receive our bearer token.
MEDIA_HOST_SUFFIXES = (".fbsbx.com", ".facebook.com", ".whatsapp.net", ".fbcdn.net")


@dataclass(frozen=True)
class Graph:
    """One account's way into the Graph API."""

    base_url: str
    version: str
    token: str
    phone_number_id: str
    business_account_id: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Graph:
        return cls(
            base_url=str(config.get("graph_api_base_url") or "https://graph.facebook.com").rstrip("/"),
            version=str(config.get("graph_api_version") or "v21.0"),
            token=str(config.get("access_token") or ""),
            phone_number_id=str(config.get("phone_number_id") or ""),
            business_account_id=str(config.get("business_account_id") or ""),
        )

    def url(self, *parts: str) -> str:
        return "/".join([self.base_url, self.version, *parts])

    @property
    def auth(self) -> BearerAuth:
        return BearerAuth(self.token)


# --- errors -------------------------------------------------------------------------------------
def _error_body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _retry_after(response: requests.Response, code: int | None) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    return BACK_OFF_SECONDS.get(code) if code is not None else None


def raise_for_error(response: requests.Response) -> None:
    """Raise the delivery error Meta's answer means; return for a 2xx."""
    if response.status_code < 400:
        return
    error = _error_body(response)
    code = as_int(error.get("code"))
    details = str((error.get("error_data") or {}).get("details") or error.get("message") or "")[:300]
    reason = explain(code, details or f"WhatsApp answered HTTP {response.status_code}.")
    code_text = str(code) if code is not None else str(response.status_code)
    action = action_for(code, response.status_code)
    if action in (Action.RETRY, Action.BACK_OFF):
        raise TransientDeliveryError(reason, code=code_text, retry_after=_retry_after(response, code),
                                     this_recipient_only=code in RECIPIENT_LIMIT_CODES)
    if action is Action.ALERT:
        logger.error("whatsapp account needs an administrator", extra={"meta_code": code})
        raise AccountProblem(reason, code=code_text)
    raise PermanentDeliveryError(reason, code=code_text)


def _call(method: str, url: str, graph: Graph, **kwargs: Any) -> requests.Response:
    try:
        response = pooled_session().request(method, url, auth=graph.auth, timeout=TIMEOUT_SECONDS,
                                            allow_redirects=False, **kwargs)
    except requests.RequestException as exc:
        # A timeout or a dropped connection may have delivered it: core then waits for a status naming our id.
        raise network_failure(exc, "WhatsApp") from None
    raise_for_error(response)
    return response


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise TransientDeliveryError("WhatsApp answered something that is not JSON.", code="bad_answer")
    return body


# --- messages -----------------------------------------------------------------------------------
def send_message(graph: Graph, payload: dict[str, Any]) -> str:
    """POST /<phone_number_id>/messages; the wamid of the accepted (not yet delivered) message."""
    body = _json(_call("POST", graph.url(graph.phone_number_id, "messages"), graph, json=payload))
    messages = body.get("messages")
    wamid = messages[0].get("id") if isinstance(messages, list) and messages and isinstance(messages[0], dict) else None
    if not wamid:
        # Accepted without an id: a retry could send twice, so do not retry.
        raise PermanentDeliveryError("WhatsApp accepted the message but returned no message id.", code="no_message_id")
    return str(wamid)


def mark_read(graph: Graph, wamid: str) -> None:
    payload = {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
    _call("POST", graph.url(graph.phone_number_id, "messages"), graph, json=payload)


def upload_media(graph: Graph, content: bytes, content_type: str, filename: str) -> str:
    response = _call(
        "POST", graph.url(graph.phone_number_id, "media"), graph,
        data={"messaging_product": "whatsapp", "type": content_type},
        files={"file": (filename, content, content_type)},
    )
    media_id = _json(response).get("id")
    if not media_id:
        raise TransientDeliveryError("WhatsApp returned no media id for the upload.", code="bad_answer")
    return str(media_id)


def download_outbound(url: str, max_bytes: int) -> bytes:
    """An agent's file from Omnidesk's own storage (no bearer token: this is not Meta)."""
    try:
        with requests.get(url, stream=True, timeout=TIMEOUT_SECONDS) as response:
            if response.status_code >= 400:
                error = TransientDeliveryError if response.status_code >= 500 else PermanentDeliveryError
                raise error(f"The attachment could not be read (HTTP {response.status_code}).",
                            code=f"attachment_{response.status_code}")
            return _read_capped(response, max_bytes)
    except requests.RequestException:
        raise TransientDeliveryError("The attachment could not be read.", code="attachment_unreachable") from None


# --- inbound media ------------------------------------------------------------------------------
def _read_capped(response: requests.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PermanentDeliveryError(f"The file is larger than {max_bytes} bytes.", code="too_large")
    content = bytearray()
    for chunk in response.iter_content(CHUNK):
        content += chunk
        if len(content) > max_bytes:
            raise PermanentDeliveryError(f"The file is larger than {max_bytes} bytes.", code="too_large")
    return bytes(content)


def _digest_matches(expected: str, content: bytes) -> bool:
    """Meta gives the sha256 as hex or base64, depending on the API; an unreadable value cannot be checked."""
    digest = hashlib.sha256(content).digest()
    value = expected.strip()
    if len(value) == 64:
        try:
            return bytes.fromhex(value) == digest
        except ValueError:
            pass
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_" if "-" in value or "_" in value else None)
    except (binascii.Error, ValueError):
        return True
    return decoded == digest if len(decoded) == 32 else True


def media_url_allowed(graph: Graph, url: str) -> bool:
    target, base = urlsplit(url), urlsplit(graph.base_url)
    if (target.scheme, target.netloc) == (base.scheme, base.netloc):
        return True
    host = (target.hostname or "").lower()
    return target.scheme == "https" and any(host.endswith(suffix) for suffix in MEDIA_HOST_SUFFIXES)


def _media_info(graph: Graph, media_id: str) -> dict[str, Any]:
    try:
        body = _json(_call("GET", graph.url(media_id), graph, params={"phone_number_id": graph.phone_number_id}))
    except PermanentDeliveryError as exc:
        if exc.code in ("100", "404", "131052"):
            raise PermanentDeliveryError("WhatsApp no longer has this file (media ids expire after 7 days).",
                                         code=exc.code) from None
        raise
    if not body.get("url"):
        raise TransientDeliveryError("WhatsApp gave no download address for this file.", code="bad_answer")
    return body


def _download(graph: Graph, url: str, max_bytes: int) -> tuple[int, bytes, str]:
    if not media_url_allowed(graph, url):
        raise PermanentDeliveryError("WhatsApp pointed to a download host that is not Meta's.", code="bad_media_host")
    try:
        with requests.get(url, auth=graph.auth, stream=True, timeout=TIMEOUT_SECONDS, allow_redirects=False) as r:
            if r.status_code in (401, 403, 404):
                return r.status_code, b"", ""
            if r.status_code >= 400:
                raise TransientDeliveryError(f"WhatsApp's media host answered HTTP {r.status_code}.", code=str(r.status_code))
            return r.status_code, _read_capped(r, max_bytes), r.headers.get("Content-Type", "")
    except requests.RequestException:
        raise TransientDeliveryError("WhatsApp's media host could not be reached.", code="connection_error") from None


def fetch_media(graph: Graph, provider_media_id: str, max_bytes: int) -> FetchedMedia:
    """Resolve the media id to a short-lived URL, download it (re-resolving once if the URL expired), check it."""
    media_id, webhook_sha256 = split_media_id(provider_media_id)
    for attempt in (1, 2):
        info = _media_info(graph, media_id)
        size = as_int(info.get("file_size"))
        if size is not None and size > max_bytes:
            raise PermanentDeliveryError(f"The file is larger than {max_bytes} bytes.", code="too_large")
        status, content, content_type = _download(graph, str(info["url"]), max_bytes)
        if status < 400:
            break
        if attempt == 2:
            raise PermanentDeliveryError("WhatsApp's download address keeps expiring or refusing access.",
                                         code=str(status))
    expected = webhook_sha256 or str(info.get("sha256") or "")
    if expected and not _digest_matches(expected, content):
        raise TransientDeliveryError("The downloaded file does not match WhatsApp's sha256; fetching again.",
                                     code="sha256_mismatch")
    content_type = str(info.get("mime_type") or content_type or "application/octet-stream").split(";")[0].strip()
    return FetchedMedia(content=content, content_type=content_type)


# --- account ------------------------------------------------------------------------------------
def phone_number_info(graph: Graph) -> dict[str, Any]:
    fields = "display_phone_number,verified_name,quality_rating"
    return _json(_call("GET", graph.url(graph.phone_number_id), graph, params={"fields": fields}))


def approved_templates(graph: Graph) -> list[dict[str, Any]]:
    """All approved templates of the business account, following Graph's paging on the same host."""
    url: str | None = graph.url(graph.business_account_id, "message_templates")
    params: dict[str, Any] | None = {"status": "APPROVED", "limit": 100,
                                     "fields": "name,language,status,category,components"}
    templates: list[dict[str, Any]] = []
    for _ in range(MAX_TEMPLATE_PAGES):
        if url is None:
            break
        body = _json(_call("GET", url, graph, params=params))
        templates.extend(t for t in body.get("data") or [] if isinstance(t, dict))
        following = ((body.get("paging") or {}).get("next")) or None
        url = following if following and urlsplit(following).netloc == urlsplit(graph.base_url).netloc else None
        params = None  # the `next` link carries its own query
    return templates
