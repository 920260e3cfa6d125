"""Django admin for platform staff; municipality admins manage them under Settings › Canned responses."""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from omnidesk.responses.models import CannedResponse


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ["shortcut", "title", "municipality", "updated_at"]
    list_filter = ["municipality"]
    list_select_related = ["municipality"]
    search_fields = ["title", "shortcut"]
    autocomplete_fields = ["municipality"]
    readonly_fields = ["created_by", "updated_at"]

    def save_model(self, request: HttpRequest, obj: CannedResponse, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
