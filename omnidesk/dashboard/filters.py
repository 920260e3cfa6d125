"""Inbox filters (django-filter): view, channel account, status, assignee, team, tag, priority, dates, search, sort."""
from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.plugin_api.registry import get_registry
from omnidesk.tenants.models import Membership, Team
from omnidesk.tickets.models import Priority, Status, Tag, Ticket
from omnidesk.tickets.search import search, sorted_tickets, view_filter

ME, UNASSIGNED = "me", "none"
VIEW_CHOICES = [("all", _("All")), ("unassigned", _("Unassigned")), ("mine", _("Mine")), ("team", _("My teams"))]
SORT_CHOICES = [("activity", _("Latest activity")), ("waiting", _("Waiting longest"))]


class TicketFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="filter_search",
                                  widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}))
    view = django_filters.ChoiceFilter(label=_("View"), choices=VIEW_CHOICES, method="filter_view", empty_label=None)
    channel = django_filters.ChoiceFilter(label=_("Kind of channel"), field_name="channel_account__plugin_key",
                                          choices=[], empty_label=_("All kinds"))
    channel_account = django_filters.ModelChoiceFilter(
        label=_("Channel"), queryset=ChannelAccount.objects.none(), empty_label=_("All channels")
    )
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Status.choices, empty_label=_("All statuses"))
    assignee = django_filters.ChoiceFilter(
        label=_("Assignee"), method="filter_assignee", empty_label=_("Anyone"), choices=[]
    )
    team = django_filters.ModelChoiceFilter(label=_("Team"), queryset=Team.objects.none(), empty_label=_("All teams"))
    tag = django_filters.ModelChoiceFilter(label=_("Tag"), field_name="tags", queryset=Tag.objects.none(),
                                           empty_label=_("All tags"))
    priority = django_filters.ChoiceFilter(label=_("Priority"), choices=Priority.choices,
                                           empty_label=_("All priorities"))
    created_after = django_filters.DateFilter(label=_("Created from"), field_name="created_at", lookup_expr="date__gte",
                                              widget=forms.DateInput(attrs={"type": "date"}))
    created_before = django_filters.DateFilter(label=_("Created until"), field_name="created_at",
                                               lookup_expr="date__lte", widget=forms.DateInput(attrs={"type": "date"}))
    sort = django_filters.ChoiceFilter(label=_("Sort"), choices=SORT_CHOICES, method="filter_sort", empty_label=None)

    class Meta:
        model = Ticket
        fields = ["q", "view", "channel", "channel_account", "status", "assignee", "team", "tag", "priority", "created_after",
                  "created_before", "sort"]

    def __init__(self, *args, membership: Membership, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.membership = membership
        municipality = membership.municipality
        accounts = ChannelAccount.objects.filter(municipality=municipality)
        self.filters["channel_account"].queryset = accounts
        # The kinds this municipality has (WhatsApp, SMS, email …), named as their plugins name themselves.
        adapters = get_registry().adapters
        self.filters["channel"].extra["choices"] = [
            (key, str(adapters[key].verbose_name) if key in adapters else key)
            for key in sorted(set(accounts.values_list("plugin_key", flat=True)))
        ]
        self.filters["team"].queryset = Team.objects.filter(municipality=municipality)
        self.filters["tag"].queryset = Tag.objects.filter(municipality=municipality)
        colleagues = get_user_model().objects.filter(memberships__municipality=municipality).order_by("username")
        self.filters["assignee"].extra["choices"] = [
            (ME, _("Me")),
            (UNASSIGNED, _("Unassigned")),
            *[(str(u.pk), u.get_full_name() or u.get_username()) for u in colleagues],
        ]

    @property
    def qs(self) -> QuerySet[Ticket]:
        tickets = super().qs
        # Sorting applies even when the form is empty or invalid.
        sort = self.form.cleaned_data.get("sort") if self.form.is_valid() else ""
        return sorted_tickets(tickets, sort or "activity")

    def filter_view(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        return queryset.filter(view_filter(value, self.membership))

    def filter_search(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        return search(queryset, self.membership.municipality_id, value)

    def filter_sort(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        return queryset  # applied in qs, after every filter

    def filter_assignee(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        if value == ME:
            return queryset.filter(assignee_id=self.membership.user_id)
        if value == UNASSIGNED:
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee_id=int(value)) if value.isdigit() else queryset
