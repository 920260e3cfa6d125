from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from omnidesk.plugin_api import ChannelConfigForm, SecretField


class SandboxConfigForm(ChannelConfigForm):
    signing_secret = SecretField(
        label=_("Signing secret"), required=False, help_text=_("Signs the simulator's messages; generated when empty.")
    )
    delivery_url = forms.URLField(
        assume_scheme="https",
        label=_("Delivery URL"),
        required=False,
        help_text=_("Optional: send replies as JSON to this address instead of the simulator page."),
    )
    welcome_text = forms.CharField(label=_("Welcome text"), required=False, max_length=500)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("signing_secret"):
            cleaned["signing_secret"] = secrets.token_urlsafe(32)
        return cleaned
