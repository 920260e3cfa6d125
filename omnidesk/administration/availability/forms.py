"""Forms for business hours, closing days, out-of-hours replies and crisis mode."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from omnidesk.hours.auto_replies import OPENING_PLACEHOLDER
from omnidesk.hours.models import Weekday
from omnidesk.hours.schedule import Period
from omnidesk.hours.validation import period_problems
from omnidesk.tenants.models import Municipality

SLOTS_PER_DAY = 2  # more if a day already has more periods


def _no_colon_after_checkboxes(form: forms.BaseForm) -> None:
    """A checkbox's label follows the box, so it needs no colon."""
    for field in form.fields.values():
        if isinstance(field.widget, forms.CheckboxInput):
            field.label_suffix = ""


def _time_field(label: str) -> forms.TimeField:
    return forms.TimeField(label=label, required=False,
                           widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))


@dataclass(frozen=True)
class DayRow:
    """One weekday of the editor, for the template: its name and its (opens, closes) field pairs."""

    weekday: int
    label: str
    slots: list[tuple[forms.BoundField, forms.BoundField]]


class WeekForm(forms.Form):
    """Per weekday a few optional periods (opens–closes). An empty pair is no period; a half-filled pair, a period
    that does not end after it starts and overlapping periods are refused, on the period concerned."""

    def __init__(self, *args: Any, periods: tuple[Period, ...] = (), **kwargs: Any) -> None:
        per_day = {day: [p for p in periods if p.weekday == day] for day in Weekday.values}
        self.slots = max(SLOTS_PER_DAY, *(len(day) for day in per_day.values()))
        initial = dict(kwargs.pop("initial", None) or {})
        for day, day_periods in per_day.items():
            for slot, period in enumerate(day_periods, start=1):
                initial[self._name(day, slot, "opens")] = period.opens
                initial[self._name(day, slot, "closes")] = period.closes
        super().__init__(*args, initial=initial, **kwargs)
        # The editor is a table with visible column headings; each label also names the day, for screen readers.
        for day, label in Weekday.choices:
            for slot in range(1, self.slots + 1):
                names = {"day": label, "number": slot}
                self.fields[self._name(day, slot, "opens")] = _time_field(
                    _("%(day)s, period %(number)s opens") % names)
                self.fields[self._name(day, slot, "closes")] = _time_field(
                    _("%(day)s, period %(number)s closes") % names)

    @staticmethod
    def _name(day: int, slot: int, end: str) -> str:
        return f"day{day}_period{slot}_{end}"

    def slot_numbers(self) -> range:
        return range(1, self.slots + 1)

    def days(self) -> list[DayRow]:
        return [DayRow(day, str(label), [(self[self._name(day, slot, "opens")], self[self._name(day, slot, "closes")])
                                         for slot in range(1, self.slots + 1)])
                for day, label in Weekday.choices]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        periods: list[Period] = []
        names: list[tuple[str, str]] = []  # (opens, closes) field names of each period
        for day in Weekday.values:
            for slot in range(1, self.slots + 1):
                opens_name, closes_name = self._name(day, slot, "opens"), self._name(day, slot, "closes")
                if opens_name in self.errors or closes_name in self.errors:
                    continue
                opens, closes = data.get(opens_name), data.get(closes_name)
                if opens is None and closes is None:
                    continue
                if opens is None or closes is None:
                    self.add_error(opens_name if opens is None else closes_name,
                                   _("Fill in both times of a period, or neither."))
                    continue
                periods.append(Period(day, opens, closes))
                names.append((opens_name, closes_name))
        for index, message in period_problems(periods):
            # A period that ends too early is its closing time's fault; an overlap, its opening time's.
            opens_name, closes_name = names[index]
            self.add_error(closes_name if periods[index].closes <= periods[index].opens else opens_name, message)
        self.periods = tuple(periods)
        return data


class AccountWeekForm(WeekForm):
    """A channel account's own hours, or none: then it follows the municipality's."""

    use_municipality_hours = forms.BooleanField(
        label=_("Use the municipality's hours"), required=False,
        help_text=_("Leave this on unless this channel is staffed at other times; its own hours below are then "
                    "removed."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _no_colon_after_checkboxes(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("use_municipality_hours") and not self.periods and not self.errors:
            raise forms.ValidationError(
                _("Enter at least one period, or choose to use the municipality's hours."), code="no_hours")
        return data


class HoursOptionsForm(forms.ModelForm):
    """Holiday options and the out-of-hours reply (labels from the model)."""

    class Meta:
        model = Municipality
        fields = ["closed_on_good_friday", "closed_on_liberation_day", "out_of_hours_reply", "out_of_hours_text_nl",
                  "out_of_hours_text_en"]
        widgets = {"out_of_hours_text_nl": forms.Textarea(attrs={"rows": 3, "lang": "nl"}),
                   "out_of_hours_text_en": forms.Textarea(attrs={"rows": 3, "lang": "en"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        help_text = _("Optional. Leave empty for the standard sentence below. Write %(placeholder)s where the next "
                      "opening time should appear.") % {"placeholder": OPENING_PLACEHOLDER}
        for name in ("out_of_hours_text_nl", "out_of_hours_text_en"):
            self.fields[name].help_text = help_text
        self.fields["closed_on_liberation_day"].help_text = _(
            "Many employers give Liberation Day off only every five years (2025, 2030, …); the Cao Gemeenten gives "
            "it every year.")
        _no_colon_after_checkboxes(self)


class ClosingDayForm(forms.Form):
    day = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    name = forms.CharField(label=_("Reason"), max_length=100, required=False,
                           help_text=_("Optional, e.g. “Day after Ascension”."))

    def clean_day(self) -> date:
        day = self.cleaned_data["day"]
        if day < timezone.localdate():
            raise forms.ValidationError(_("This day has passed already."), code="past")
        return day


class CrisisForm(forms.Form):
    message_nl = forms.CharField(label=_("Crisis message (Dutch)"), required=False, max_length=1000,
                                 widget=forms.Textarea(attrs={"rows": 4, "lang": "nl"}))
    message_en = forms.CharField(label=_("Crisis message (English)"), required=False, max_length=1000,
                                 widget=forms.Textarea(attrs={"rows": 4, "lang": "en"}))
