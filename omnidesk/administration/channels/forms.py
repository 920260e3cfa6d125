"""Forms of the channel pages. The plugin's own config form is added beside these, under the prefix "config"."""
from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from omnidesk.channel_accounts.selectors import without_secrets
from omnidesk.plugin_api.forms import ChannelConfigForm, SecretField
from omnidesk.tenants.models import Municipality, Team

CONFIG_PREFIX = "config"


class AccountForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200,
                           help_text=_("How agents and the audit log call this channel, e.g. “WhatsApp Burgerzaken”."))
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False,
                                  empty_label=_("No team"),
                                  help_text=_("New tickets from this channel go to this team."))

    def __init__(self, *args: Any, municipality: Municipality, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only this municipality's teams are choices: another's posted id is "not a valid choice".
        self.fields["team"].queryset = Team.objects.filter(municipality=municipality).order_by("name")


class AccountEditForm(AccountForm):
    sunset_reply_nl = forms.CharField(label=_("Sunset reply (Dutch)"), required=False, max_length=1000,
                                      widget=forms.Textarea(attrs={"rows": 3}))
    sunset_reply_en = forms.CharField(label=_("Sunset reply (English)"), required=False, max_length=1000,
                                      widget=forms.Textarea(attrs={"rows": 3}))
    sunset_period_days = forms.IntegerField(label=_("Answer a resident again after (days)"), min_value=1,
                                            max_value=3650)


class ToggleForm(forms.Form):
    enabled = forms.TypedChoiceField(choices=[("1", "on"), ("0", "off")], coerce=lambda value: value == "1")


class ScheduleForm(forms.Form):
    at = forms.DateTimeField(
        label=_("Date and time"),
        # Read in the installation's time zone (TIME_ZONE), the zone the page shows times in.
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )
    enable = forms.TypedChoiceField(label=_("Switch the channel"), choices=[("0", _("off")), ("1", _("on"))], initial="0",
                                    coerce=lambda value: value == "1", widget=forms.RadioSelect)


def config_form(form_class: type[ChannelConfigForm], *, data: Any = None, initial: dict[str, Any] | None = None,
                stored_secrets: frozenset[str] | None = None) -> ChannelConfigForm:
    """The plugin's form, prefixed so its fields never clash with ours; secret inputs never carry a value.

    `stored_secrets`: on the edit page, the secret fields that have a stored value (None on the add page).
    """
    secret_names = form_class.secret_field_names()
    form = form_class(data=data, initial={k: v for k, v in (initial or {}).items() if k not in secret_names},
                      prefix=CONFIG_PREFIX)
    for name, field in form.fields.items():
        if not isinstance(field, SecretField):
            continue
        # Whatever widget a plugin chose: a password input that never renders a value.
        field.widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
        if stored_secrets is not None:
            # Empty keeps the stored value, so an empty input is never "required".
            field.required = False
            stored = _("A value is stored; leave this empty to keep it.") if name in stored_secrets \
                else _("No value is stored.")
            field.help_text = f"{field.help_text} {stored}".strip() if field.help_text else stored
    return form


def raw_config(form: ChannelConfigForm) -> dict[str, Any]:
    """What the admin posted in the plugin's fields, unprefixed, for the service (which validates it)."""
    return {name: form[name].data for name in form.fields}


def show_errors(forms_by_field: list[forms.Form], error: ValidationError, secrets: list[str]) -> None:
    """Put the service's refusal next to the fields it names (the first form takes what no form has)."""
    for form in forms_by_field:
        form.is_valid()  # so errors can be added; the form's own verdict is replaced by the service's below
        form.errors.clear()
    messages = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
    for field, texts in messages.items():
        target = next((f for f in forms_by_field if field in f.fields), forms_by_field[0])
        for text in texts:
            # A plugin's message could quote what was typed into a secret field: never echo it.
            target.add_error(field if field in target.fields else None, without_secrets(str(text), secrets))
