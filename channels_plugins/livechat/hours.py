"""Business hours: "ma-vr 09:00-17:00" lines (Dutch or English day names), in the installation's time zone."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time

DAYS = {
    "ma": 0, "mo": 0, "mon": 0, "di": 1, "tu": 1, "tue": 1, "wo": 2, "we": 2, "wed": 2, "do": 3, "th": 3, "thu": 3,
    "vr": 4, "fr": 4, "fri": 4, "za": 5, "sa": 5, "sat": 5, "zo": 6, "su": 6, "sun": 6,
}
LINE = re.compile(r"^\s*(?P<first>[a-z]{2,3})(?:\s*-\s*(?P<last>[a-z]{2,3}))?\s+(?P<open>\d{1,2}:\d{2})\s*-\s*(?P<close>\d{1,2}:\d{2})\s*$")


class InvalidHours(ValueError):
    pass


@dataclass(frozen=True)
class Opening:
    days: frozenset[int]
    opens: time
    closes: time


def _time(value: str) -> time:
    hours, minutes = value.split(":")
    if int(hours) > 24 or int(minutes) > 59 or (int(hours) == 24 and int(minutes)):
        raise InvalidHours(value)
    return time.max if int(hours) == 24 else time(int(hours), int(minutes))


def parse_hours(text: str) -> tuple[Opening, ...]:
    """One opening per line; an empty text means always open. Raises InvalidHours naming the bad line."""
    openings = []
    for raw in text.lower().splitlines():
        if not raw.strip():
            continue
        match = LINE.match(raw)
        if not match or match["first"] not in DAYS or (match["last"] and match["last"] not in DAYS):
            raise InvalidHours(raw.strip())
        first, last = DAYS[match["first"]], DAYS[match["last"] or match["first"]]
        days = frozenset(range(first, last + 1)) if first <= last else frozenset([*range(first, 7), *range(0, last + 1)])
        opens, closes = _time(match["open"]), _time(match["close"])
        if closes <= opens:
            raise InvalidHours(raw.strip())
        openings.append(Opening(days, opens, closes))
    return tuple(openings)


def is_open(openings: tuple[Opening, ...], at: datetime) -> bool:
    if not openings:
        return True
    return any(at.weekday() in o.days and o.opens <= at.time() < o.closes for o in openings)
