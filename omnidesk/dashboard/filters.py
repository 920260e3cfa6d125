"""Inbox filters (django-filter): channel account, status, assignee."""
from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.tenants.models import Membership
from omnidesk.tickets.models import Status, Ticket

ME, UNASSIGNED = "me", "none"


class TicketFilter(django_filters.FilterSet):
    channel_account = django_filters.ModelChoiceFilter(
        label=_("Channel"), queryset=ChannelAccount.objects.none(), empty_label=_("All channels")
    )
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Status.choices, empty_label=_("All statuses"))
    assignee = django_filters.ChoiceFilter(
        label=_("Assignee"), method="filter_assignee", empty_label=_("Anyone"), choices=[]
    )

    class Meta:
        model = Ticket
        fields = ["channel_account", "status", "assignee"]

    def __init__(self, *args, membership: Membership, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.membership = membership
        municipality = membership.municipality
        self.filters["channel_account"].queryset = ChannelAccount.objects.filter(municipality=municipality)
        colleagues = get_user_model().objects.filter(memberships__municipality=municipality).order_by("username")
        self.filters["assignee"].extra["choices"] = [
            (ME, _("Me")),
            (UNASSIGNED, _("Unassigned")),
            *[(str(u.pk), u.get_full_name() or u.get_username()) for u in colleagues],
        ]

    def filter_assignee(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        if value == ME:
            return queryset.filter(assignee_id=self.membership.user_id)
        if value == UNASSIGNED:
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee_id=int(value)) if value.isdigit() else queryset
