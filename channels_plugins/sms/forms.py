"""The SMS account's config: which gateway, its credentials (secrets masked), and the public URL it calls."""
from __future__ import annotations

import re
from typing import Any

import phonenumbers
from django import forms
from django.utils.translation import gettext_lazy as _

from omnidesk.plugin_api import ChannelConfigForm, SecretField

from channels_plugins.sms.providers import PROVIDERS

ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
TWILIO_SID = {"account_sid": re.compile(r"^AC[0-9a-fA-F]{32}$"), "messaging_service_sid": re.compile(r"^MG[0-9a-fA-F]{32}$")}
REQUIRED = {
    "twilio": ("account_sid", "auth_token"),
    "bird": ("workspace_id", "channel_id", "access_key", "signing_key"),
}


class SmsConfigForm(ChannelConfigForm):
    provider = forms.ChoiceField(label=_("Provider"), choices=[("twilio", "Twilio"), ("bird", "Bird (MessageBird)")])
    # Twilio
    account_sid = forms.CharField(label=_("Twilio account SID"), required=False, help_text=_("AC…"))
    auth_token = SecretField(label=_("Twilio auth token"), required=False,
                             help_text=_("Also checks the X-Twilio-Signature of every webhook."))
    from_number = forms.CharField(
        label=_("Sender"), required=False,
        help_text=_("Your Twilio number in E.164 (+3197…) or an alphanumeric sender id (residents cannot reply to one)."),
    )
    messaging_service_sid = forms.CharField(label=_("Twilio messaging service SID"), required=False,
                                            help_text=_("MG…; used instead of the sender when set."))
    # Bird
    workspace_id = forms.CharField(label=_("Bird workspace id"), required=False)
    channel_id = forms.CharField(label=_("Bird SMS channel id"), required=False,
                                 help_text=_("The channel's number is the sender."))
    access_key = SecretField(label=_("Bird access key"), required=False)
    signing_key = SecretField(label=_("Bird webhook signing key"), required=False)
    # Both
    api_base_url = forms.URLField(label=_("API base URL"), required=False, assume_scheme="https",
                                  help_text=_("Leave empty for the provider's own."))
    public_base_url = forms.URLField(
        label=_("Public base URL"), required=False, assume_scheme="https",
        help_text=_("The scheme and host the provider calls (e.g. https://omnidesk.gemeente.nl) when a proxy in "
                    "front of Omnidesk changes it. Signatures are checked against it."),
    )

    def clean_from_number(self) -> str:
        value = (self.cleaned_data.get("from_number") or "").strip()
        if not value or ALPHANUMERIC_SENDER.match(value):
            return value
        try:
            number = phonenumbers.parse(value, "NL")
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_possible_number(number):
            raise forms.ValidationError(_("Enter a phone number (+31…) or an alphanumeric sender id of up to 11 characters."))
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        provider = cleaned.get("provider")
        if provider not in PROVIDERS:
            return cleaned
        for name in REQUIRED[provider]:
            if not cleaned.get(name):
                self.add_error(name, _("Required for this provider."))
        if provider == "twilio":
            for name, pattern in TWILIO_SID.items():
                if cleaned.get(name) and not pattern.match(cleaned[name]):
                    self.add_error(name, _("This does not look like a Twilio SID."))
            if not cleaned.get("from_number") and not cleaned.get("messaging_service_sid"):
                self.add_error("from_number", _("Give a sender or a messaging service SID."))
        base = cleaned.get("api_base_url") or PROVIDERS[provider].default_api_base_url
        cleaned["api_base_url"] = base.rstrip("/")
        cleaned["public_base_url"] = (cleaned.get("public_base_url") or "").rstrip("/")
        return cleaned
