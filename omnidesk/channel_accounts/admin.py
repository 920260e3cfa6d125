"""Django admin for platform staff. Config is shown masked and changed only through the plugin's form
(services.channel_account_update_config), so secrets never appear here."""
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.selectors import masked_config, webhook_url


@admin.register(ChannelAccount)
class ChannelAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "municipality", "plugin_key", "enabled"]
    list_filter = ["plugin_key", "enabled", "municipality"]
    search_fields = ["name", "municipality__name"]
    fields = ["municipality", "plugin_key", "name", "enabled", "shown_config", "shown_webhook_url", "last_polled_at"]
    readonly_fields = ["municipality", "plugin_key", "shown_config", "shown_webhook_url", "last_polled_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # accounts are created with the plugin's validated form (addchannel, settings pages)

    @admin.display(description=_("Configuration"))
    def shown_config(self, obj: ChannelAccount) -> Any:
        return format_html_join("", "<div><strong>{}</strong>: {}</div>", sorted(masked_config(obj).items()))

    @admin.display(description=_("Webhook URL"))
    def shown_webhook_url(self, obj: ChannelAccount) -> str:
        return webhook_url(obj)
