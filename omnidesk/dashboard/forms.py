from __future__ import annotations

import re

from django import forms
from django.core.validators import EmailValidator
from django.utils.translation import gettext_lazy as _

from omnidesk.tickets.models import Priority, Status

MAX_TEXT = 10_000


class ReplyForm(forms.Form):
    # Empty text is fine when files come with the reply; reply_create refuses a reply with neither.
    text = forms.CharField(label=_("Reply"), max_length=MAX_TEXT, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    quote = forms.IntegerField(required=False, min_value=1)
    cc = forms.CharField(label=_("Copy to"), max_length=2000, required=False)
    subject = forms.CharField(label=_("Subject"), max_length=255, required=False)

    MAX_COPIES = 20

    def clean_cc(self) -> list[str]:
        """Addresses separated by commas, semicolons or spaces (as pasted from a mail program)."""
        addresses = [a.strip() for a in re.split(r"[,;\s]+", self.cleaned_data.get("cc") or "") if a.strip()]
        validate = EmailValidator()
        for address in addresses:
            try:
                validate(address)
            except forms.ValidationError:
                raise forms.ValidationError(_("%(address)s is not an email address.") % {"address": address}) from None
        if len(addresses) > self.MAX_COPIES:
            raise forms.ValidationError(_("At most %(n)d copies.") % {"n": self.MAX_COPIES})
        return list(dict.fromkeys(a.lower() for a in addresses))


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Internal note"), max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3}))


class StatusForm(forms.Form):
    # Its own id: the inbox filter beside it has a `status` field too.
    status = forms.ChoiceField(label=_("Status"), choices=Status.choices, widget=forms.Select(attrs={"id": "ticket-status"}))


class AssignForm(forms.Form):
    assignee = forms.CharField(required=False)  # "me", "" (nobody) or a colleague's user id


MAX_TEMPLATE_PARAMETERS = 10


class TemplateReplyForm(forms.Form):
    """An approved template ("name|language") with its {{1}}…{{n}} values as param_1 … param_n."""

    template = forms.CharField(label=_("Template"), max_length=600)

    def parameters(self) -> list[str]:
        values = []
        for index in range(1, MAX_TEMPLATE_PARAMETERS + 1):
            value = self.data.get(f"param_{index}")
            if value is None:
                break
            values.append(str(value)[:1000])
        return values


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices,
                                 widget=forms.Select(attrs={"id": "ticket-priority"}))


class TagsForm(forms.Form):
    tags = forms.CharField(label=_("Tags"), max_length=1000, required=False,
                           widget=forms.TextInput(attrs={"id": "ticket-tags", "autocomplete": "off"}))

    def names(self) -> list[str]:
        return [name for name in re.split(r"[,;]", self.cleaned_data.get("tags") or "") if name.strip()]


class BulkForm(forms.Form):
    """Tickets by number, and one change: assign, add a tag or set a status."""

    tickets = forms.CharField(max_length=5000)
    action = forms.ChoiceField(choices=[("assign", "assign"), ("tag", "tag"), ("status", "status")])
    assignee = forms.CharField(required=False)  # "me", "" (nobody) or a colleague's id
    tag = forms.CharField(required=False, max_length=50)
    status = forms.ChoiceField(choices=Status.choices, required=False)

    def numbers(self) -> list[int]:
        return [int(n) for n in re.split(r"[,\s]+", self.cleaned_data["tickets"]) if n.isdigit()][:200]
