"""A local stand-in for Meta's Graph API, for tests and the demo: a real HTTP server on 127.0.0.1.

It accepts sends, read receipts, media uploads and downloads and template listings like the Cloud API,
answers in Meta's error format when told to (`fail_next`), and delivers webhooks signed with
X-Hub-Signature-256 (`deliver`). For fault tests it can also be slow (`send_delay`, `slow_next`), drop
connections (`reset_next`) and rate-limit every send for a while (`rate_limit`); `send_log` records every send
request with its time and what it was answered. Run it alone for a demo::

    python -m channels_plugins.whatsapp.peer --port 8765 --webhook-url http://127.0.0.1:8000/webhooks/<id>/

then point the account's Graph API base URL at http://127.0.0.1:8765, and POST
{"from": "31612345678", "name": "Sanne", "text": "Hallo"} to http://127.0.0.1:8765/_peer/inbound to play a resident.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import math
import secrets
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import requests
from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from channels_plugins.whatsapp.signing import signature

DEFAULTS = {
    "phone_number_id": "112233445566778",
    "business_account_id": "102290129340398",
    "access_token": "EAAG-peer-token",
    "app_secret": "peer-app-secret",
    "verify_token": "peer-verify-token",
}


@dataclass
class Media:
    content: bytes
    mime_type: str
    filename: str = ""


@dataclass
class Failure:
    """How to answer one send: `status` 0 means normally (accepted), after `delay` seconds."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    reset: bool = False  # drop the connection without an answer
    accept: bool = False  # take the message although the answer fails: the sender cannot know it arrived


@dataclass(frozen=True)
class SendAttempt:
    """One message send as the peer saw it: when it arrived (time.time()), our id in it, and how it was answered."""

    at: float
    callback: str
    outcome: str  # "accepted", "reset", or the HTTP status of a refusal
    accepted: bool


def meta_error(code: int, message: str, *, subcode: int | None = None, details: str = "",
               error_type: str = "OAuthException") -> dict[str, Any]:
    """An error body the way the Graph API writes it."""
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code,
                             "fbtrace_id": "A" + secrets.token_hex(10)}
    if subcode is not None:
        error["error_subcode"] = subcode
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


class GraphPeer:
    def __init__(self, *, version: str = "v21.0", display_phone_number: str = "31850001234",
                 verified_name: str = "Gemeente Voorbeeld", webhook_url: str = "", auto_statuses: bool = False,
                 keep_alive: bool = False, **credentials: str) -> None:
        config = {**DEFAULTS, **credentials}
        self.phone_number_id = config["phone_number_id"]
        self.business_account_id = config["business_account_id"]
        self.access_token = config["access_token"]
        self.app_secret = config["app_secret"]
        self.verify_token = config["verify_token"]
        self.version, self.display_phone_number, self.verified_name = version, display_phone_number, verified_name
        self.webhook_url, self.auto_statuses = webhook_url, auto_statuses
        # Werkzeug's server (the default) closes every connection, and gives fault tests the socket to drop
        # (`reset_next`); `keep_alive` serves with waitress instead, which keeps connections open as the Graph API
        # does (the benchmark: each send would otherwise pay for a new connection).
        self.keep_alive = keep_alive
        self.sent: list[dict[str, Any]] = []  # bodies of accepted message sends
        self.read_receipts: list[str] = []
        self.media: dict[str, Media] = {}
        self.templates: list[dict[str, Any]] = []
        self.log: list[tuple[str, str]] = []  # (method, path) of every request
        self.send_log: list[SendAttempt] = []  # every message send (not read receipts), in order of arrival
        self.send_delay = 0.0  # seconds every send waits before its answer: a slow provider
        self.in_flight = 0  # sends being answered right now
        self.peak_in_flight = 0  # the most sends it was answering at once
        self._limited_until = 0.0
        self._limit_retry_after: int | None = None
        self._failures: deque[Failure] = deque()
        self._download_tokens: dict[str, str] = {}  # token -> media id; cleared to expire URLs
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: Any = None
        self._port = 0
        self._thread: threading.Thread | None = None
        self._map = Map([
            Rule("/<version>/<number_id>/messages", endpoint="messages", methods=["POST"]),
            Rule("/<version>/<number_id>/media", endpoint="upload", methods=["POST"]),
            Rule("/<version>/<waba_id>/message_templates", endpoint="templates", methods=["GET"]),
            Rule("/<version>/<object_id>", endpoint="object", methods=["GET"]),
            Rule("/download/<token>", endpoint="download", methods=["GET"]),
            Rule("/_peer/inbound", endpoint="inbound", methods=["POST"]),
        ])

    # --- lifecycle --------------------------------------------------------------------------
    def start(self, port: int = 0) -> GraphPeer:
        if self.keep_alive:
            from waitress.server import create_server

            self._server = create_server(self._wsgi, host="127.0.0.1", port=port, threads=16,
                                         connection_limit=1000)
            self._port = self._server.effective_port
            self._thread = threading.Thread(target=self._server.run, name="graph-peer", daemon=True)
        else:
            self._server = make_server("127.0.0.1", port, self._wsgi, threaded=True)
            self._port = self._server.server_port
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="graph-peer",
                                            daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        if self.keep_alive:
            self._server.close()
        else:
            self._server.shutdown()
            self._server.server_close()
        self._server = None

    def __enter__(self) -> GraphPeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def account_config(self, **overrides: Any) -> dict[str, Any]:
        """A config for Omnidesk's WhatsApp form that points at this peer."""
        return {"phone_number_id": self.phone_number_id, "business_account_id": self.business_account_id,
                "access_token": self.access_token, "app_secret": self.app_secret, "verify_token": self.verify_token,
                "graph_api_base_url": self.url, "graph_api_version": self.version, **overrides}

    # --- what tests set up ------------------------------------------------------------------
    def fail_next(self, code: int, message: str = "", *, http_status: int = 400, times: int = 1, details: str = "",
                  retry_after: int | None = None) -> None:
        """Answer the next `times` message sends with Meta's error `code`."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        for _ in range(times):
            self._failures.append(Failure(http_status, meta_error(code, message or f"(#{code}) error", details=details),
                                          headers))

    def fail_next_raw(self, status: int, body: str = "", times: int = 1) -> None:
        """Answer the next sends with a bare HTTP error, like a proxy in front of Meta would."""
        for _ in range(times):
            self._failures.append(Failure(status, body))

    def slow_next(self, seconds: float, *, times: int = 1) -> None:
        """Take the next sends at once but answer only after `seconds` (past the client's timeout: an ambiguous send)."""
        for _ in range(times):
            self._failures.append(Failure(0, None, delay=seconds))

    def reset_next(self, *, times: int = 1, accept: bool = False, delay: float = 0.0) -> None:
        """Drop the connection of the next sends without an answer; with `accept`, after taking the message."""
        for _ in range(times):
            self._failures.append(Failure(0, None, delay=delay, reset=True, accept=accept))

    def rate_limit(self, seconds: float, *, retry_after: int | None = None) -> None:
        """Answer every send in the next `seconds` with 429 and a Retry-After (the time left, unless given)."""
        with self._lock:
            self._limited_until = time.time() + seconds
            self._limit_retry_after = retry_after

    def heal(self) -> None:
        """No more faults: queued failures, the rate limit and the slowness are gone."""
        with self._lock:
            self._failures.clear()
            self._limited_until = 0.0
        self.send_delay = 0.0

    def accepted(self, callback: str) -> int:
        """How many times the send carrying our id `callback` was taken: more than 1 is a double send."""
        return sum(1 for body in self.sent if str(body.get("biz_opaque_callback_data", "")) == callback)

    def add_media(self, content: bytes, mime_type: str, filename: str = "") -> str:
        media_id = str(1_000_000_000_000_000 + next(self._ids))
        self.media[media_id] = Media(content, mime_type, filename)
        return media_id

    def expire_media_urls(self) -> None:
        """Every download URL handed out so far answers 404 from now on, as Meta's do after a few minutes."""
        self._download_tokens.clear()

    def add_template(self, name: str, body: str, *, language: str = "nl", category: str = "UTILITY",
                     status: str = "APPROVED") -> None:
        self.templates.append({"name": name, "language": language, "status": status, "category": category,
                               "id": str(next(self._ids)), "components": [{"type": "BODY", "text": body}]})

    # --- webhooks ---------------------------------------------------------------------------
    def signed(self, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The body and headers Meta would POST (non-ASCII escaped as \\uXXXX, like Meta)."""
        body = json.dumps(payload, ensure_ascii=True).encode()
        return body, {"Content-Type": "application/json", "X-Hub-Signature-256": signature(self.app_secret, body)}

    def deliver(self, payload: dict[str, Any], url: str = "") -> requests.Response:
        body, headers = self.signed(payload)
        return requests.post(url or self.webhook_url, data=body, headers=headers, timeout=10)

    def handshake(self, url: str = "", verify_token: str = "", challenge: str = "1158201444") -> requests.Response:
        params = {"hub.mode": "subscribe", "hub.verify_token": verify_token or self.verify_token,
                  "hub.challenge": challenge}
        return requests.get(url or self.webhook_url, params=params, timeout=10)

    def envelope(self, *, messages: list[dict[str, Any]] | None = None, statuses: list[dict[str, Any]] | None = None,
                 contacts: list[dict[str, Any]] | None = None, phone_number_id: str = "") -> dict[str, Any]:
        value: dict[str, Any] = {"messaging_product": "whatsapp", "metadata": {
            "display_phone_number": self.display_phone_number,
            "phone_number_id": phone_number_id or self.phone_number_id}}
        if contacts:
            value["contacts"] = contacts
        if messages:
            value["messages"] = messages
        if statuses:
            value["statuses"] = statuses
        return {"object": "whatsapp_business_account",
                "entry": [{"id": self.business_account_id, "changes": [{"value": value, "field": "messages"}]}]}

    def new_wamid(self) -> str:
        return f"wamid.PEER{next(self._ids):08d}{secrets.token_hex(6).upper()}"

    def inbound(self, wa_id: str, *, text: str = "", name: str = "", media_id: str = "", caption: str = "",
                wamid: str = "", context_id: str = "", at: int | None = None) -> dict[str, Any]:
        """A resident's text (or, with media_id, image) message as a webhook payload."""
        message: dict[str, Any] = {"from": wa_id, "id": wamid or self.new_wamid(),
                                   "timestamp": str(at if at is not None else int(time.time()))}
        if media_id:
            media = self.media[media_id]
            kind = "document" if media.filename else media.mime_type.split("/")[0]
            body = {"mime_type": media.mime_type, "id": media_id,
                    "sha256": base64.b64encode(hashlib.sha256(media.content).digest()).decode()}
            if caption:
                body["caption"] = caption
            if media.filename:
                body["filename"] = media.filename
            message.update({"type": kind, kind: body})
        else:
            message.update({"type": "text", "text": {"body": text}})
        if context_id:
            message["context"] = {"from": self.display_phone_number, "id": context_id}
        contact = {"profile": {"name": name or "Inwoner"}, "wa_id": wa_id}
        return self.envelope(messages=[message], contacts=[contact])

    def status(self, wamid: str, status: str, *, recipient: str = "", at: int | None = None, error_code: int | None = None,
               callback: str = "") -> dict[str, Any]:
        """A status webhook payload for one of our messages."""
        entry: dict[str, Any] = {"id": wamid, "status": status, "timestamp": str(at if at is not None else int(time.time())),
                                 "recipient_id": recipient or "31612345678"}
        if callback:
            entry["biz_opaque_callback_data"] = callback
        if error_code is not None:
            entry["errors"] = [{"code": error_code, "title": "Failed", "message": "Failed",
                                "error_data": {"details": f"Error {error_code}"}}]
        return self.envelope(statuses=[entry])

    # --- the Graph API ----------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.log.append((request.method, request.path))
        adapter = self._map.bind_to_environ(environ)
        try:
            endpoint, args = adapter.match()
        except Exception:  # noqa: BLE001  (404/405 from werkzeug)
            response = _json(meta_error(100, "Unknown path components", error_type="OAuthException"), 404)
        else:
            if endpoint != "inbound" and request.headers.get("Authorization") != f"Bearer {self.access_token}":
                response = _json(meta_error(190, "Error validating access token: Session has expired.", subcode=463), 401)
            else:
                response = getattr(self, f"_on_{endpoint}")(request, **args)
        return response(environ, start_response)

    def _on_messages(self, request: Request, version: str, number_id: str) -> Response:
        if number_id != self.phone_number_id:
            return _json(meta_error(100, "Unsupported post request.", error_type="GraphMethodException"), 400)
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            return self._answer_send(request, failure)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _answer_send(self, request: Request, failure: Failure | None) -> Response:
        arrived = time.time()
        body = request.get_json(silent=True) or {}
        is_send = body.get("status") != "read"
        callback = str(body.get("biz_opaque_callback_data", ""))
        with self._lock:
            left = self._limited_until - time.time()
        if is_send and failure is None and left > 0:
            retry_after = self._limit_retry_after or math.ceil(left)
            failure = Failure(429, meta_error(130429, "(#130429) Rate limit hit"), {"Retry-After": str(retry_after)})
        accept = failure is None or failure.accept or (failure.status == 0 and not failure.reset)
        response = self._accept(body) if accept else None
        if is_send:  # logged on arrival, with the answer it is going to get
            outcome = "reset" if failure and failure.reset else str(failure.status) if failure and failure.status else "accepted"
            with self._lock:
                self.send_log.append(SendAttempt(arrived, callback, outcome, accept))
        delay = self.send_delay + (failure.delay if failure else 0.0)
        if delay:
            time.sleep(delay)
        if failure is not None and failure.reset:
            _reset_connection(request.environ)
        if failure is not None and failure.status:
            if isinstance(failure.body, dict):
                return _json(failure.body, failure.status, failure.headers)
            return Response(failure.body, status=failure.status, headers=failure.headers)
        assert response is not None
        return response

    def _accept(self, body: dict[str, Any]) -> Response:
        if body.get("status") == "read":
            self.read_receipts.append(str(body.get("message_id", "")))
            return _json({"success": True})
        wamid = self.new_wamid()
        with self._lock:
            self.sent.append({**body, "_wamid": wamid})
        recipient = body.get("to") or body.get("recipient", "")
        contact = {"input": recipient, "wa_id": recipient} if body.get("to") else {"input": recipient, "user_id": recipient}
        if self.auto_statuses and self.webhook_url:
            threading.Thread(target=self._report_statuses, args=(wamid, recipient, body), daemon=True).start()
        return _json({"messaging_product": "whatsapp", "contacts": [contact],
                      "messages": [{"id": wamid, "message_status": "accepted"}]})

    def _report_statuses(self, wamid: str, recipient: str, body: dict[str, Any]) -> None:
        for status in ("sent", "delivered", "read"):
            time.sleep(0.5)
            try:
                self.deliver(self.status(wamid, status, recipient=recipient,
                                         callback=body.get("biz_opaque_callback_data", "")))
            except requests.RequestException:
                return  # the receiver is gone (a test ended); Meta would retry, a peer need not

    def _on_upload(self, request: Request, version: str, number_id: str) -> Response:
        upload = request.files.get("file")
        if upload is None or request.form.get("messaging_product") != "whatsapp":
            return _json(meta_error(100, "(#100) The parameter file is required.", error_type="OAuthException"), 400)
        media_id = self.add_media(upload.read(), request.form.get("type") or upload.mimetype, upload.filename or "")
        return _json({"id": media_id})

    def _on_object(self, request: Request, version: str, object_id: str) -> Response:
        if object_id == self.phone_number_id:
            return _json({"display_phone_number": f"+{self.display_phone_number}", "verified_name": self.verified_name,
                          "quality_rating": "GREEN", "id": self.phone_number_id})
        media = self.media.get(object_id)
        if media is None:
            return _json(meta_error(100, f"Unsupported get request. Object with ID '{object_id}' does not exist.",
                                    subcode=33, error_type="GraphMethodException"), 400)
        token = secrets.token_urlsafe(16)
        self._download_tokens[token] = object_id
        return _json({"messaging_product": "whatsapp", "url": f"{self.url}/download/{token}",
                      "mime_type": media.mime_type, "sha256": hashlib.sha256(media.content).hexdigest(),
                      "file_size": len(media.content), "id": object_id})

    def _on_download(self, request: Request, token: str) -> Response:
        media_id = self._download_tokens.get(token)
        if media_id is None:
            return Response("URL expired", status=404)
        media = self.media[media_id]
        return Response(media.content, content_type=media.mime_type)

    def _on_templates(self, request: Request, version: str, waba_id: str) -> Response:
        if waba_id != self.business_account_id:
            return _json(meta_error(100, "Unsupported get request.", error_type="GraphMethodException"), 400)
        wanted = request.args.get("status")
        data = [t for t in self.templates if not wanted or t["status"] == wanted]
        limit = int(request.args.get("limit") or 25)
        offset = int(request.args.get("after") or 0)
        page = {"data": data[offset:offset + limit], "paging": {"cursors": {"before": str(offset), "after": str(offset + limit)}}}
        if offset + limit < len(data):
            page["paging"]["next"] = (f"{self.url}/{version}/{waba_id}/message_templates"
                                      f"?status={wanted or ''}&limit={limit}&after={offset + limit}")
        return _json(page)

    def _on_inbound(self, request: Request) -> Response:
        """Demo helper: play a resident. {"from", "text", "name"?} is delivered as a signed webhook."""
        body = request.get_json(silent=True) or {}
        answer = self.deliver(self.inbound(str(body.get("from", "31612345678")), text=str(body.get("text", "")),
                                           name=str(body.get("name", ""))))
        return _json({"webhook_status": answer.status_code})


def _reset_connection(environ: dict[str, Any]) -> None:
    """Drop the client's connection without an answer, as a crashing load balancer does, and stop this request."""
    connection = environ.get("werkzeug.socket")
    if connection is not None:
        # No more reading: werkzeug ends the connection instead of waiting for a next request on it.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.shutdown(socket.SHUT_RD)
    raise ConnectionResetError("peer dropped the connection on purpose")


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--webhook-url", default="", help="The channel account's webhook URL in Omnidesk.")
    for name, value in DEFAULTS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", default=value)
    args = parser.parse_args()
    credentials = {name: getattr(args, name) for name in DEFAULTS}
    peer = GraphPeer(webhook_url=args.webhook_url, auto_statuses=True, **credentials).start(args.port)
    print(json.dumps({"graph_api_base_url": peer.url, **peer.account_config()}, indent=2), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        peer.stop()


if __name__ == "__main__":
    main()
