"""Segment counting: GSM-7 and its extension table, UCS-2 and surrogate pairs, at the segment boundaries."""
from __future__ import annotations

import pytest

from omnidesk.plugin_api.sms import GSM7, GSM7_BASIC, GSM7_EXTENSION, UCS2, count, is_gsm7

EMOJI = "😀"  # outside the BMP: a surrogate pair, two UCS-2 units


@pytest.mark.parametrize(
    ("text", "encoding", "characters", "units", "segments", "per_segment", "remaining"),
    [
        ("", GSM7, 0, 0, 0, 160, 160),
        ("Hallo", GSM7, 5, 5, 1, 160, 155),
        ("a" * 160, GSM7, 160, 160, 1, 160, 0),
        ("a" * 161, GSM7, 161, 161, 2, 153, 145),
        ("a" * 306, GSM7, 306, 306, 2, 153, 0),
        ("a" * 307, GSM7, 307, 307, 3, 153, 152),
        ("€" * 80, GSM7, 80, 160, 1, 160, 0),  # extension characters cost two septets
        ("€" * 80 + "a", GSM7, 81, 161, 2, 153, 144),  # 76 euros fill 152 septets; the 77th opens part 2
        ("a" * 159 + "{", GSM7, 160, 161, 2, 153, 145),  # one brace pushes 160 characters over one SMS
        # 152 septets, then "€" would straddle parts 1 and 2: it moves whole to part 2.
        ("a" * 152 + "€" + "a" * 10, GSM7, 163, 164, 2, 153, 141),
        ("a" * 153 + "€" * 4, GSM7, 157, 161, 2, 153, 145),
        ("Ç é ü ß ΔΩ @£$¥ \n", GSM7, 17, 17, 1, 160, 143),  # all in the default alphabet
        ("ç", UCS2, 1, 1, 1, 70, 69),  # GSM 03.38 has only the capital Ç
        ("a" * 70 + "ë", UCS2, 71, 71, 2, 67, 63),  # one ë turns 71 GSM characters into two UCS-2 parts
        ("ë" * 70, UCS2, 70, 70, 1, 70, 0),
        ("ë" * 71, UCS2, 71, 71, 2, 67, 63),
        ("ë" * 134, UCS2, 134, 134, 2, 67, 0),
        ("ë" * 135, UCS2, 135, 135, 3, 67, 66),
        (EMOJI * 35, UCS2, 35, 70, 1, 70, 0),
        (EMOJI * 35 + "a", UCS2, 36, 71, 2, 67, 62),  # 33 pairs fill 66 units; the 34th opens part 2
        # 66 units, then a surrogate pair that must not be split: it opens part 2.
        ("ë" * 66 + EMOJI + "ë", UCS2, 68, 69, 1, 70, 1),
        ("ë" * 66 + EMOJI + "ë" * 5, UCS2, 72, 73, 2, 67, 60),
        ("€" + EMOJI, UCS2, 2, 3, 1, 70, 67),  # in UCS-2 the euro sign is one unit like any other
    ],
)
def test_count(text: str, encoding: str, characters: int, units: int, segments: int, per_segment: int,
               remaining: int) -> None:
    result = count(text)
    assert (result.encoding, result.characters, result.units, result.segments, result.per_segment, result.remaining) == (
        encoding, characters, units, segments, per_segment, remaining)


def test_culprit_is_the_first_character_outside_gsm7() -> None:
    assert count("Beste meneer, uw aanvraag is ontvangen.").ucs2_culprit is None
    assert count("Graag gedaan 🙂 en tot ziens, Zoë").ucs2_culprit == "🙂"
    assert count("Café “De Gouden Leeuw”").ucs2_culprit == "“"  # curly quotes from a word processor
    assert count("€ {} [] ~ | ^ \\").ucs2_culprit is None


def test_alphabet_comes_from_the_gsm0338_codec() -> None:
    encoded = "".join(sorted(GSM7_BASIC | GSM7_EXTENSION)).encode("gsm03.38")
    assert len(encoded) == len(GSM7_BASIC) + 2 * len(GSM7_EXTENSION)  # every extension character is ESC + code
    assert len(GSM7_BASIC) == 127 and "\x1b" not in GSM7_BASIC  # 128 codes less the escape
    assert set("^{}\\[~]|€\x0c") == GSM7_EXTENSION
    assert is_gsm7("@") and is_gsm7("€") and not is_gsm7("ç") and not is_gsm7("`")


def test_longest_sms_fits_ten_concatenated_parts() -> None:
    assert count("a" * 1530).segments == 10
    assert count("ë" * 670).segments == 10
