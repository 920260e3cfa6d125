"""REST API v1 (read side for now): tickets and their messages, scoped to the caller's municipality."""
from __future__ import annotations

from django.http import Http404
from rest_framework import generics
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from omnidesk.dashboard.filters import TicketFilter
from omnidesk.tickets import selectors
from omnidesk.tickets.models import Ticket
from omnidesk.tickets.presenters import message_data, ticket_data


class _Presented(generics.GenericAPIView):
    """Serialises with tickets.presenters, the one representation shared with realtime events."""

    def present(self, obj):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([self.present(obj) for obj in page])


class InboxPagination(CursorPagination):
    ordering = ("-last_activity_at", "-id")


class TicketList(_Presented):
    pagination_class = InboxPagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.inbox(self.request.membership.municipality)

    def filter_queryset(self, queryset):  # type: ignore[no-untyped-def]
        return TicketFilter(self.request.query_params or None, queryset=queryset, membership=self.request.membership).qs

    def present(self, obj: Ticket) -> dict:
        return ticket_data(obj)

    def get(self, request: Request) -> Response:
        return self.list(request)


class TicketDetail(APIView):
    def get(self, request: Request, number: int) -> Response:
        ticket = selectors.ticket_by_number(request.membership.municipality, number)  # type: ignore[attr-defined]
        if ticket is None:
            raise Http404
        return Response(ticket_data(ticket))


class MessagePagination(CursorPagination):
    ordering = ("created_at", "id")


class TicketMessages(_Presented):
    pagination_class = MessagePagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        ticket = selectors.ticket_by_number(self.request.membership.municipality, self.kwargs["number"])
        if ticket is None:
            raise Http404
        return selectors.thread_messages(ticket)

    def present(self, obj) -> dict:  # type: ignore[no-untyped-def]
        return message_data(obj)

    def get(self, request: Request, number: int) -> Response:
        return self.list(request)
