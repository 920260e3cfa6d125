"""Forms for the workflow settings: routing rules, canned responses, assignment and retention."""
from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.selectors import accounts_of
from omnidesk.responses.models import CannedResponse
from omnidesk.tenants.models import Municipality, Team
from omnidesk.tickets.models import Priority, RoutingRule, Tag
from omnidesk.tickets.retention import MINIMUM_DAYS
from omnidesk.tickets.routing_rules import MAX_KEYWORD_LENGTH, MAX_KEYWORDS, keyword_lines


def _no_colon_after_checkboxes(form: forms.BaseForm) -> None:
    """A checkbox's label follows the box, so it needs no colon."""
    for field in form.fields.values():
        if isinstance(field.widget, forms.CheckboxInput):
            field.label_suffix = ""


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    keywords = forms.CharField(
        label=_("Keywords"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("One word or phrase per line. A rule matches when any of them occurs as whole words in the "
                    "first message or its subject; capitals and accents do not matter. Leave empty to match every "
                    "message (of the chosen channel)."),
    )
    channel_account = forms.ModelChoiceField(
        label=_("Only for channel"), queryset=ChannelAccount.objects.none(), required=False,
        empty_label=_("Any channel"),
    )
    team = forms.ModelChoiceField(
        label=_("Route to team"), queryset=Team.objects.none(), required=False, empty_label=_("Keep the team"),
        help_text=_("The first matching rule with a team decides the team; it replaces the channel's team."),
    )
    tag = forms.CharField(
        label=_("Add tag"), max_length=50, required=False,
        help_text=_("An existing tag, or a new name to create that tag."),
        widget=forms.TextInput(attrs={"list": "rule-tags", "autocomplete": "off"}),
    )
    priority = forms.ChoiceField(
        label=_("Set priority"), required=False, choices=[("", _("Keep the priority")), *Priority.choices],
        help_text=_("When several matching rules set a priority, the highest wins."),
    )

    def __init__(self, *args: Any, municipality: Municipality, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.municipality = municipality
        self.fields["channel_account"].queryset = accounts_of(municipality).order_by("name")  # type: ignore[attr-defined]
        self.fields["team"].queryset = Team.objects.filter(municipality=municipality).order_by("name")  # type: ignore[attr-defined]
        self.tag_names = list(Tag.objects.filter(municipality=municipality).values_list("name", flat=True))
        _no_colon_after_checkboxes(self)

    @classmethod
    def initial_for(cls, rule: RoutingRule) -> dict[str, Any]:
        return {"name": rule.name, "active": rule.active, "keywords": rule.keywords,
                "channel_account": rule.channel_account_id, "team": rule.team_id,
                "tag": rule.tag.name if rule.tag else "", "priority": rule.priority}

    def clean_keywords(self) -> str:
        raw = self.cleaned_data.get("keywords") or ""
        too_long = [line.strip() for line in raw.splitlines() if len(" ".join(line.split())) > MAX_KEYWORD_LENGTH]
        if too_long:
            raise forms.ValidationError(
                _("A keyword may have at most %(limit)s characters."), params={"limit": MAX_KEYWORD_LENGTH})
        if len([line for line in raw.splitlines() if line.strip()]) > MAX_KEYWORDS:
            raise forms.ValidationError(_("At most %(limit)s keywords per rule."), params={"limit": MAX_KEYWORDS})
        lines = keyword_lines(raw)
        if any(not any(char.isalnum() for char in line) for line in lines):
            raise forms.ValidationError(_("Every keyword needs at least one letter or digit."))
        return "\n".join(lines)

    def clean_tag(self) -> str:
        return " ".join((self.cleaned_data.get("tag") or "").split()).lower()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not (data.get("team") or data.get("tag") or data.get("priority")):
            raise forms.ValidationError(_("Choose what the rule does: a team, a tag or a priority."))
        return data


class CannedResponseForm(forms.ModelForm):
    """Validates the fields; the service writes (and checks the shortcut is unique in the municipality)."""

    class Meta:
        model = CannedResponse
        fields = ["shortcut", "title", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}


def _label(model: type, name: str) -> str:
    return capfirst(model._meta.get_field(name).verbose_name)  # type: ignore[attr-defined]


class AssignmentForm(forms.ModelForm):
    auto_assign_cap = forms.IntegerField(
        label=_label(Municipality, "auto_assign_cap"), min_value=1, max_value=1000,
        help_text=_("An agent with this many open tickets gets no more automatically."),
    )
    reopen_window_days = forms.IntegerField(
        label=_label(Municipality, "reopen_window_days"), min_value=0, max_value=365,
        help_text=_("A new message on a resolved ticket reopens it within this many days; later, it starts a new "
                    "ticket."),
    )

    class Meta:
        model = Municipality
        fields = ["auto_assign", "auto_assign_cap", "assignee_only_replies", "reopen_window_days"]
        help_texts = {
            "auto_assign": _("New tickets go, in turn, to the online agent with the fewest open tickets. A ticket "
                             "routed to a team goes only to that team's members."),
            "assignee_only_replies": _("Others can still add internal notes."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _no_colon_after_checkboxes(self)


class RetentionForm(forms.Form):
    retention_days = forms.IntegerField(
        label=_label(Municipality, "retention_days"), required=False, min_value=MINIMUM_DAYS, max_value=36500,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["retention_days"].help_text = _(
            "Leave empty to keep tickets for ever. At least %(minimum)s days.") % {"minimum": MINIMUM_DAYS}
