"""Delivery of replies: to the simulator page over the channel layer, or to an HTTP endpoint."""
from __future__ import annotations

import requests
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from omnidesk.plugin_api import OutboundMessage, PermanentDeliveryError, TransientDeliveryError

from channels_plugins.sandbox.signing import resident_group

TIMEOUT_SECONDS = (3.05, 10)


def push_to_page(public_id: str, resident_id: str, message: OutboundMessage, provider_id: str) -> None:
    async_to_sync(get_channel_layer().group_send)(
        resident_group(public_id, resident_id),
        {"type": "sandbox.reply", "id": provider_id, "text": message.text, "author_name": message.sender_name},
    )


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


def post_to_endpoint(url: str, message: OutboundMessage) -> str:
    """POST the reply; 2xx is success, 408/429/5xx and network trouble are transient, other 4xx permanent."""
    try:
        response = requests.post(
            url,
            json={"id": message.message_id, "to": message.recipient.value, "text": message.text,
                  "author_name": message.sender_name},
            headers={"Idempotency-Key": message.message_id},
            timeout=TIMEOUT_SECONDS,
        )
    except requests.Timeout as exc:
        raise TransientDeliveryError("The endpoint did not answer in time.", code="timeout") from exc
    except requests.ConnectionError as exc:
        raise TransientDeliveryError("The endpoint could not be reached.", code="connection_error") from exc
    if response.status_code in (408, 429) or response.status_code >= 500:
        raise TransientDeliveryError(
            f"The endpoint answered HTTP {response.status_code}.",
            code=str(response.status_code),
            retry_after=_retry_after(response),
        )
    if response.status_code >= 400:
        try:
            reason = str(response.json().get("error", ""))[:300]
        except ValueError:
            reason = ""
        raise PermanentDeliveryError(
            reason or f"The endpoint refused the message (HTTP {response.status_code}).", code=str(response.status_code)
        )
    try:
        provider_id = str(response.json().get("id") or "")
    except ValueError:
        provider_id = ""
    return provider_id or f"sbx-{message.message_id}"
