"""Provider HTTP shared by the SMS providers: timeouts, Retry-After, and the transient/permanent split."""
from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from omnidesk.plugin_api import FetchedMedia, PermanentDeliveryError, TransientDeliveryError
from omnidesk.plugin_api.http import network_failure, pooled_session

TIMEOUT_SECONDS = (3.05, 20)


def call(provider: str, method: str, url: str, **kwargs: Any) -> requests.Response:
    """One HTTP request; a network failure is a TransientDeliveryError. Credentials never reach a message."""
    try:
        return pooled_session().request(method, url, timeout=TIMEOUT_SECONDS, **kwargs)
    except requests.RequestException as exc:
        raise network_failure(exc, provider) from None


def json_of(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def retry_after(response: requests.Response) -> float | None:
    """Seconds the provider asked us to wait (Retry-After as seconds or as an HTTP date), if it said."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def raise_for_failure(response: requests.Response, *, code: str, reason: str, opted_out: bool = False) -> None:
    """429 and 5xx are worth retrying (honouring Retry-After); any other 4xx is permanent.

    `opted_out`: the provider refused because the resident unsubscribed, which core then records.
    """
    status = response.status_code
    if status == 429 or status >= 500:
        raise TransientDeliveryError(reason, code=code or str(status), retry_after=retry_after(response))
    if status >= 400:
        raise PermanentDeliveryError(reason, code=code or str(status), recipient_opted_out=opted_out)


def download(provider: str, url: str, *, allowed_hosts: set[str], max_bytes: int, **kwargs: Any) -> FetchedMedia:
    """Stream a media file from one of the provider's own hosts, stopping past `max_bytes`."""
    host = (urlsplit(url).hostname or "").lower()
    if urlsplit(url).scheme not in ("http", "https") or host not in allowed_hosts:
        raise PermanentDeliveryError(f"Refusing to fetch media from {host or 'an unknown host'}.", code="foreign_host")
    try:
        with requests.get(url, stream=True, timeout=TIMEOUT_SECONDS, **kwargs) as response:
            if response.status_code == 429 or response.status_code >= 500:
                raise TransientDeliveryError(f"{provider} answered HTTP {response.status_code}.",
                                             code=str(response.status_code), retry_after=retry_after(response))
            if response.status_code >= 400:
                raise PermanentDeliveryError(f"{provider} no longer has this file.", code=str(response.status_code))
            content = bytearray()
            for chunk in response.iter_content(64 * 1024):
                content += chunk
                if len(content) > max_bytes:
                    raise PermanentDeliveryError(f"The file is larger than {max_bytes} bytes.", code="too_large")
            content_type = response.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
    except requests.RequestException:
        raise TransientDeliveryError(f"{provider} could not be reached.", code="connection_error") from None
    return FetchedMedia(content=bytes(content), content_type=content_type,
                        filename=urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
