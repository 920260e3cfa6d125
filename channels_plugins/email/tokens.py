"""Ticket tokens that keep a thread together when a mail program drops its headers.

Two forms: the ticket number as a subject tag, "[#123]", and a signed plus address, "info+t123.3fa9c1d2e0@…".
The subject tag can be typed by anyone, so core only lets it join a ticket of the same resident; the plus
address is signed, so it cannot be guessed for other tickets.
"""
from __future__ import annotations

import re

from django.utils.crypto import constant_time_compare, salted_hmac

SUBJECT_TAG = re.compile(r"\[#(\d{1,9})\]")
PLUS_TOKEN = re.compile(r"^(?P<local>[^+@]+)\+t(?P<number>\d{1,9})\.(?P<sig>[0-9a-f]{10})@(?P<domain>.+)$", re.IGNORECASE)
REPLY_PREFIX = re.compile(r"^\s*((re|antw|aw|sv|fw|fwd|doorst)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def _signature(account_id: str, number: str) -> str:
    return salted_hmac("omnidesk.email.plus-address", f"{account_id}:{number}").hexdigest()[:10]


def plus_address(address: str, account_id: str, number: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local}+t{number}.{_signature(account_id, number)}@{domain}"


def number_in_addresses(addresses: list[str], our_address: str, account_id: str) -> str:
    """The ticket number of a valid plus address of ours among `addresses`, or ""."""
    our_local, _, our_domain = our_address.lower().partition("@")
    for address in addresses:
        match = PLUS_TOKEN.match(address.strip().lower())
        if not match or match["local"] != our_local or match["domain"] != our_domain:
            continue
        if constant_time_compare(match["sig"], _signature(account_id, match["number"])):
            return match["number"]
    return ""


def number_in_subject(subject: str) -> str:
    match = SUBJECT_TAG.search(subject)
    return match.group(1) if match else ""


def reply_subject(subject: str, number: str, fallback: str) -> str:
    """'Re: <subject> [#number]', with one Re: however many the thread has piled up, and one tag."""
    bare = REPLY_PREFIX.sub("", SUBJECT_TAG.sub("", subject)).strip() or fallback
    return f"Re: {bare} [#{number}]" if number else f"Re: {bare}"
