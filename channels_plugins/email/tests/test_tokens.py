"""Ticket codes in subjects and signed plus addresses."""
from __future__ import annotations

from channels_plugins.email.tokens import number_in_addresses, number_in_subject, plus_address, reply_subject


def test_a_plus_address_names_its_ticket_and_cannot_be_forged():
    address = plus_address("info@gemeente-voorbeeld.nl", "acc-1", "123")
    assert address.startswith("info+t123.") and address.endswith("@gemeente-voorbeeld.nl")
    assert number_in_addresses(["someone@example.nl", address.upper()], "info@gemeente-voorbeeld.nl", "acc-1") == "123"
    forged = address.replace("t123.", "t124.")
    assert number_in_addresses([forged], "info@gemeente-voorbeeld.nl", "acc-1") == ""
    # Another account's code, or our code on another domain, is not ours.
    assert number_in_addresses([address], "info@gemeente-voorbeeld.nl", "acc-2") == ""
    assert number_in_addresses([address.replace("voorbeeld", "elders")], "info@gemeente-voorbeeld.nl", "acc-1") == ""


def test_the_subject_tag_and_one_re():
    assert number_in_subject("Re: Lantaarnpaal kapot [#42]") == "42"
    assert number_in_subject("Lantaarnpaal kapot") == ""
    assert reply_subject("RE: Antw: Re: Lantaarnpaal kapot [#42]", "42", "Uw bericht") == "Re: Lantaarnpaal kapot [#42]"
    assert reply_subject("Lantaarnpaal kapot", "42", "Uw bericht") == "Re: Lantaarnpaal kapot [#42]"
    assert reply_subject("", "7", "Uw bericht") == "Re: Uw bericht [#7]"
    assert reply_subject("Fwd: vraag", "", "Uw bericht") == "Re: vraag"
