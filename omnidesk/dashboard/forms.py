from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from omnidesk.tickets.models import Status

MAX_TEXT = 10_000


class ReplyForm(forms.Form):
    # Empty text is fine when files come with the reply; reply_create refuses a reply with neither.
    text = forms.CharField(label=_("Reply"), max_length=MAX_TEXT, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    quote = forms.IntegerField(required=False, min_value=1)


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
