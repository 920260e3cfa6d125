"""Fill a canned response's variables for one ticket.

A deliberately tiny replacement instead of `str.format`: the body is written by people, and format would choke on a
stray brace, raise on an unknown name and expose attribute access (`{x.__class__}`). Known `{name}`s are replaced in
a single pass, so a value that itself looks like a variable (a resident called "{agent_name}") stays as it is;
anything else in braces is left untouched.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from omnidesk.tickets.models import Ticket
from omnidesk.tickets.presenters import user_name

VARIABLES = ("resident_name", "agent_name", "municipality", "ticket_number")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def render(body: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), body)


def ticket_values(*, ticket: Ticket, agent: Any) -> dict[str, str]:
    """The variables' values for `agent` replying on `ticket` (resident name falls back to a translated "resident")."""
    resident = ticket.contact.display_name.strip()
    return {
        "resident_name": resident or _("resident"),
        "agent_name": user_name(agent),
        "municipality": ticket.municipality.name,
        "ticket_number": str(ticket.number),
    }
