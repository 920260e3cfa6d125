"""Writes: canned responses. Every write validates the model (shortcut pattern, text length, unique shortcut).

A write with an `actor` (an admin on the settings pages) is recorded in the audit log; seeding is not.
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from omnidesk.audit.services import audit_record, diff
from omnidesk.responses.models import CannedResponse
from omnidesk.tenants.models import Municipality

# Examples for a new municipality (`seedresponses`). Dutch on purpose: residents are written to in Dutch, and these
# are content a municipality edits, not interface text.
EXAMPLES: tuple[tuple[str, str, str], ...] = (
    ("groet", "Begroeting",
     "Goedendag {resident_name}, u spreekt met {agent_name} van {municipality}. Waarmee kan ik u helpen?"),
    ("afsluiten", "Afsluiten",
     "Fijn dat ik u kon helpen, {resident_name}. Heeft u later nog een vraag, dan kunt u gewoon weer een bericht "
     "sturen. Noem daarbij uw ticketnummer {ticket_number}.\n\nMet vriendelijke groet,\n{agent_name}\n{municipality}"),
    ("doorverwijzen", "Doorverwijzen naar een collega",
     "Dank u wel voor uw vraag, {resident_name}. Ik zet uw vraag door naar de collega's die hierover gaan. "
     "Zij nemen zo snel mogelijk contact met u op. Uw ticketnummer is {ticket_number}."),
    ("wachttijd", "Wachttijd",
     "Dank u wel voor uw geduld, {resident_name}. Het is op dit moment druk. Ik kom zo snel mogelijk bij u terug."),
)


EDITABLE = ("shortcut", "title", "body")


def _snapshot(response: CannedResponse) -> dict[str, str]:
    return {name: getattr(response, name) for name in EDITABLE}


@transaction.atomic
def canned_response_create(
    *, municipality: Municipality, shortcut: str, title: str, body: str, created_by: Any = None, actor: Any = None
) -> CannedResponse:
    response = CannedResponse(municipality=municipality, shortcut=shortcut, title=title, body=body,
                              created_by=created_by if created_by is not None else actor)
    response.full_clean()
    response.save()
    if actor is not None:
        audit_record(municipality=municipality, actor=actor, action="response.created", target=response,
                     changes=diff({}, _snapshot(response)))
    return response


@transaction.atomic
def canned_response_update(*, response: CannedResponse, actor: Any = None, **fields: str) -> CannedResponse:
    for name in fields:
        if name not in EDITABLE:
            raise TypeError(f"canned_response_update() cannot change {name!r}")
    before = _snapshot(response)
    for name, value in fields.items():
        setattr(response, name, value)
    try:
        response.full_clean()
    except ValidationError:
        # A refused change leaves the instance as it was, so a caller can carry on with it.
        for name in fields:
            setattr(response, name, before[name])
        raise
    response.save()
    changes = diff(before, _snapshot(response))
    if actor is not None and changes:
        audit_record(municipality=response.municipality, actor=actor, action="response.updated", target=response,
                     changes=changes)
    return response


@transaction.atomic
def canned_response_delete(*, response: CannedResponse, actor: Any = None) -> None:
    if actor is not None:
        audit_record(municipality=response.municipality, actor=actor, action="response.deleted", target=response,
                     changes=diff(_snapshot(response), {}))
    response.delete()


def canned_responses_seed(*, municipality: Municipality) -> list[CannedResponse]:
    """Add the example responses the municipality does not have yet; returns those added.

    A shortcut that exists already is left alone, whatever its text: the municipality may have edited it.
    """
    existing = set(CannedResponse.objects.filter(municipality=municipality).values_list("shortcut", flat=True))
    return [
        canned_response_create(municipality=municipality, shortcut=shortcut, title=title, body=body)
        for shortcut, title, body in EXAMPLES
        if shortcut not in existing
    ]
