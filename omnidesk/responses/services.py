"""Writes: canned responses. Every write validates the model (shortcut pattern, text length, unique shortcut)."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
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


def canned_response_create(
    *, municipality: Municipality, shortcut: str, title: str, body: str, created_by: Any = None
) -> CannedResponse:
    response = CannedResponse(municipality=municipality, shortcut=shortcut, title=title, body=body,
                              created_by=created_by)
    response.full_clean()
    response.save()
    return response


def canned_response_update(*, response: CannedResponse, **fields: str) -> CannedResponse:
    for name in fields:
        if name not in ("shortcut", "title", "body"):
            raise TypeError(f"canned_response_update() cannot change {name!r}")
    before = {name: getattr(response, name) for name in fields}
    for name, value in fields.items():
        setattr(response, name, value)
    try:
        response.full_clean()
    except ValidationError:
        # A refused change leaves the instance as it was, so a caller can carry on with it.
        for name, value in before.items():
            setattr(response, name, value)
        raise
    response.save()
    return response


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
