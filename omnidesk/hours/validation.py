"""What is wrong with a set of weekly opening periods: shared by the service (which refuses) and the form (which
points at the period)."""
from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _

from omnidesk.hours.schedule import Period


def _span(period: Period) -> str:
    return f"{period.opens:%H:%M}–{period.closes:%H:%M}"


def period_problems(periods: Sequence[Period]) -> list[tuple[int, str]]:
    """(index in `periods`, message) for every period that does not end after it starts, or that overlaps an
    earlier-starting period of the same weekday. Back-to-back periods (12:00–13:00, 13:00–17:00) are fine."""
    problems: list[tuple[int, str]] = []
    valid: dict[int, list[tuple[int, Period]]] = {}
    for index, period in enumerate(periods):
        if period.closes <= period.opens:
            problems.append((index, _("The closing time must be later than the opening time.")))
        else:
            valid.setdefault(period.weekday, []).append((index, period))
    for day in valid.values():
        day.sort(key=lambda item: (item[1].opens, item[1].closes))
        for (_before_index, before), (index, after) in zip(day, day[1:]):
            if after.opens < before.closes:
                problems.append((index, _("%(period)s overlaps %(other)s.") % {"period": _span(after),
                                                                                "other": _span(before)}))
    return sorted(problems)
