"""Django admin for platform staff. Config is shown masked and changed only through the plugin's form
(services.channel_account_update_config), so secrets never appear here."""
from typing import Any

from django.contrib import admin
from django.templatetags.static import static
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
    fields = ["municipality", "plugin_key", "name", "enabled", "shown_config", "shown_webhook_url", "shown_embed_code",
              "last_polled_at"]
    readonly_fields = ["municipality", "plugin_key", "shown_config", "shown_webhook_url", "shown_embed_code",
                       "last_polled_at"]

    def save_model(self, request: HttpRequest, obj: ChannelAccount, form: Any, change: bool) -> None:
        """Switching on or off goes through the service: it takes effect at once and is audited."""
        from omnidesk.channel_accounts.services import channel_account_set_enabled

        enabled = obj.enabled
        if "enabled" in form.changed_data:
            obj.enabled = not enabled
            super().save_model(request, obj, form, change)
            channel_account_set_enabled(account=obj, enabled=enabled, actor=request.user)
        else:
            super().save_model(request, obj, form, change)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # accounts are created with the plugin's validated form (addchannel, settings pages)

    @admin.display(description=_("Configuration"))
    def shown_config(self, obj: ChannelAccount) -> Any:
        return format_html_join("", "<div><strong>{}</strong>: {}</div>", sorted(masked_config(obj).items()))

    @admin.display(description=_("Webhook URL"))
    def shown_webhook_url(self, obj: ChannelAccount) -> str:
        return webhook_url(obj)

    @admin.display(description=_("Code for your website"))
    def shown_embed_code(self, obj: ChannelAccount) -> Any:
        """What a plugin asks the municipality to paste into its website (the livechat's script tag)."""
        from django.utils.html import format_html

        from omnidesk.channel_accounts.selectors import account_context
        from omnidesk.plugin_api.registry import UnknownPlugin, get_adapter

        try:
            code = get_adapter(obj.plugin_key).embed_code(account_context(obj))
        except UnknownPlugin:
            code = ""
        if not code:
            return "—"
        return format_html(
            '<textarea id="embed-code-{}" readonly rows="2" cols="90" aria-label="{}">{}</textarea> '
            '<button type="button" class="button" data-copy="embed-code-{}">{}</button>'
            '<script src="{}" defer></script>',
            obj.pk, _("Code for your website"), code, obj.pk, _("Copy"), static("omnidesk/copy.js"),
        )
