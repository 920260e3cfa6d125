"""The Telegram Bot API over HTTP. The bot token is part of every URL, so URLs never reach an error or log."""
from __future__ import annotations

from typing import Any

import requests

from omnidesk.plugin_api import FetchedMedia, PermanentDeliveryError, TransientDeliveryError

TIMEOUT_SECONDS = (3.05, 20)


def _call(base_url: str, token: str, method: str, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        response = requests.post(f"{base_url}/bot{token}/{method}", json=payload, timeout=TIMEOUT_SECONDS)
    except requests.Timeout:
        raise TransientDeliveryError("Telegram did not answer in time.", code="timeout") from None
    except requests.RequestException:
        raise TransientDeliveryError("Telegram could not be reached.", code="connection_error") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and body.get("ok"):
        return body["result"]
    description = str(body.get("description") or f"HTTP {response.status_code}")[:300]
    code = str(body.get("error_code") or response.status_code)
    if response.status_code == 429:
        retry_after = (body.get("parameters") or {}).get("retry_after")
        raise TransientDeliveryError(description, code=code, retry_after=float(retry_after) if retry_after else None)
    if response.status_code >= 500 or response.status_code == 200:
        raise TransientDeliveryError(description, code=code)
    raise PermanentDeliveryError(description, code=code)  # 400 bad request, 401 token, 403 blocked, 404


def send_message(base_url: str, token: str, chat_id: str, text: str, reply_to: str = "") -> int:
    payload: dict[str, Any] = {"chat_id": chat_id, "text": text}
    if reply_to:
        payload["reply_parameters"] = {"message_id": int(reply_to), "allow_sending_without_reply": True}
    return int(_call(base_url, token, "sendMessage", payload)["message_id"])


def get_me(base_url: str, token: str) -> dict[str, Any]:
    return _call(base_url, token, "getMe", {})


def download_file(base_url: str, token: str, file_id: str, max_bytes: int) -> FetchedMedia:
    file_path = str(_call(base_url, token, "getFile", {"file_id": file_id})["file_path"])
    try:
        with requests.get(f"{base_url}/file/bot{token}/{file_path}", stream=True, timeout=TIMEOUT_SECONDS) as response:
            if response.status_code >= 500:
                raise TransientDeliveryError(f"Telegram answered HTTP {response.status_code}.", code=str(response.status_code))
            if response.status_code >= 400:
                raise PermanentDeliveryError("Telegram no longer has this file.", code=str(response.status_code))
            content = bytearray()
            for chunk in response.iter_content(64 * 1024):
                content += chunk
                if len(content) > max_bytes:
                    raise PermanentDeliveryError(f"The file is larger than {max_bytes} bytes.", code="too_large")
            content_type = response.headers.get("Content-Type", "application/octet-stream")
    except requests.RequestException:
        raise TransientDeliveryError("Telegram could not be reached.", code="connection_error") from None
    return FetchedMedia(content=bytes(content), content_type=content_type, filename=file_path.rsplit("/", 1)[-1])
