"""Django admin for platform staff: the inbound journal's dead letters, to inspect and retry.

An entry lands here when its events could not be stored MAX_ATTEMPTS times (a plugin produced something core
refuses, or a bug). The events are shown decoded; retrying puts the entry back in line for the next drain.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from omnidesk.inbound.codec import UndecodableEvents, decode_events
from omnidesk.inbound.journal import journal_retry
from omnidesk.inbound.models import JournalEntry


@admin.register(JournalEntry)
class JournalEntryAdmin(admin.ModelAdmin):
    list_display = ["id", "received_at", "channel_account", "attempts", "failed_at", "last_error"]
    list_filter = [("failed_at", admin.EmptyFieldListFilter), "channel_account__plugin_key"]
    list_select_related = ["channel_account"]
    fields = ["channel_account", "received_at", "attempts", "available_at", "failed_at", "last_error", "decoded"]
    readonly_fields = fields
    actions = ["retry"]

    @admin.display(description=_("events"))
    def decoded(self, entry: JournalEntry) -> str:
        try:
            return "\n".join(repr(event) for event in decode_events(bytes(entry.events)))
        except UndecodableEvents as exc:
            return str(exc)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description=_("Try storing again"), permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[JournalEntry]) -> None:
        count = journal_retry(list(queryset))
        self.message_user(request, ngettext("%(count)d entry will be stored again.",
                                            "%(count)d entries will be stored again.", count) % {"count": count},
                          messages.SUCCESS)

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("inbound.change_journalentry")
