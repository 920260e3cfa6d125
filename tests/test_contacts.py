"""Contacts: one resident is one contact, whatever way an address is written (E.164, NL default; e-mail lower-cased)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from omnidesk.contacts.models import Contact, ContactIdentity
from omnidesk.contacts.normalise import InvalidIdentity, normalise, normalise_email, normalise_phone
from omnidesk.contacts.services import contact_for_identity, contact_update_name, identity_for
from omnidesk.inbound.services import ingest_events
from omnidesk.plugin_api import IdentityKind, IdentityRef, InboundMessage, ProfileUpdate
from omnidesk.tickets.models import Message, Ticket
from tests.conftest import run_at_once
from tests.factories import MunicipalityFactory, sandbox_account

MOBILE = "+31612345678"
SAME_MOBILE = ["06 12345678", "0612345678", "06-12345678", "06 1234 5678", "31612345678", "+31 6 1234 5678",
               "+31612345678", "0031612345678", "  +31 (0)6 12 34 56 78 ", "+31-6-12345678",
               "+31 06 12345678", "06.12.34.56.78", "tel:+31612345678", "\u202d+31612345678\u202c"]


def phone(value: str) -> IdentityRef:
    return IdentityRef(IdentityKind.PHONE, value)


def email(value: str) -> IdentityRef:
    return IdentityRef(IdentityKind.EMAIL, value)


# --- normalisation (pure) ------------------------------------------------------------------------
@pytest.mark.parametrize("raw", SAME_MOBILE)
def test_dutch_mobile_numbers_in_every_notation_are_one_e164_number(raw):
    assert normalise_phone(raw) == MOBILE


@pytest.mark.parametrize("raw, expected", [
    ("030 286 0000", "+31302860000"),  # Utrecht landline, national notation
    ("0302860000", "+31302860000"),
    ("+32 470 12 34 56", "+32470123456"),  # Belgian mobile keeps its country
    ("32470123456", "+32470123456"),  # WhatsApp's wa_id: E.164 without the plus
    ("+44 20 7946 0958", "+442079460958"),
    ("+1 (415) 555-2671", "+14155552671"),
])
def test_other_numbers_keep_their_country(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "hallo", "06", "123", "+31 6", "06 1234 5678 9012 3456 78"])
def test_what_is_no_phone_number_is_refused(raw):
    with pytest.raises(InvalidIdentity):
        normalise_phone(raw)


@pytest.mark.parametrize("raw", ["Piet@Example.NL", " piet@example.nl ", "PIET@EXAMPLE.NL", "piet@example.nl"])
def test_email_addresses_are_lower_cased_and_trimmed(raw):
    assert normalise_email(raw) == "piet@example.nl"


@pytest.mark.parametrize("raw", ["", "piet", "piet@", "@example.nl", "piet@localhost", "piet.example.nl"])
def test_what_is_no_email_address_is_refused(raw):
    with pytest.raises(InvalidIdentity):
        normalise_email(raw)


def test_normalise_dispatches_on_kind_and_keeps_other_identities_verbatim_but_trimmed():
    assert normalise(phone("06 12345678")) == phone(MOBILE)
    assert normalise(email("A@B.NL")) == email("a@b.nl")
    assert normalise(IdentityRef(IdentityKind.VISITOR, "  sandbox-AbC  ")) == IdentityRef(IdentityKind.VISITOR,
                                                                                          "sandbox-AbC")
    with pytest.raises(InvalidIdentity):
        normalise(IdentityRef(IdentityKind.VISITOR, "   "))
    with pytest.raises(InvalidIdentity):
        normalise(IdentityRef(IdentityKind.VISITOR, "x" * 321))


# --- one contact per resident --------------------------------------------------------------------
def test_every_notation_of_one_number_is_one_contact(municipality):
    contacts = {contact_for_identity(municipality=municipality, identity=phone(raw)).pk for raw in SAME_MOBILE}
    assert len(contacts) == 1
    assert Contact.objects.count() == 1
    assert list(ContactIdentity.objects.values_list("kind", "value")) == [("phone", MOBILE)]


def test_email_in_any_case_is_one_contact(municipality):
    first = contact_for_identity(municipality=municipality, identity=email("Piet.Jansen@Gemeente.NL"))
    second = contact_for_identity(municipality=municipality, identity=email("piet.jansen@gemeente.nl "))
    assert first.pk == second.pk
    assert ContactIdentity.objects.get().value == "piet.jansen@gemeente.nl"


def test_a_phone_and_an_email_are_different_identities(municipality):
    a = contact_for_identity(municipality=municipality, identity=phone("0612345678"))
    b = contact_for_identity(municipality=municipality, identity=email("piet@example.nl"))
    assert a.pk != b.pk


def test_the_same_number_in_two_municipalities_is_two_contacts(municipality):
    other = MunicipalityFactory()
    ours = contact_for_identity(municipality=municipality, identity=phone("0612345678"))
    theirs = contact_for_identity(municipality=other, identity=phone("+31612345678"))
    assert ours.pk != theirs.pk
    assert (ours.municipality, theirs.municipality) == (municipality, other)


def test_the_first_name_given_is_kept_and_a_missing_one_filled_in(municipality):
    nameless = contact_for_identity(municipality=municipality, identity=phone("0612345678"))
    assert nameless.display_name == ""
    named = contact_for_identity(municipality=municipality, identity=phone("31612345678"), display_name="Piet")
    renamed = contact_for_identity(municipality=municipality, identity=phone("+31612345678"), display_name="Klaas")
    assert nameless.pk == named.pk == renamed.pk
    assert Contact.objects.get().display_name == "Piet"


def test_a_profile_update_changes_the_name(municipality):
    contact_for_identity(municipality=municipality, identity=phone("0612345678"), display_name="Piet")
    updated = contact_update_name(municipality=municipality, identity=phone("+31 6 1234 5678"), display_name="P. Jansen")
    assert updated is not None and updated.display_name == "P. Jansen"
    assert contact_update_name(municipality=municipality, identity=phone("0687654321"), display_name="X") is None
    assert Contact.objects.count() == 1


def test_identity_for_creates_on_first_contact_and_finds_it_later(municipality):
    first = identity_for(municipality=municipality, identity=phone("06 12345678"), display_name="Piet")
    again = identity_for(municipality=municipality, identity=phone("0031612345678"))
    assert first.pk == again.pk and first.value == MOBILE
    assert again.contact.display_name == "Piet"


def test_messages_from_one_number_in_different_notations_join_one_ticket(municipality):
    account = sandbox_account(municipality)
    events = tuple(
        InboundMessage(provider_message_id=f"p{n}", sender=phone(raw), text=f"Bericht {n}", sender_name="Piet",
                       sent_at=datetime(2026, 5, 1, 9, n, tzinfo=timezone.utc))
        for n, raw in enumerate(["06 12345678", "31612345678", "+31 6 1234 5678"])
    )
    report = ingest_events(account=account, events=events)
    assert report.messages == 3
    assert Contact.objects.count() == 1 and Ticket.objects.count() == 1
    assert Message.objects.filter(ticket=Ticket.objects.get()).count() == 3
    assert Ticket.objects.get().identity.value == MOBILE


def test_a_profile_update_event_uses_the_normalised_address(municipality):
    account = sandbox_account(municipality)
    contact_for_identity(municipality=municipality, identity=phone("0612345678"), display_name="Piet")
    report = ingest_events(account=account, events=(ProfileUpdate(identity=phone("31612345678"), display_name="Pieter"),))
    assert report.profiles == 1
    assert Contact.objects.get().display_name == "Pieter"


def test_concurrent_first_contact_in_different_notations_makes_one_contact(transactional_db):
    municipality = MunicipalityFactory()
    notations = ["06 12345678", "31612345678", "+31 6 1234 5678", "0031612345678", "0612345678", "+31612345678"]

    def first_contact(raw: str) -> int:
        return contact_for_identity(municipality=municipality, identity=phone(raw)).pk

    found = run_at_once(first_contact, [(raw,) for raw in notations], timeout=30)
    assert len(set(found)) == 1 and len(found) == len(notations)
    assert ContactIdentity.objects.count() == 1
    # A loser of the race leaves no orphan contact behind.
    assert Contact.objects.count() == 1
