"""Writes: contacts and identities."""
from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.contacts.models import Contact, ContactIdentity, OptOut
from omnidesk.contacts.normalise import normalise
from omnidesk.plugin_api.events import IdentityRef
from omnidesk.tenants.models import Municipality


def contact_for_identity(*, municipality: Municipality, identity: IdentityRef, display_name: str = "") -> Contact:
    """The contact behind this address, created on first contact. Safe under concurrent first contacts."""
    ref = normalise(identity)
    found = ContactIdentity.objects.filter(municipality=municipality, kind=ref.kind, value=ref.value).select_related(
        "contact"
    ).first()
    if found:
        contact = found.contact
        if display_name and not contact.display_name:
            contact.display_name = display_name[:200]
            contact.save(update_fields=["display_name"])
        return contact
    try:
        with transaction.atomic():
            contact = Contact.objects.create(municipality=municipality, display_name=display_name[:200])
            ContactIdentity.objects.create(municipality=municipality, contact=contact, kind=ref.kind, value=ref.value)
            return contact
    except IntegrityError:
        # Another request created it between our read and our insert.
        return ContactIdentity.objects.get(municipality=municipality, kind=ref.kind, value=ref.value).contact


def contact_update_name(*, municipality: Municipality, identity: IdentityRef, display_name: str) -> Contact | None:
    ref = normalise(identity)
    found = ContactIdentity.objects.filter(municipality=municipality, kind=ref.kind, value=ref.value).select_related(
        "contact"
    ).first()
    if not found or not display_name or found.contact.display_name == display_name:
        return found.contact if found else None
    found.contact.display_name = display_name[:200]
    found.contact.save(update_fields=["display_name"])
    return found.contact


def identity_for(*, municipality: Municipality, identity: IdentityRef, display_name: str = "") -> ContactIdentity:
    """The stored identity for this address (creating the contact on first contact)."""
    ref = normalise(identity)
    contact_for_identity(municipality=municipality, identity=ref, display_name=display_name)
    return ContactIdentity.objects.select_related("contact").get(municipality=municipality, kind=ref.kind, value=ref.value)


def consent_record(
    *, channel_account: ChannelAccount, identity: ContactIdentity, opted_out: bool, keyword: str, at: datetime
) -> bool:
    """Record an opt-out (or remove it on opt-in); True when something changed."""
    if opted_out:
        _optout, created = OptOut.objects.get_or_create(
            channel_account=channel_account,
            identity=identity,
            defaults={"municipality_id": channel_account.municipality_id, "keyword": keyword[:32], "created_at": at},
        )
        return created
    deleted, _ = OptOut.objects.filter(channel_account=channel_account, identity=identity).delete()
    return bool(deleted)
