"""Local provider peers: real HTTP servers on 127.0.0.1 that speak Twilio's and Bird's APIs, for tests and demos.

Each peer answers the send API like the provider (checking credentials, recording every request), serves media
files, can be told to fail the next sends (`fail_next`), and builds inbound and status webhooks signed with the
provider's real algorithm (`inbound`, `status`), to POST over HTTP or through Django's test client. For fault
tests a peer can also be slow (`send_delay`, `slow_next`), drop connections (`reset_next`) and answer every send
with 429 and Retry-After for a while (`rate_limit`).

    with TwilioPeer(account_sid, auth_token) as peer:          # peer.url is the api_base_url to configure
        peer.inbound(webhook_url, "Hallo", sender="+31612345678").post()
        peer.fail_next(500, {"code": 20500, "message": "Internal"})

Demo: `python -m channels_plugins.sms.peers serve twilio --port 9025` runs a peer until interrupted, and
`python -m channels_plugins.sms.peers inbound twilio <webhook url> "text"` sends one signed inbound SMS.
"""
from __future__ import annotations

import argparse
import json
import math
import socket
import struct
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from omnidesk.plugin_api import sms as segments
from channels_plugins.sms.providers import bird as bird_provider
from channels_plugins.sms.providers import twilio as twilio_provider

TWILIO_TEST_SID = "AC" + "0f3a" * 8
TWILIO_TEST_TOKEN = "peer-auth-token"


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002  (werkzeug's signature)
        """Tests read `requests`, not an access log."""


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass(frozen=True)
class SignedWebhook:
    """A webhook as the provider sends it: the URL it signed, headers with the signature, the exact body."""

    url: str
    body: bytes
    headers: dict[str, str]
    content_type: str

    def post(self, to: str = "") -> requests.Response:
        """POST over real HTTP, to `url` or to `to` (e.g. the internal address behind a proxy)."""
        return requests.post(to or self.url, data=self.body, timeout=10,
                             headers={**self.headers, "Content-Type": self.content_type})

    def via(self, django_client: Any) -> Any:
        """POST through Django's test client (same path and query; the signed URL stays what it was)."""
        parts = urlsplit(self.url)
        return django_client.generic("POST", parts.path + (f"?{parts.query}" if parts.query else ""), data=self.body,
                                     content_type=self.content_type, headers=self.headers)


@dataclass
class _Answer:
    """A canned answer to one send; status 0 means answer normally, after `delay` seconds."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    reset: bool = False  # drop the connection without an answer


class _Peer:
    """A threaded WSGI server on 127.0.0.1 with recording, canned failures and media."""

    RATE_LIMITED: Any = {"message": "Too Many Requests"}  # the provider's 429 body

    def __init__(self, port: int = 0) -> None:
        self.requests: list[Recorded] = []
        self.sent: list[dict[str, Any]] = []  # accepted messages, as the provider understood them
        self.send_delay = 0.0  # seconds every send waits before its answer: a slow provider
        self._limited_until = 0.0
        self._limit_retry_after: int | None = None
        self._local = threading.local()  # the WSGI environ of the request this thread answers
        self._failures: deque[_Answer] = deque()
        self._media: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", port, self._wsgi, threaded=True,
                                   request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> _Peer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever, which never ran on an unstarted peer
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> _Peer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(self, status: int, body: Any = None, headers: dict[str, str] | None = None, *, times: int = 1) -> None:
        """The next `times` sends get this answer instead of success."""
        with self._lock:
            self._failures.extend(_Answer(status, body if body is not None else {}, headers or {}) for _ in range(times))

    def slow_next(self, seconds: float, *, times: int = 1) -> None:
        """Answer the next sends normally, but only after `seconds` (past the client's timeout: it gives up)."""
        with self._lock:
            self._failures.extend(_Answer(0, None, delay=seconds) for _ in range(times))

    def reset_next(self, *, times: int = 1) -> None:
        """Drop the connection of the next sends without an answer."""
        with self._lock:
            self._failures.extend(_Answer(0, None, reset=True) for _ in range(times))

    def rate_limit(self, seconds: float, *, retry_after: int | None = None) -> None:
        """Answer every send in the next `seconds` with 429 and Retry-After (the time left, unless given)."""
        with self._lock:
            self._limited_until = time.time() + seconds
            self._limit_retry_after = retry_after

    def add_media(self, path: str, content: bytes, content_type: str) -> str:
        self._media[path] = (content, content_type)
        return self.url + path

    def sends(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

    # --- HTTP -------------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        self._local.environ = environ
        request = Request(environ)
        body = request.get_data()
        with self._lock:
            self.requests.append(Recorded(request.method, request.path,
                                          {k.lower(): v for k, v in request.headers.items()}, body))
        response = self.handle(request, body)
        return response(environ, start_response)

    def handle(self, request: Request, body: bytes) -> Response:
        raise NotImplementedError

    def _media_response(self, request: Request) -> Response | None:
        if request.method == "GET" and request.path in self._media:
            content, content_type = self._media[request.path]
            return Response(content, 200, content_type=content_type)
        return None

    def _next_failure(self) -> _Answer | None:
        with self._lock:
            answer = self._failures.popleft() if self._failures else None
            left = self._limited_until - time.time()
            if answer is None and left > 0:
                retry_after = self._limit_retry_after or math.ceil(left)
                answer = _Answer(429, self.RATE_LIMITED, {"Retry-After": str(retry_after)})
        delay = self.send_delay + (answer.delay if answer else 0.0)
        if delay:
            time.sleep(delay)
        if answer is not None and answer.reset:
            _reset_connection(self._current_environ())
        return answer if answer is not None and answer.status else None

    def _current_environ(self) -> dict[str, Any]:
        return getattr(self._local, "environ", {})

    @staticmethod
    def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
        if isinstance(body, (bytes, str)):
            return Response(body, status, headers=headers or {})
        return Response(json.dumps(body), status, headers=headers or {}, content_type="application/json")


class TwilioPeer(_Peer):
    """Twilio's Messages API (form POST, basic auth, 201 JSON) and signed form webhooks."""

    RATE_LIMITED = {"code": 20429, "message": "Too Many Requests", "status": 429,
                    "more_info": "https://www.twilio.com/docs/errors/20429"}

    def __init__(self, account_sid: str = TWILIO_TEST_SID, auth_token: str = TWILIO_TEST_TOKEN,
                 number: str = "+3197010203040", port: int = 0) -> None:
        super().__init__(port)
        self.account_sid, self.auth_token, self.number = account_sid, auth_token, number

    def _error(self, status: int, code: int, message: str) -> Response:
        return self._json(status, {"code": code, "message": message, "status": status,
                                   "more_info": f"https://www.twilio.com/docs/errors/{code}"})

    def handle(self, request: Request, body: bytes) -> Response:
        media = self._media_response(request)
        auth = request.authorization
        if auth is None or (auth.username, auth.password) != (self.account_sid, self.auth_token):
            return self._error(401, 20003, "Authenticate")
        if media is not None:
            return media
        prefix = f"/{twilio_provider.API_VERSION}/Accounts/{self.account_sid}"
        if request.method == "GET" and request.path == f"{prefix}.json":
            return self._json(200, {"sid": self.account_sid, "friendly_name": "Omnidesk peer", "status": "active"})
        if request.method != "POST" or request.path != f"{prefix}/Messages.json":
            return self._error(404, 20404, "The requested resource was not found")
        failure = self._next_failure()
        if failure is not None:
            return self._json(failure.status, failure.body, failure.headers)
        form = request.form
        to, text = form.get("To", ""), form.get("Body", "")
        if not to.startswith("+") or not to[1:].isdigit():
            return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return self._error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required.")
        if not text or len(text) > 1600:
            return self._error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        sid = "SM" + uuid.uuid4().hex
        self.sent.append({"sid": sid, "to": to, "body": text, "from": form.get("From", ""),
                          "messaging_service_sid": form.get("MessagingServiceSid", ""),
                          "status_callback": form.get("StatusCallback", "")})
        return self._json(201, {"sid": sid, "status": "queued", "to": to, "from": form.get("From") or self.number,
                                "body": text, "num_segments": str(segments.count(text).segments), "error_code": None,
                                "account_sid": self.account_sid})

    # --- webhooks ---------------------------------------------------------------------------------
    def _signed(self, url: str, params: list[tuple[str, str]]) -> SignedWebhook:
        return SignedWebhook(url=url, body=urlencode(params).encode(), content_type="application/x-www-form-urlencoded",
                             headers={"X-Twilio-Signature": twilio_provider.signature(self.auth_token, url, params)})

    def inbound(self, url: str, text: str, *, sender: str = "+31612345678",
                media: tuple[tuple[str, str], ...] = (), sid: str = "") -> SignedWebhook:
        """An inbound SMS (or MMS: `media` as (url, content type) pairs) as Twilio posts it to `url`."""
        sid = sid or ("MM" if media else "SM") + uuid.uuid4().hex
        params = [("ToCountry", "NL"), ("SmsMessageSid", sid), ("NumMedia", str(len(media))), ("SmsSid", sid),
                  ("SmsStatus", "received"), ("Body", text), ("FromCountry", "NL"), ("To", self.number),
                  ("NumSegments", str(max(1, segments.count(text).segments))), ("MessageSid", sid),
                  ("AccountSid", self.account_sid), ("From", sender), ("ApiVersion", twilio_provider.API_VERSION)]
        for index, (media_url, content_type) in enumerate(media):
            params += [(f"MediaContentType{index}", content_type), (f"MediaUrl{index}", media_url)]
        if text.strip().upper() in ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"):
            params.append(("OptOutType", "STOP"))
        return self._signed(url, params)

    def status(self, url: str, sid: str, status: str, *, error_code: str = "", to: str = "+31612345678") -> SignedWebhook:
        """A status callback for one of our messages, as Twilio posts it to the StatusCallback URL."""
        params = [("SmsSid", sid), ("SmsStatus", status), ("MessageStatus", status), ("To", to), ("MessageSid", sid),
                  ("AccountSid", self.account_sid), ("From", self.number), ("ApiVersion", twilio_provider.API_VERSION)]
        if error_code:
            params.append(("ErrorCode", error_code))
        return self._signed(url, params)


class BirdPeer(_Peer):
    """Bird's Channels API (JSON, AccessKey auth, 202) and Notifications API webhooks signed like Bird's."""

    RATE_LIMITED = {"code": "TooManyRequests", "message": "Too many requests"}

    def __init__(self, workspace_id: str = "1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6",
                 channel_id: str = "9c6a1d2e-4b3f-4e8a-9d1c-2f5e6a7b8c9d", access_key: str = "peer-access-key",
                 signing_key: str = "peer-signing-key", number: str = "+3197010203040", port: int = 0) -> None:
        super().__init__(port)
        self.workspace_id, self.channel_id, self.number = workspace_id, channel_id, number
        self.access_key, self.signing_key = access_key, signing_key

    def handle(self, request: Request, body: bytes) -> Response:
        if request.headers.get("Authorization", "") != f"AccessKey {self.access_key}":
            return self._json(401, {"code": "Unauthorized", "message": "Invalid or missing access key"})
        media = self._media_response(request)
        if media is not None:
            return media
        channel = f"/workspaces/{self.workspace_id}/channels/{self.channel_id}"
        if request.method == "GET" and request.path == channel:
            return self._json(200, {"id": self.channel_id, "name": "SMS (peer)", "platformId": "sms-messagebird"})
        if request.method != "POST" or request.path != f"{channel}/messages":
            return self._json(404, {"code": "NotFound", "message": "The requested resource was not found"})
        failure = self._next_failure()
        if failure is not None:
            return self._json(failure.status, failure.body, failure.headers)
        try:
            payload = json.loads(body)
            to = payload["receiver"]["contacts"][0]["identifierValue"]
            text = payload["body"]["text"]["text"]
        except (ValueError, KeyError, IndexError, TypeError):
            return self._json(422, {"code": "InvalidPayload", "message": "receiver and body.text.text are required"})
        if not str(to).startswith("+"):
            return self._json(422, {"code": "InvalidPayload", "message": "identifierValue is not a phone number"})
        message_id = str(uuid.uuid4())
        self.sent.append({"id": message_id, "to": to, "body": text, "reference": payload.get("reference", "")})
        return self._json(202, {"id": message_id, "channelId": self.channel_id, "status": "accepted",
                                "reference": payload.get("reference", ""), "direction": "outgoing"})

    # --- webhooks ---------------------------------------------------------------------------------
    def _signed(self, url: str, envelope: dict[str, Any], timestamp: float | None) -> SignedWebhook:
        body = json.dumps(envelope).encode()
        stamp = str(int(timestamp if timestamp is not None else time.time()))
        return SignedWebhook(url=url, body=body, content_type="application/json", headers={
            "messagebird-signature": bird_provider.signature(self.signing_key, stamp, url, body),
            "messagebird-request-timestamp": stamp,
        })

    def inbound(self, url: str, text: str, *, sender: str = "+31612345678", media: tuple[str, ...] = (),
                message_id: str = "", timestamp: float | None = None) -> SignedWebhook:
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(timestamp))
        body: dict[str, Any] = {"type": "text", "text": {"text": text}}
        if media:
            body = {"type": "image", "image": {"images": [{"mediaUrl": m} for m in media], "text": text}}
        return self._signed(url, {"service": "channels", "event": "sms.inbound", "payload": {
            "id": message_id or str(uuid.uuid4()), "channelId": self.channel_id,
            "sender": {"contact": {"identifierKey": "phonenumber", "identifierValue": sender}},
            "receiver": {"connector": {"identifierValue": self.number}},
            "body": body, "direction": "incoming", "status": "delivered", "createdAt": now, "lastStatusAt": now}},
            timestamp)

    def status(self, url: str, message_id: str, status: str, *, details: str = "", reason: str = "",
               failure_code: int | None = None, timestamp: float | None = None) -> SignedWebhook:
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(timestamp))
        payload: dict[str, Any] = {"id": message_id, "channelId": self.channel_id, "status": status,
                                   "direction": "outgoing", "lastStatusAt": now, "updatedAt": now}
        if details or reason:
            payload.update({"details": details, "reason": reason})
        if failure_code is not None:
            payload["failure"] = {"code": failure_code, "source": {"name": "sms-messagebird"}}
        return self._signed(url, {"service": "channels", "event": "sms.outbound", "payload": payload}, timestamp)


def _reset_connection(environ: dict[str, Any]) -> None:
    """Drop the client's connection without an answer and stop this request (werkzeug treats it as dropped)."""
    connection = environ.get("werkzeug.socket")
    if connection is not None:
        # No more reading: werkzeug ends the connection instead of waiting for a next request on it.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.shutdown(socket.SHUT_RD)
    raise ConnectionResetError("peer dropped the connection on purpose")


def _main() -> None:
    parser = argparse.ArgumentParser(prog="python -m channels_plugins.sms.peers", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run a provider peer until interrupted")
    serve.add_argument("provider", choices=["twilio", "bird"])
    serve.add_argument("--port", type=int, default=9025)
    inbound = commands.add_parser("inbound", help="send one signed inbound SMS to a webhook URL")
    inbound.add_argument("provider", choices=["twilio", "bird"])
    inbound.add_argument("webhook_url")
    inbound.add_argument("text")
    inbound.add_argument("--sender", default="+31612345678")
    args = parser.parse_args()
    peer: _Peer = TwilioPeer(port=getattr(args, "port", 0)) if args.provider == "twilio" else BirdPeer(port=getattr(args, "port", 0))
    if args.command == "inbound":
        response = peer.inbound(args.webhook_url, args.text, sender=args.sender).post()  # type: ignore[attr-defined]
        print(response.status_code, response.text[:300])
        peer.stop()
        return
    if isinstance(peer, TwilioPeer):
        print(f"Twilio peer on {peer.url}: api_base_url={peer.url} account_sid={peer.account_sid} "
              f"auth_token={peer.auth_token} from_number={peer.number}")
    else:
        assert isinstance(peer, BirdPeer)
        print(f"Bird peer on {peer.url}: api_base_url={peer.url} workspace_id={peer.workspace_id} "
              f"channel_id={peer.channel_id} access_key={peer.access_key} signing_key={peer.signing_key}")
    with peer:
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    _main()

__all__ = ["BirdPeer", "Recorded", "SignedWebhook", "TwilioPeer"]
