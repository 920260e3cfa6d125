from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from omnidesk.plugin_api import ChannelConfigForm, SecretField

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v21.0"
digits = RegexValidator(r"^\d{5,32}$", _("Digits only, as shown in Meta's WhatsApp Manager."))


class WhatsAppConfigForm(ChannelConfigForm):
    phone_number_id = forms.CharField(
        label=_("Phone number ID"), validators=[digits],
        help_text=_("WhatsApp Manager → API Setup: the ID of this business phone number (not the number itself)."),
    )
    business_account_id = forms.CharField(
        label=_("WhatsApp Business Account ID"), validators=[digits],
        help_text=_("The WABA ID; its approved message templates are offered in the composer."),
    )
    access_token = SecretField(
        label=_("Access token"),
        help_text=_("A system user's permanent token with whatsapp_business_messaging and whatsapp_business_management."),
    )
    app_secret = SecretField(
        label=_("App secret"), help_text=_("Meta app → Settings → Basic; checks the signature of every webhook call.")
    )
    verify_token = SecretField(
        label=_("Verify token"),
        help_text=_("Any long random string; enter the same one in the Meta app's webhook settings."),
    )
    graph_api_base_url = forms.URLField(
        label=_("Graph API base URL"), required=False, initial=DEFAULT_BASE_URL, assume_scheme="https",
        help_text=_("Leave empty for Meta's; tests and the demo point it at a local peer."),
    )
    graph_api_version = forms.CharField(
        label=_("Graph API version"), required=False, initial=DEFAULT_VERSION,
        validators=[RegexValidator(r"^v\d{1,3}\.\d$", _("Like v21.0."))],
    )
    # Phrased as an opt-out so that a config without the field keeps Meta's default: read receipts on.
    skip_read_receipts = forms.BooleanField(
        label=_("Do not send read receipts"), required=False,
        help_text=_("By default the resident sees blue ticks when an agent opens the conversation."),
    )

    def clean_graph_api_base_url(self) -> str:
        return (self.cleaned_data.get("graph_api_base_url") or DEFAULT_BASE_URL).rstrip("/")

    def clean_graph_api_version(self) -> str:
        return self.cleaned_data.get("graph_api_version") or DEFAULT_VERSION
