"""The livechat account's config: how the widget looks, where it may be embedded, what it says when nobody answers.

When the team answers is core's business hours (Settings → Business hours), not the plugin's."""
from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.utils.translation import gettext_lazy as _

from omnidesk.plugin_api import ChannelConfigForm, SecretField

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colour_for(background: str) -> str:
    """White or near-black, whichever reads better on the brand colour (WCAG contrast)."""
    return "#ffffff" if contrast(background, "#ffffff") >= contrast(background, "#111111") else "#111111"


class LivechatConfigForm(ChannelConfigForm):
    title = forms.CharField(label=_("Title"), max_length=60, initial=_("Chat with us"), required=False)
    welcome_text = forms.CharField(label=_("Welcome text"), max_length=500, required=False,
                                   widget=forms.Textarea(attrs={"rows": 3}))
    colour = forms.CharField(label=_("Colour"), initial="#1d4ed8", required=False,
                             help_text=_("The launcher's and header's colour, e.g. #1d4ed8. Its text is white or black, "
                                         "whichever has enough contrast; a colour with neither is refused."))
    allowed_origins = forms.CharField(
        label=_("Websites that may embed the chat"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line, e.g. https://www.gemeente-voorbeeld.nl. Other sites cannot show the chat."),
    )
    away_text = forms.CharField(label=_("Away text"), max_length=300, required=False,
                                initial=_("We will answer within one working day."),
                                help_text=_("Shown outside opening hours or when no colleague is online."))
    offline_email_account = forms.CharField(
        label=_("Email channel for the offline form"), required=False, max_length=64,
        help_text=_("Public id of the email channel whose tickets offline questions with an email address become."))
    offline_sms_account = forms.CharField(
        label=_("SMS channel for the offline form"), required=False, max_length=64,
        help_text=_("Public id of the SMS channel for offline questions with only a phone number."))
    identity_secret = SecretField(
        label=_("Identity secret"), required=False,
        help_text=_("Your resident portal signs a logged-in resident's email address with HMAC-SHA256 under this "
                    "secret (data-user-hash). Generated when left empty."))
    messages_per_minute = forms.IntegerField(label=_("Messages per visitor per minute"), min_value=1, max_value=120,
                                             initial=20, required=False)
    conversations_per_hour = forms.IntegerField(label=_("New conversations per address per hour"), min_value=1,
                                                max_value=1000, initial=10, required=False)
    max_upload_mb = forms.IntegerField(label=_("Largest file (MB)"), min_value=1, max_value=25, initial=10, required=False)

    def clean_colour(self) -> str:
        colour = (self.cleaned_data.get("colour") or "#1d4ed8").strip()
        if not HEX_COLOUR.match(colour):
            raise forms.ValidationError(_("Enter a colour as #rrggbb."))
        if contrast(colour, text_colour_for(colour)) < 4.5:
            raise forms.ValidationError(_("Neither white nor black text is readable on this colour (contrast below "
                                          "4.5:1); choose a darker or lighter one."))
        return colour.lower()

    def clean_allowed_origins(self) -> list[str]:
        origins = []
        for line in (self.cleaned_data.get("allowed_origins") or "").split():
            parts = urlsplit(line.strip())
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
                raise forms.ValidationError(_("%(origin)s is not an origin like https://www.example.nl.")
                                            % {"origin": line})
            origins.append(f"{parts.scheme}://{parts.netloc}".lower())
        return origins

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("identity_secret"):
            cleaned["identity_secret"] = secrets.token_urlsafe(32)
        cleaned["title"] = cleaned.get("title") or str(_("Chat with us"))
        cleaned["away_text"] = cleaned.get("away_text") or str(_("We will answer within one working day."))
        cleaned["messages_per_minute"] = cleaned.get("messages_per_minute") or 20
        cleaned["conversations_per_hour"] = cleaned.get("conversations_per_hour") or 10
        cleaned["max_upload_mb"] = cleaned.get("max_upload_mb") or 10
        if cleaned.get("colour"):
            cleaned["text_colour"] = text_colour_for(cleaned["colour"])
        return cleaned
