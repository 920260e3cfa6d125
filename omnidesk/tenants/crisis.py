"""Crisis mode: what residents and agents are told while it is on, and switching it (audited, live on dashboards)."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from omnidesk.tenants.models import Municipality

CRISIS_EVENT = "municipality.crisis"


def crisis_texts(municipality: Municipality) -> dict[str, str]:
    """{"nl": …, "en": …} while crisis mode is on (a missing language falls back to the other); {} when off."""
    if not municipality.crisis_active:
        return {}
    nl, en = municipality.crisis_message_nl.strip(), municipality.crisis_message_en.strip()
    if not (nl or en):
        return {}
    return {"nl": nl or en, "en": en or nl}


def crisis_payload(municipality: Municipality) -> dict[str, Any]:
    """What dashboards need to show or hide the agents' banner (the realtime event's data)."""
    return {"active": municipality.crisis_active, "message_nl": municipality.crisis_message_nl,
            "message_en": municipality.crisis_message_en,
            "since": municipality.crisis_since.isoformat() if municipality.crisis_since else None}


@transaction.atomic
def crisis_set(*, municipality: Municipality, active: bool, message_nl: str, message_en: str,
               actor: Any) -> Municipality:
    """Switch crisis mode on or off and/or change its messages, in one audited step that open dashboards see at
    once. Switching on needs a message in at least one language: residents would otherwise be told nothing."""
    from omnidesk.audit.services import audit_record, diff
    from omnidesk.realtime.services import publish

    message_nl, message_en = message_nl.strip(), message_en.strip()
    if active and not (message_nl or message_en):
        raise ValidationError(_("Write the crisis message before switching crisis mode on."), code="no_message")
    # Locked and re-read: two admins clicking at once switch it once, and each entry shows the real old state.
    current = Municipality.objects.select_for_update().get(pk=municipality.pk)
    old = {"crisis_active": current.crisis_active, "crisis_message_nl": current.crisis_message_nl,
           "crisis_message_en": current.crisis_message_en}
    new = {"crisis_active": active, "crisis_message_nl": message_nl, "crisis_message_en": message_en}
    changes = diff(old, new)
    if not changes:
        return current
    if active != current.crisis_active:
        action = "crisis.switched_on" if active else "crisis.switched_off"
        since = timezone.now() if active else None
        changes["crisis_since"] = [current.crisis_since.isoformat() if current.crisis_since else None,
                                   since.isoformat() if since else None]
    else:
        action, since = "crisis.message_changed", current.crisis_since
    for target in (current, municipality):  # the caller's instance shows the new state too
        for name, value in new.items():
            setattr(target, name, value)
        target.crisis_since = since
    current.save(update_fields=[*new, "crisis_since"])
    audit_record(municipality=current, actor=actor, action=action, target=current, changes=changes)
    if active or "crisis_active" in changes:  # messages changed while off: nobody shows them
        publish(municipality_id=current.pk, type=CRISIS_EVENT, payload=crisis_payload(current))
    return current
