"""Django admin for platform staff: read-only views for support; agents work in the dashboard.

Messages appear here only as dead letters: outbound messages that failed for good (refused, or out of attempts),
with the reason, for operators to inspect and send again after fixing the cause.
"""
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from omnidesk.ops import breaker
from omnidesk.tickets.models import Message, Ticket


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["number", "municipality", "channel_account", "status", "assignee", "last_activity_at"]
    list_filter = ["status", "municipality"]
    search_fields = ["subject", "contact__display_name"]
    list_select_related = ["municipality", "channel_account", "assignee"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Message)
class DeadLetterAdmin(admin.ModelAdmin):
    """Dead letters: inspect why a reply was not sent, and send it again (audited) once the cause is fixed."""

    list_display = ["id", "created_at", "municipality", "channel_account", "ticket_number", "error_code",
                    "error_message", "attempts"]
    list_filter = ["error_code", "channel_account__plugin_key", "municipality"]
    search_fields = ["error_code", "error_message", "channel_account__name"]
    list_select_related = ["municipality", "channel_account", "ticket"]
    fields = ["municipality", "channel_account", "ticket_number", "provider_state", "kind", "created_at", "attempts",
              "error_code", "error_message", "provider_message_id", "text"]
    readonly_fields = fields
    actions = ["retry"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        from omnidesk.outbound.selectors import dead_letters

        return dead_letters()

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, {"title": _("Dead letters: replies that could not be sent"),
                                                 **(extra_context or {})})

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # the text and the outcome are history; only "send again" changes a dead letter

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tickets.change_message")

    @admin.display(description=_("Ticket"), ordering="ticket__number")
    def ticket_number(self, obj: Message) -> int:
        return obj.ticket.number

    @admin.display(description=_("Channel now"))
    def provider_state(self, obj: Message) -> str:
        """Whether the account's circuit breaker holds its replies back right now (open, paused) or not."""
        return breaker.state(obj.channel_account_id)["state"]

    @admin.action(description=_("Send again"), permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        from omnidesk.outbound.services import message_requeue
        from omnidesk.tickets.services import NotAllowed

        queued, refused = 0, []
        for message in queryset.select_related("channel_account", "municipality"):
            try:
                message_requeue(message=message, actor=request.user)
            except NotAllowed as exc:
                refused.append(f"{message.pk}: {exc}")
            else:
                queued += 1
        if queued:
            self.message_user(request, ngettext("%(n)d message queued again.", "%(n)d messages queued again.",
                                                queued) % {"n": queued}, messages.SUCCESS)
        if refused:
            self.message_user(request, _("Not queued: %(list)s") % {"list": "; ".join(refused)}, messages.WARNING)
