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


def _json_field(response: requests.Response, name: str) -> str:
    """A string field of the JSON object the endpoint answered; "" when the body is not a JSON object."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get(name) or "") if isinstance(body, dict) else ""


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
        reason = _json_field(response, "error")[:300]
        raise PermanentDeliveryError(
            reason or f"The endpoint refused the message (HTTP {response.status_code}).", code=str(response.status_code)
        )
    return _json_field(response, "id") or f"sbx-{message.message_id}"
