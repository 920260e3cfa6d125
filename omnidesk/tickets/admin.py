"""Django admin for platform staff: read-only views for support; agents work in the dashboard."""
from django.contrib import admin
from django.http import HttpRequest

from omnidesk.tickets.models import Ticket


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
