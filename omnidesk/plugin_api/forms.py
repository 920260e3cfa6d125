"""The config form a plugin declares; secret fields are stored encrypted and never shown again."""
from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class SecretField(forms.CharField):
    """A credential. Stored encrypted, masked on every read, left unchanged when submitted empty."""

    widget = forms.PasswordInput(render_value=False)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("strip", True)
        super().__init__(**kwargs)


class ChannelConfigForm(forms.Form):
    """Base class of every plugin's config form. `cleaned_data` becomes the account's config."""

    @classmethod
    def secret_field_names(cls) -> frozenset[str]:
        return frozenset(name for name, field in cls.base_fields.items() if isinstance(field, SecretField))

    @classmethod
    def help_for_secrets(cls) -> str:
        return str(_("Secret fields are stored encrypted and never shown again; leave empty to keep the current value."))
