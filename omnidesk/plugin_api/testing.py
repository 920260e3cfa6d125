"""The contract test kit: every channel plugin's tests subclass `ChannelContract`.

A plugin supplies its adapter, its fixtures (real, anonymised provider payloads named
`<event>__<variant>.<ext>` in a folder), the events each fixture must give, how to sign a request,
and how its provider answers a send. The kit then checks, against a real local HTTP peer
(pytest-httpserver) and the real database:

- every fixture parses into exactly the expected events, touching no database;
- a request without its signature, or tampered with, is refused;
- delivering a fixture twice through the real webhook endpoint stores each message once;
- sending goes over HTTP to the peer, and the provider's answers map to success, transient or
  permanent errors as declared; an unreachable provider is a transient error;
- core refuses what the declared capabilities exclude (over-long text, attachments) before the
  provider is called.

Usage (see docs/plugins.md)::

    class TestMyChannel(ChannelContract):
        adapter_class = MyAdapter
        fixtures_dir = Path(__file__).parent.parent / "fixtures"
        expected_events = {"message__text.json": [InboundMessage(...)]}
        send_path = "/v1/messages"
        send_success = PeerAnswer(200, {"id": "abc"}, provider_message_id="abc")
        send_errors = [PeerAnswer(500, {}, error=TransientDeliveryError), ...]

        def config(self, peer_url: str) -> dict: ...
        def sign(self, request: WebhookRequest, account: AccountContext) -> WebhookRequest: ...

It needs pytest-django and pytest-httpserver, which come with Omnidesk's development requirements.
"""
from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

import pytest

from omnidesk.plugin_api.adapter import ChannelAdapter
from omnidesk.plugin_api.capabilities import capability_problem
from omnidesk.plugin_api.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError, VerificationFailed
from omnidesk.plugin_api.events import (
    AccountContext,
    IdentityRef,
    InboundEvent,
    InboundMessage,
    OutboundAttachment,
    OutboundMessage,
    WebhookRequest,
)

CONTENT_TYPES = {".json": "application/json", ".form": "application/x-www-form-urlencoded", ".xml": "text/xml"}


@dataclasses.dataclass(frozen=True)
class PeerAnswer:
    """How the provider peer answers a send, and what the plugin must make of it."""

    status: int
    body: Any = None  # JSON-serialisable, or str/bytes sent as is
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    provider_message_id: str = ""  # for a success: the id the plugin must return
    error: type[DeliveryError] | None = None  # for a failure: the error class the plugin must raise
    code: str = ""  # for a failure: the error code the plugin must report (empty: not checked)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChannelContract:
    """Base class of a plugin's contract tests (pytest collects subclasses named Test*)."""

    adapter_class: ClassVar[type[ChannelAdapter]]
    fixtures_dir: ClassVar[Path]
    # fixture file name -> the events it must parse into, in order
    expected_events: ClassVar[dict[str, Sequence[InboundEvent]]]
    send_path: ClassVar[str]  # the provider endpoint the adapter POSTs replies to, on the peer
    send_success: ClassVar[PeerAnswer]
    send_errors: ClassVar[Sequence[PeerAnswer]] = ()
    recipient: ClassVar[IdentityRef]

    # --- what a plugin supplies -----------------------------------------------------------------
    def config(self, peer_url: str) -> dict[str, Any]:
        """A valid account config (secrets included) whose provider base URL is `peer_url`."""
        raise NotImplementedError

    def sign(self, request: WebhookRequest, account: AccountContext) -> WebhookRequest:
        """The same request, signed the way the provider signs it."""
        raise NotImplementedError

    def tamper(self, request: WebhookRequest) -> WebhookRequest:
        """A signed request altered in transit. Default: one more byte in the body."""
        return dataclasses.replace(request, body=request.body + b" ")

    def webhook_request(self, fixture: str, body: bytes, account: AccountContext) -> WebhookRequest:
        """The unsigned request that carries a fixture. Override for GET handshakes or odd content types."""
        return WebhookRequest(
            method="POST",
            url=account.webhook_url,
            headers={"content-type": CONTENT_TYPES.get(Path(fixture).suffix, "application/octet-stream")},
            query={},
            body=body,
            content_type=CONTENT_TYPES.get(Path(fixture).suffix, ""),
        )

    # --- helpers --------------------------------------------------------------------------------
    @property
    def adapter(self) -> ChannelAdapter:
        return self.adapter_class()

    def account_context(self, peer_url: str = "http://127.0.0.1:9", public_id: str = "contract-account") -> AccountContext:
        form = self.adapter_class.config_form(data=self.config(peer_url))
        assert form.is_valid(), f"config() does not pass the plugin's own form: {form.errors.as_json()}"
        return AccountContext(
            public_id=public_id,
            name="Contract test",
            municipality_slug="contract",
            config=form.cleaned_data,
            webhook_url=f"https://omnidesk.example/webhooks/{public_id}/",
        )

    def fixture_body(self, name: str) -> bytes:
        return (self.fixtures_dir / name).read_bytes()

    def signed(self, name: str, account: AccountContext) -> WebhookRequest:
        return self.sign(self.webhook_request(name, self.fixture_body(name), account), account)

    def outbound(self, text: str = "Goedemorgen, wij helpen u graag.", **changes: Any) -> OutboundMessage:
        return OutboundMessage(message_id="4242", recipient=self.recipient, text=text, sender_name="Anna", **changes)

    # --- the contract ---------------------------------------------------------------------------
    def test_every_fixture_has_expectations(self) -> None:
        on_disk = {p.name for p in self.fixtures_dir.iterdir() if p.is_file() and not p.name.startswith(".")}
        assert on_disk, f"no fixtures in {self.fixtures_dir}"
        assert on_disk == set(self.expected_events), "fixtures and expected_events must name the same files"

    def test_fixtures_parse_into_expected_events(self) -> None:
        # No `db` fixture here: pytest-django blocks the database, so a query in verify or parse fails the test.
        account = self.account_context()
        for name, expected in self.expected_events.items():
            result = self.adapter.handle_webhook(self.signed(name, account), account)
            assert list(result.events) == list(expected), f"{name} parsed differently"

    def test_missing_signature_is_refused(self) -> None:
        account = self.account_context()
        for name in self.expected_events:
            unsigned = self.webhook_request(name, self.fixture_body(name), account)
            with pytest.raises(VerificationFailed):
                self.adapter.handle_webhook(unsigned, account)

    def test_tampered_request_is_refused(self) -> None:
        account = self.account_context()
        for name in self.expected_events:
            with pytest.raises(VerificationFailed):
                self.adapter.handle_webhook(self.tamper(self.signed(name, account)), account)

    def test_redelivery_is_idempotent_end_to_end(self, db: Any, client: Any, contract_registered: Any) -> None:
        from omnidesk.channel_accounts.selectors import account_context
        from omnidesk.channel_accounts.services import channel_account_create
        from omnidesk.tenants.services import municipality_create
        from omnidesk.tickets.models import Message

        municipality = municipality_create(slug="contract-town", name="Contract Town")
        row = channel_account_create(
            municipality=municipality, plugin_key=self.adapter_class.key, name="Contract", config=self.config("http://127.0.0.1:9")
        )
        account = account_context(row)
        message_fixtures = [n for n, ev in self.expected_events.items() if any(isinstance(e, InboundMessage) for e in ev)]
        assert message_fixtures, "at least one fixture must carry an inbound message"
        for name in message_fixtures:
            request = self.signed(name, account)
            expected = sum(isinstance(e, InboundMessage) for e in self.expected_events[name])
            inbound = Message.objects.filter(direction="inbound", kind="message")
            before = inbound.count()
            for attempt in range(2):
                response = client.generic(
                    request.method,
                    f"/webhooks/{row.public_id}/" + (f"?{request.url.split('?', 1)[1]}" if "?" in request.url else ""),
                    data=request.body,
                    content_type=request.content_type or "application/octet-stream",
                    headers={k: v for k, v in request.headers.items() if k != "content-type"},
                )
                assert response.status_code == 200, f"{name}: {response.status_code} {response.content[:300]!r}"
                assert inbound.count() == before + expected, f"{name}: delivery {attempt + 1} stored wrongly"

    def test_send_goes_over_http_to_the_peer(self, httpserver: Any) -> None:
        self._answer(httpserver, self.send_success)
        account = self.account_context(httpserver.url_for("").rstrip("/"))
        result = self.adapter.send(self.outbound(), account)
        assert result.provider_message_id == self.send_success.provider_message_id
        requests = [r for r, _ in httpserver.log if r.path == self.send_path]
        assert len(requests) == 1, "exactly one HTTP request to the provider per send"

    def test_provider_errors_map_as_declared(self, httpserver: Any) -> None:
        assert self.send_errors, "declare at least one transient and one permanent provider error"
        kinds = {answer.error for answer in self.send_errors}
        assert TransientDeliveryError in kinds and PermanentDeliveryError in kinds
        account = self.account_context(httpserver.url_for("").rstrip("/"))
        for answer in self.send_errors:
            httpserver.clear()
            self._answer(httpserver, answer)
            with pytest.raises(DeliveryError) as caught:
                self.adapter.send(self.outbound(), account)
            assert type(caught.value) is answer.error, f"HTTP {answer.status} should raise {answer.error.__name__}"
            if answer.code:
                assert caught.value.code == answer.code

    def test_unreachable_provider_is_transient(self) -> None:
        account = self.account_context(f"http://127.0.0.1:{_closed_port()}")
        with pytest.raises(TransientDeliveryError):
            self.adapter.send(self.outbound(), account)

    def test_declared_capabilities_are_enforced(self, httpserver: Any) -> None:
        capabilities = self.adapter_class.capabilities
        too_long = self.outbound("x" * (capabilities.max_text_length + 1))
        assert capability_problem(capabilities, too_long) is not None
        attachment = OutboundAttachment(
            filename="scan.exe", content_type="application/x-msdownload", size=10**9, url="https://omnidesk.example/f"
        )
        assert capability_problem(capabilities, self.outbound(attachments=(attachment,))) is not None
        assert capability_problem(capabilities, self.outbound()) is None

    # --- internals ------------------------------------------------------------------------------
    @pytest.fixture
    def contract_registered(self) -> Iterator[None]:
        """The adapter is available to core during the test, installed or not (e.g. a fresh scaffold)."""
        with registered(self.adapter_class):
            yield

    def _answer(self, httpserver: Any, answer: PeerAnswer) -> None:
        handler = httpserver.expect_request(self.send_path)
        if isinstance(answer.body, (str, bytes)):
            handler.respond_with_data(answer.body, status=answer.status, headers=answer.headers)
        else:
            handler.respond_with_json(answer.body if answer.body is not None else {}, status=answer.status, headers=answer.headers)


@contextmanager
def registered(adapter_class: type[ChannelAdapter]) -> Iterator[ChannelAdapter]:
    """Make an adapter available for the duration of a test, as if it were installed (and leave no trace)."""
    from omnidesk.plugin_api.registry import get_registry

    registry = get_registry()
    previous = registry.adapters.get(adapter_class.key)
    adapter = registry.adapters[adapter_class.key] = adapter_class()
    try:
        yield adapter
    finally:
        if previous is None:
            registry.adapters.pop(adapter_class.key, None)
        else:
            registry.adapters[adapter_class.key] = previous


def utc(*args: int) -> datetime:
    """A timezone-aware UTC datetime, for expected events."""
    return datetime(*args, tzinfo=timezone.utc)


def json_body(payload: Any) -> bytes:
    return json.dumps(payload).encode()
