"""Delivering claimed replies of one channel account: the checks, the breaker, the sends, the outcomes.

Claimed replies (outbound/claims.py) belong to different conversations, so they may go to the provider side by side,
up to what the plugin says the provider takes (`Capabilities.concurrent_sends`). Outcomes are recorded together, in
one transaction, as the sends come back: a worker killed in between leaves its replies `sending` for the outbox
sweep, and the retry adopts the provider's status report of a send that did arrive instead of sending it again
(`_accepted_earlier`).
"""
from __future__ import annotations

import enum
import logging
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F
from django.utils import timezone

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.selectors import account_context
from omnidesk.channel_accounts.services import channel_account_clear_flag, channel_account_flag
from omnidesk.contacts.selectors import opted_out_identity_ids
from omnidesk.contacts.services import consent_record
from omnidesk.ops import breaker
from omnidesk.ops.retry import backoff_seconds
from omnidesk.plugin_api.adapter import ChannelAdapter
from omnidesk.plugin_api.capabilities import capability_problem
from omnidesk.plugin_api.errors import AccountProblem, PermanentDeliveryError, TransientDeliveryError
from omnidesk.plugin_api.events import (
    AccountContext,
    IdentityKind,
    IdentityRef,
    OutboundAttachment,
    OutboundMessage,
    SendResult,
    TemplateRef,
)
from omnidesk.plugin_api.registry import UnknownPlugin, get_adapter
from omnidesk.tickets.files import signed_url
from omnidesk.tickets.models import DeliveryEvent, DeliveryStatus, Direction, Kind, Message
from omnidesk.tickets.presenters import user_name
from omnidesk.tickets.services import (
    consent_noted,
    outbound_mark_failed,
    outbound_mark_retrying,
    outbound_mark_sent_many,
    publish_message,
)

logger = logging.getLogger(__name__)



class Outcome(enum.Enum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"  # not queued (already sent, or another worker has it)


RECORD_GROUP = 25  # sends that came back, recorded together
RECORD_AFTER = 0.05  # seconds: the longest a send that came back waits for others before it is recorded

Outcomes = dict[int, tuple[Outcome, float]]  # message id -> outcome, and for RETRY the delay before the next try


@dataclass
class Attempt:
    message: Message
    outbound: OutboundMessage
    granted: breaker.Permit = field(default_factory=breaker.Permit)
    result: SendResult | None = None
    error: Exception | None = None


def concurrent_sends(account: ChannelAccount) -> int:
    try:
        wanted = get_adapter(account.plugin_key).capabilities.concurrent_sends
    except UnknownPlugin:
        return 1
    return max(1, min(wanted, settings.OMNIDESK["OUTBOUND_MAX_CONCURRENT_SENDS"]))


class Pipeline:
    """Sends one account's claimed replies, keeping up to `parallel` of them at the provider at once.

    Claimed replies are checked (`add`) and wait in a backlog; `pump` hands them to sender threads (or sends inline
    when `parallel` is 1); `collect` records whatever came back, together, in one transaction. The sender threads
    live as long as the pipeline, so each keeps its connection to the provider alive (plugin_api.http.pooled_session).
    When a send shows the provider struggling, nothing more is started: what waits in the backlog goes back to the
    queue untouched, and the breaker decides about it on the next claim.
    """

    def __init__(self, account: ChannelAccount, *, parallel: int = 1, use_breaker: bool = True) -> None:
        self.account = account
        self.parallel = max(1, parallel)
        self.use_breaker = use_breaker
        self.outcomes: Outcomes = {}
        self.stopping = False
        self._backlog: deque[Attempt] = deque()
        self._in_flight: dict[Future[None], Attempt] = {}
        self._returned: list[Attempt] = []
        self._first_returned = 0.0
        self._pool: ThreadPoolExecutor | None = None
        self._adapter: ChannelAdapter | None = None
        self._context: AccountContext | None = None

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        try:
            if exc_type is None:  # after a crash (the database went away) the sweep deals with what is `sending`
                self.finish()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)

    @property
    def wants_more(self) -> bool:
        return not self.stopping and len(self._backlog) < self.parallel

    @property
    def idle(self) -> bool:
        """Nothing at the provider or waiting to be recorded, and nothing more will be started."""
        return not self._in_flight and not self._returned and (not self._backlog or self.stopping)

    def add(self, messages: Sequence[Message]) -> None:
        """Claimed replies: refused ones are recorded at once; the breaker says whether the rest may go now."""
        ready = _sendable(self.account, messages, self.outcomes)
        if not ready:
            return
        granted = breaker.permit(self.account.pk, [a.message.pk for a in ready]) if self.use_breaker else breaker.Permit()
        if granted.wait > 0:
            _postpone(ready, granted, self.outcomes)
            return
        if granted.only is not None:
            # One goes first (the half-open trial, or the reply the provider's pause was about); the others are
            # claimed again and asked about after it.
            lead = [a for a in ready if a.message.pk == granted.only]
            _release([a for a in ready if a.message.pk != granted.only], self.outcomes)
            ready = lead
        for attempt in ready:
            attempt.granted = granted
        self._backlog.extend(ready)

    def pump(self) -> None:
        """Start sends from the backlog while there is room."""
        if self._backlog and self._adapter is None:  # here, not on a sender thread: set once, before any send
            self._adapter, self._context = get_adapter(self.account.plugin_key), account_context(self.account)
        while self._backlog and not self.stopping and len(self._in_flight) < self.parallel:
            attempt = self._backlog.popleft()
            if self.parallel == 1:
                self._send(attempt)
                self._record([attempt])
                continue
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="omnidesk-send")
            self._in_flight[self._pool.submit(self._send_on_thread, attempt)] = attempt

    def collect(self, timeout: float | None = None) -> None:
        """Wait (at most `timeout`) for sends to come back. What came back is recorded in groups: when RECORD_GROUP
        have, when nothing is out any more, or RECORD_AFTER seconds after the first of a group came back, so a burst
        costs one transaction per group rather than per reply."""
        if self._in_flight:
            done, _pending = wait(self._in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
            if done and not self._returned:
                self._first_returned = time.monotonic()
            self._returned.extend(self._in_flight.pop(future) for future in done)
        struggling = any(_provider_struggles(a.error) for a in self._returned)
        if self._returned and not struggling:
            self.pump()  # the freed senders go on while this thread records what came back
        if self._returned and (len(self._returned) >= RECORD_GROUP or not self._in_flight
                               or time.monotonic() - self._first_returned >= RECORD_AFTER or struggling):
            returned, self._returned = self._returned, []
            self._record(returned)

    def finish(self) -> Outcomes:
        """Let the sends under way come back, record them; what was never started goes back to the queue."""
        while self._in_flight or self._returned:
            self.collect()
        if self._backlog:
            _release(list(self._backlog), self.outcomes)
            self._backlog.clear()
        return self.outcomes

    def _send(self, attempt: Attempt) -> None:
        try:
            attempt.result = self._adapter.send(attempt.outbound, self._context)  # type: ignore[union-attr, arg-type]
        except Exception as exc:  # noqa: BLE001  (sorted out when the outcome is recorded)
            attempt.error = exc

    def _send_on_thread(self, attempt: Attempt) -> None:
        try:
            self._send(attempt)
        finally:
            # A plugin should not touch the database, but if one does on a sender thread, it must not linger there.
            connections.close_all()

    def _record(self, attempts: list[Attempt]) -> None:
        if self.use_breaker and any(_provider_struggles(a.error) for a in attempts):
            self.stopping = True
        _record(self.account, attempts, self.outcomes, use_breaker=self.use_breaker)


def _provider_struggles(exc: Exception | None) -> bool:
    return isinstance(exc, TransientDeliveryError) and not exc.this_recipient_only


def deliver_batch(messages: Sequence[Message], *, use_breaker: bool = True) -> Outcomes:
    """One delivery attempt for each claimed reply, one after the other (all of one channel account)."""
    if not messages:
        return {}
    with Pipeline(messages[0].channel_account, use_breaker=use_breaker) as pipeline:
        pipeline.add(messages)
        pipeline.pump()
    return pipeline.outcomes


def _sendable(account: ChannelAccount, messages: Sequence[Message], outcomes: Outcomes) -> list[Attempt]:
    """The replies that may go to the provider; the others are recorded as failed (or as sent by an earlier attempt)."""
    refused: list[tuple[Message, str, str]] = []
    adopted: list[tuple[Message, str]] = []
    ready: list[Attempt] = []
    try:
        adapter = get_adapter(account.plugin_key)
    except UnknownPlugin:
        adapter = None
    opted_out = opted_out_identity_ids(channel_account_id=account.pk,
                                       identity_ids=[m.ticket.identity_id for m in messages])
    for message in messages:
        if not account.enabled:
            refused.append((message, "channel_disabled", "The channel is switched off."))
        elif adapter is None:
            refused.append((message, "plugin_missing", "The channel plugin is not installed."))
        elif message.ticket.identity_id in opted_out:
            refused.append((message, "opted_out", "The resident opted out of this channel."))
        else:
            outbound = outbound_message(message)
            problem = capability_problem(adapter.capabilities, outbound)
            earlier = "" if problem else _accepted_earlier(message)
            if problem:
                refused.append((message, *problem))
            elif earlier:
                adopted.append((message, earlier))  # sending again would reach the resident twice
            else:
                ready.append(Attempt(message, outbound))
    if refused or adopted:
        with transaction.atomic():
            for message, code, reason in refused:
                outbound_mark_failed(message=message, code=code, reason=reason)
                outcomes[message.pk] = (Outcome.FAILED, 0.0)
            outbound_mark_sent_many([(message, earlier, DeliveryStatus.SENT.value) for message, earlier in adopted])
            outcomes.update({message.pk: (Outcome.SENT, 0.0) for message, _earlier in adopted})
    return ready


def _record(account: ChannelAccount, attempts: Sequence[Attempt], outcomes: Outcomes, *, use_breaker: bool) -> None:
    """The outcomes of these sends, in one transaction; the breaker hears how the provider did."""
    if not attempts:
        return
    sent = [a for a in attempts if a.result is not None]
    failed = [a for a in attempts if a.error is not None]
    for attempt in attempts:
        error = attempt.error
        if error is None or isinstance(error, (AccountProblem, PermanentDeliveryError)) or (
                isinstance(error, TransientDeliveryError) and error.this_recipient_only):
            breaker.record_success(account.pk, attempt.granted)  # the provider answered and works
        elif isinstance(error, TransientDeliveryError):
            if use_breaker:
                breaker.record_failure(account.pk, attempt.granted, retry_after=error.retry_after,
                                       message_id=attempt.message.pk)
        else:
            logger.error("channel plugin crashed while sending", exc_info=error,
                         extra={"message_id": attempt.message.pk})
            breaker.release(account.pk, attempt.granted)  # says nothing about the provider
    with transaction.atomic():
        outbound_mark_sent_many([(a.message, a.result.provider_message_id, a.result.status.value)
                                 for a in sent if a.result is not None])
        outcomes.update({a.message.pk: (Outcome.SENT, 0.0) for a in sent})
        if sent:
            channel_account_clear_flag(account=account)
        for attempt in failed:
            outcomes[attempt.message.pk] = _record_failure(account, attempt)


def _record_failure(account: ChannelAccount, attempt: Attempt) -> tuple[Outcome, float]:
    message, error = attempt.message, attempt.error
    if isinstance(error, AccountProblem):
        outbound_mark_failed(message=message, code=error.code, reason=error.reason)
        channel_account_flag(account=account, reason=error.reason)
        return Outcome.FAILED, 0.0
    if isinstance(error, PermanentDeliveryError):
        outbound_mark_failed(message=message, code=error.code, reason=error.reason)
        if error.recipient_opted_out:
            opt_out_reported_by_provider(message=message, code=error.code)
        return Outcome.FAILED, 0.0
    transient = error if isinstance(error, TransientDeliveryError) else None
    # A plugin bug (any other exception) must not leave the message stuck in `sending`: it is retried like a hiccup.
    code, reason = (transient.code, transient.reason) if transient else ("plugin_error", type(error).__name__)
    if message.attempts >= settings.OMNIDESK["OUTBOUND_MAX_ATTEMPTS"]:
        outbound_mark_failed(message=message, code=code or "gave_up", reason=reason)
        return Outcome.FAILED, 0.0
    delay = backoff_seconds(message.attempts, transient.retry_after if transient else None)
    if transient and transient.may_have_been_sent:
        # Give the provider's status report (carrying our id) time to arrive before we risk a double send.
        delay = max(delay, settings.OMNIDESK["OUTBOUND_AMBIGUOUS_WAIT"])
    outbound_mark_retrying(message=message, code=code, reason=reason, delay=delay)
    return Outcome.RETRY, delay


def opt_out_reported_by_provider(*, message: Message, code: str) -> None:
    """The provider refused because the resident opted out: record it, as if their STOP had reached us."""
    identity = message.ticket.identity
    if consent_record(channel_account=message.channel_account, identity=identity, opted_out=True,
                      keyword=code or "provider", at=timezone.now()):
        consent_noted(account=message.channel_account, identity=identity, opted_out=True, keyword=code or "provider")


WAITING_REASONS = {
    "paused": ("provider_rate_limited", "The provider asked to wait; sending resumes after its pause."),
    "open": ("provider_unavailable", "The provider keeps failing; sending resumes when it recovers."),
}


def _postpone(attempts: Sequence[Attempt], granted: breaker.Permit, outcomes: Outcomes) -> None:
    """The account's breaker holds the replies back: queued again without using up an attempt."""
    code, reason = WAITING_REASONS["paused" if granted.paused else "open"]
    with transaction.atomic():
        for attempt in attempts:
            message = attempt.message
            changed = message.error_code != code
            message.delivery_status = DeliveryStatus.QUEUED
            message.claimed_at = None
            message.attempts -= 1
            message.next_attempt_at = timezone.now() + timedelta(seconds=granted.wait)
            message.error_code, message.error_message = code, reason
            message.save(update_fields=["delivery_status", "claimed_at", "attempts", "next_attempt_at", "error_code",
                                        "error_message"])
            if changed:  # show why it waits once, not on every look
                publish_message(message, "message.updated")
            outcomes[message.pk] = (Outcome.RETRY, granted.wait)


def _release(attempts: Sequence[Attempt], outcomes: Outcomes) -> None:
    """Untried replies go back to the queue as they were, due at once."""
    ids = [a.message.pk for a in attempts]
    for attempt in attempts:
        attempt.message.attempts -= 1
    Message.objects.filter(pk__in=ids, delivery_status=DeliveryStatus.SENDING).update(
        delivery_status=DeliveryStatus.QUEUED, claimed_at=None, attempts=F("attempts") - 1)
    outcomes.update({pk: (Outcome.RETRY, 0.0) for pk in ids})


# --- what the plugin gets -------------------------------------------------------------------------------------------
MAX_REFERENCES = 20


def outbound_message(message: Message) -> OutboundMessage:
    """The reply as the plugin sees it."""
    identity = message.ticket.identity
    if hasattr(message, "previous_inbound"):  # looked up with the claim (claims._load)
        previous_inbound = message.previous_inbound or ""
    else:
        previous_inbound = (
            Message.objects.filter(ticket_id=message.ticket_id, direction=Direction.INBOUND,
                                   created_at__lte=message.created_at)
            .exclude(provider_message_id="").order_by("-created_at")
            .values_list("provider_message_id", flat=True).first()
        ) or ""
    template = message.metadata.get("template")
    return OutboundMessage(
        template=TemplateRef(template["name"], template["language"], tuple(template["parameters"])) if template else None,
        message_id=str(message.pk),
        recipient=IdentityRef(IdentityKind(identity.kind), identity.value),
        text=message.text,
        subject=message.subject or message.ticket.subject,
        sender_name=user_name(message.author_user),
        in_reply_to=previous_inbound,
        attempt=message.attempts,
        quote=message.metadata.get("quote", ""),
        attachments=tuple(
            OutboundAttachment(filename=a.filename, content_type=a.content_type, size=a.size, url=signed_url(a))
            for a in message.attachments.all()
        ),
        references=_thread_references(message) if _threaded(message) else (),
        ticket_reference=str(message.ticket.number),
        cc=tuple(message.metadata.get("cc", ())),
        automatic=bool(message.metadata.get("automatic")),
    )


def _thread_references(message: Message) -> tuple[str, ...]:
    """The provider ids of the ticket's earlier messages, oldest first: what email's References header carries.

    The first resident message's own References come first, so a thread that began elsewhere stays whole.
    """
    earlier = list(
        Message.objects.filter(ticket_id=message.ticket_id, kind=Kind.MESSAGE, created_at__lte=message.created_at)
        .exclude(pk=message.pk)
        .exclude(provider_message_id="")
        .order_by("created_at", "id")
        .values("provider_message_id", "metadata")
    )
    ids: list[str] = []
    if earlier:
        ids.extend(reversed(earlier[0]["metadata"].get("references", [])))  # stored nearest first
    ids.extend(m["provider_message_id"] for m in earlier)
    unique = list(dict.fromkeys(ids))
    # Keep the thread's root and the nearest ones, as RFC 5322 suggests for long threads.
    return tuple(unique if len(unique) <= MAX_REFERENCES else [unique[0], *unique[-(MAX_REFERENCES - 1):]])


def _threaded(message: Message) -> bool:
    try:
        return get_adapter(message.channel_account.plugin_key).capabilities.threads
    except UnknownPlugin:
        return False


ACCEPTED_STATUSES = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ)


def _accepted_earlier(message: Message) -> str:
    """The provider id of an earlier attempt of this message that did reach the provider, as its status report
    (echoing our id) shows; "" if none. Only a retry can have one: a worker died or timed out mid-send, and the
    report arrived while the message was still marked `sending`, so nothing adopted it (events already applied to
    the message belong to an earlier delivery the agent chose to send again)."""
    if message.attempts <= 1:
        return ""
    return (
        DeliveryEvent.objects.filter(channel_account_id=message.channel_account_id, client_reference=str(message.pk),
                                     message__isnull=True, status__in=ACCEPTED_STATUSES)
        .order_by("occurred_at", "id")
        .values_list("provider_message_id", flat=True)
        .first()
    ) or ""
