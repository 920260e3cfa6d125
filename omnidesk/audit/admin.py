from django.contrib import admin

from omnidesk.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only for platform staff: an audit log that can be edited is no audit log."""

    list_display = ["created_at", "municipality", "actor_name", "action", "target_label"]
    list_filter = ["action", "municipality"]
    search_fields = ["actor_name", "target_label", "action"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
