"""Claiming queued replies for delivery: moving them to `sending` so that only one worker sends each.

A claim is one short transaction; the provider is called after it commits, and the outcome is recorded in another
(outbound/delivery.py). A worker that dies in between leaves its replies `sending`; the outbox sweep queues them
again (services.stalled_message_ids), and a retry first looks for the provider's report of the earlier attempt.
"""
from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from omnidesk.tickets.models import DeliveryStatus, Direction, Message

# Everything sending needs and the dashboards' event reads (message_data, ticket_data), in one query.
RELATED = ("ticket", "ticket__identity", "ticket__contact", "ticket__channel_account", "ticket__assignee",
           "channel_account", "channel_account__municipality", "author_user")


def claim_message(message_id: int) -> Message | None:
    """Claim this reply if it is queued (whatever its retry time: someone asked for it now); None if it is not."""
    with transaction.atomic():
        taken = list(Message.objects.select_for_update(skip_locked=True)
                     .filter(pk=message_id, delivery_status=DeliveryStatus.QUEUED).values_list("pk", flat=True))
        _mark_claimed(taken)
    loaded = _load(taken)
    return loaded[0] if loaded else None


def claim_due(account_id: int, limit: int, *, ignore_retry_times: bool = False) -> list[Message]:
    """Claim up to `limit` due replies of the account, oldest first (see `_due`)."""
    with transaction.atomic():
        taken = list(_due(account_id, ignore_retry_times).select_for_update(skip_locked=True)
                     .order_by("created_at", "pk").values_list("pk", flat=True)[:limit])
        _mark_claimed(taken)
    return _load(taken)


def due_exists(account_id: int, *, ignore_retry_times: bool = False) -> bool:
    return _due(account_id, ignore_retry_times).exists()


def next_due_at(account_id: int) -> datetime | None:
    """When the account's next claimable reply is due (now, if one already is); None if none waits."""
    return _due(account_id, ignore_retry_times=True).aggregate(at=Min(Coalesce("next_attempt_at", Now())))["at"]


def _due(account_id: int, ignore_retry_times: bool) -> QuerySet[Message]:
    """Queued replies of the account whose retry time has come.

    A reply waits while an earlier reply of its conversation is still queued or being sent, so one resident gets
    an agent's messages in the order they were written, also when one of them has to be retried. So a batch holds
    at most one reply per conversation, and its replies can be sent side by side.
    """
    # The first pending reply of the reply's conversation, as a subquery per candidate: an index probe of
    # message_pending_reply_idx, whatever the planner's statistics say (right after a burst they say "none queued").
    first_pending = (
        Message.objects.filter(ticket_id=OuterRef("ticket_id"), direction=Direction.OUTBOUND,
                               delivery_status__in=(DeliveryStatus.QUEUED, DeliveryStatus.SENDING))
        .order_by("created_at", "id").values("id")[:1]
    )
    due = Message.objects.filter(channel_account_id=account_id, delivery_status=DeliveryStatus.QUEUED)
    if not ignore_retry_times:
        due = due.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()))
    return due.filter(pk=Subquery(first_pending))


def _mark_claimed(ids: list[int]) -> None:
    if ids:
        Message.objects.filter(pk__in=ids).update(delivery_status=DeliveryStatus.SENDING, claimed_at=timezone.now(),
                                                  attempts=F("attempts") + 1)


def _load(ids: list[int]) -> list[Message]:
    """The claimed replies with what sending needs, oldest first, each with `previous_inbound`: the provider id of
    the resident's latest message before it (what a reply answers, e.g. for email's In-Reply-To)."""
    if not ids:
        return []
    previous_inbound = (
        Message.objects.filter(ticket_id=OuterRef("ticket_id"), direction=Direction.INBOUND,
                               created_at__lte=OuterRef("created_at"))
        .exclude(provider_message_id="").order_by("-created_at").values("provider_message_id")[:1]
    )
    messages: QuerySet[Message] = (
        Message.objects.filter(pk__in=ids).select_related(*RELATED).prefetch_related("attachments")
        .annotate(previous_inbound=Subquery(previous_inbound)).order_by("created_at", "pk")
    )
    return list(messages)
