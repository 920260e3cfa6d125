"""Crisis mode: what residents and agents are told while it is on."""
from __future__ import annotations

from omnidesk.tenants.models import Municipality


def crisis_texts(municipality: Municipality) -> dict[str, str]:
    """{"nl": …, "en": …} while crisis mode is on (a missing language falls back to the other); {} when off."""
    if not municipality.crisis_active:
        return {}
    nl, en = municipality.crisis_message_nl.strip(), municipality.crisis_message_en.strip()
    if not (nl or en):
        return {}
    return {"nl": nl or en, "en": en or nl}
