"""The one automatic answer a new conversation gets: crisis notice, out-of-hours notice, channel acknowledgement.

Residents get Dutch and English at once: which language a resident reads is not known from their first message.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from omnidesk.hours.selectors import schedule_for
from omnidesk.tenants.crisis import crisis_texts
from omnidesk.tenants.models import Municipality
from omnidesk.tickets.models import Message, Ticket

RESIDENT_LANGUAGES = ("nl", "en")
# Where an admin's own out-of-hours text wants the next opening time.
OPENING_PLACEHOLDER = "{opening}"


def opening_phrase(opening: datetime) -> str:
    """The moment in the active language and the local time zone, e.g. "maandag 30 november om 09:00"."""
    local = timezone.localtime(opening)
    return _("%(day)s at %(time)s") % {"day": date_format(local, "l j F"), "time": date_format(local, "H:i")}


def out_of_hours_texts(municipality: Municipality, opening: datetime) -> list[str]:
    """Per resident language, the admin's own text (with {opening} filled in) or else our default sentence."""
    custom = {"nl": municipality.out_of_hours_text_nl.strip(), "en": municipality.out_of_hours_text_en.strip()}
    texts = []
    for language in RESIDENT_LANGUAGES:
        with translation.override(language):
            when = opening_phrase(opening)
            texts.append(custom[language].replace(OPENING_PLACEHOLDER, when) if custom[language] else _(
                "We are closed at the moment. We will answer your message from %(opening)s.") % {"opening": when})
    return texts


def out_of_hours_notice(ticket: Ticket, at: datetime) -> list[str]:
    """The out-of-hours texts when the municipality wants them and the ticket's channel is closed at `at`.

    Nothing without hours (always open) or without a next opening in sight: a reply that cannot say when we answer
    would only worry the resident.
    """
    municipality = ticket.municipality
    if not municipality.out_of_hours_reply:
        return []
    schedule = schedule_for(municipality, ticket.channel_account_id)
    if schedule.is_open(at):
        return []
    opening = schedule.next_opening(at)
    return out_of_hours_texts(municipality, opening) if opening else []


def join_texts(parts: Iterable[str]) -> str:
    # A language that fell back to the other would repeat a text: keep each text once, in order.
    return "\n\n".join(dict.fromkeys(part.strip() for part in parts if part and part.strip()))


def automatic_reply_text(*, ticket: Ticket, message: Message, acknowledgement: str) -> str:
    """The text to send automatically for a new ticket ("" sends nothing). Never for automated mail (RFC 3834).

    In this order: the crisis message while crisis mode is on, the out-of-hours notice, the channel's
    acknowledgement.
    """
    if message.metadata.get("automated"):
        return ""
    crisis = crisis_texts(ticket.municipality)
    return join_texts([crisis.get("nl", ""), crisis.get("en", ""), *out_of_hours_notice(ticket, timezone.now()),
                       acknowledgement])
