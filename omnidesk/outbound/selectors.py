"""Reads about outbound delivery, for operators."""
from __future__ import annotations

from django.db.models import QuerySet

from omnidesk.tickets.models import DeliveryStatus, Direction, Message


def dead_letters() -> QuerySet[Message]:
    """Outbound messages that will not be sent without someone acting: refused by the provider or by a rule, or out
    of attempts. (A failed message a later status report shows delivered is no longer failed, so not listed.)"""
    return (
        Message.objects.filter(direction=Direction.OUTBOUND, delivery_status=DeliveryStatus.FAILED)
        .select_related("municipality", "channel_account", "ticket")
        .order_by("-created_at", "-id")
    )
