"""Pure: how an SMS text is encoded and how many segments (concatenated parts) it costs.

One SMS carries 140 octets: 160 GSM-7 septets or 70 UCS-2 units; a concatenated message loses room to its
header, leaving 153 septets or 67 units per part. GSM-7 extension characters (`^ { } \\ [ ~ ] | €` and form
feed) cost two septets and are never split across parts; one character outside GSM-7 turns the whole message
into UCS-2, where a character outside the Basic Multilingual Plane (most emoji) is a surrogate pair of two units
that is never split either.

The alphabet is GSM 03.38's default table and its extension table, taken from the `gsm0338` codec (without the
escape code itself, which is not a character). `static/omnidesk/sms-segments.js` mirrors this module for the composer's
live counter; tests run both over the same cases.

`characters` counts Unicode code points (what `len()` and JavaScript's `Array.from()` count), not graphemes.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from gsm0338.charset import BASIC_CHARACTER_SET, BASIC_CHARACTER_SET_EXTENSION

GSM7 = "GSM-7"
UCS2 = "UCS-2"
SINGLE = {GSM7: 160, UCS2: 70}
CONCATENATED = {GSM7: 153, UCS2: 67}

GSM7_BASIC = frozenset(unicodedata.lookup(name) for name in BASIC_CHARACTER_SET.values()) - {"\x1b"}
GSM7_EXTENSION = frozenset(unicodedata.lookup(name) for name in BASIC_CHARACTER_SET_EXTENSION.values())


@dataclass(frozen=True)
class SmsCount:
    encoding: str  # GSM7 or UCS2
    characters: int  # code points
    units: int  # septets (GSM-7) or 16-bit units (UCS-2) the text needs
    segments: int  # 0 for an empty text
    per_segment: int  # 160/70 while the text fits one SMS, else 153/67
    remaining: int  # units still free in the last segment
    ucs2_culprit: str | None  # the first character that forced UCS-2, if any


def is_gsm7(character: str) -> bool:
    return character in GSM7_BASIC or character in GSM7_EXTENSION


def _cost(character: str, encoding: str) -> int:
    if encoding == GSM7:
        return 2 if character in GSM7_EXTENSION else 1
    return 2 if ord(character) > 0xFFFF else 1


def count(text: str) -> SmsCount:
    culprit = next((character for character in text if not is_gsm7(character)), None)
    encoding = GSM7 if culprit is None else UCS2
    costs = [_cost(character, encoding) for character in text]
    units = sum(costs)
    if units <= SINGLE[encoding]:
        per_segment = SINGLE[encoding]
        return SmsCount(encoding, len(text), units, 1 if text else 0, per_segment, per_segment - units, culprit)
    per_segment = CONCATENATED[encoding]
    segments, used = 1, 0
    for cost in costs:
        if used + cost > per_segment:  # a two-unit character never straddles two parts
            segments, used = segments + 1, 0
        used += cost
    return SmsCount(encoding, len(text), units, segments, per_segment, per_segment - used, culprit)
