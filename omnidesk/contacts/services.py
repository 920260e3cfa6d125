"""Writes: contacts and identities."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from django.db import IntegrityError, transaction

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.contacts.models import Contact, ContactIdentity, OptOut
from omnidesk.contacts.normalise import normalise
from omnidesk.plugin_api.events import IdentityRef
from omnidesk.tenants.models import Municipality


def contact_for_identity(*, municipality: Municipality, identity: IdentityRef, display_name: str = "") -> Contact:
    """The contact behind this address, created on first contact. Safe under concurrent first contacts."""
    return identities_resolve(municipality=municipality, senders=[(identity, display_name)])[_key(identity)].contact


def identities_resolve(
    *, municipality: Municipality, senders: Sequence[tuple[IdentityRef, str]]
) -> dict[tuple[str, str], ContactIdentity]:
    """The stored identity, with its contact, of each (address, name) by normalised (kind, value): contacts are
    created on first contact (in bulk) and get the name where they had none. Safe under concurrent first contacts."""
    names: dict[tuple[str, str], str] = {}
    for ref, name in senders:
        key = _key(ref)
        if not names.get(key):
            names[key] = name[:200]
    found = _stored(municipality, names)
    missing = [key for key in names if key not in found]
    if missing:
        try:
            with transaction.atomic():
                contacts = Contact.objects.bulk_create(
                    [Contact(municipality=municipality, display_name=names[key]) for key in missing])
                created = ContactIdentity.objects.bulk_create([
                    ContactIdentity(municipality=municipality, contact=contact, kind=kind, value=value)
                    for (kind, value), contact in zip(missing, contacts)
                ])
            found.update(zip(missing, created))
        except IntegrityError:  # another transaction created one of them between our read and our insert
            for key in missing:
                found[key] = _one(municipality, key, names[key])
    unnamed = [(key, identity.contact) for key, identity in found.items()
               if names[key] and not identity.contact.display_name]
    for key, contact in unnamed:
        contact.display_name = names[key]
    Contact.objects.bulk_update([contact for _key, contact in unnamed], ["display_name"])
    return found


def _key(ref: IdentityRef) -> tuple[str, str]:
    normalised = normalise(ref)
    return str(normalised.kind), normalised.value


def _stored(municipality: Municipality, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], ContactIdentity]:
    keys = set(keys)
    rows = ContactIdentity.objects.filter(
        municipality=municipality, kind__in={k for k, _ in keys}, value__in={v for _, v in keys}
    ).select_related("contact")
    return {(row.kind, row.value): row for row in rows if (row.kind, row.value) in keys}


def _one(municipality: Municipality, key: tuple[str, str], name: str) -> ContactIdentity:
    existing = _stored(municipality, [key]).get(key)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            contact = Contact.objects.create(municipality=municipality, display_name=name)
            return ContactIdentity.objects.create(municipality=municipality, contact=contact, kind=key[0], value=key[1])
    except IntegrityError:
        return _stored(municipality, [key])[key]


def contact_update_name(*, municipality: Municipality, identity: IdentityRef, display_name: str) -> Contact | None:
    return contacts_rename(municipality=municipality, names=[(identity, display_name)]).get(_key(identity))


def contacts_rename(
    *, municipality: Municipality, names: Sequence[tuple[IdentityRef, str]],
    known: Mapping[tuple[str, str], ContactIdentity] | None = None,
) -> dict[tuple[str, str], Contact]:
    """The names residents go by now (a provider's profile): the last name per address wins; unknown addresses are
    skipped. Returns the contacts found, by normalised (kind, value). `known`: identities (with their contacts) the
    caller has in hand from this transaction (identities_resolve), so they are not read again."""
    latest = {_key(ref): name[:200] for ref, name in names}
    known = known or {}
    found = {key: known[key] for key in latest if key in known}
    if len(found) < len(latest):
        found.update(_stored(municipality, [key for key in latest if key not in found]))
    renamed = []
    for key, identity in found.items():
        if latest[key] and identity.contact.display_name != latest[key]:
            identity.contact.display_name = latest[key]
            renamed.append(identity.contact)
    Contact.objects.bulk_update(renamed, ["display_name"])
    return {key: identity.contact for key, identity in found.items()}


def identity_for(*, municipality: Municipality, identity: IdentityRef, display_name: str = "") -> ContactIdentity:
    """The stored identity for this address (creating the contact on first contact)."""
    return identities_resolve(municipality=municipality, senders=[(identity, display_name)])[_key(identity)]


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
