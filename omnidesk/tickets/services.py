"""Writes: tickets and their messages. Every change is published to the municipality's dashboards."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.contacts.models import Contact, ContactIdentity
from omnidesk.contacts.selectors import is_opted_out
from omnidesk.plugin_api.capabilities import capability_problem
from omnidesk.plugin_api.events import (
    IdentityRef,
    InboundAttachment,
    OutboundAttachment,
    OutboundMessage,
    StatusUpdate,
)
from omnidesk.ops.bulk import bulk_update_rows
from omnidesk.realtime.services import publish, publish_many
from omnidesk.tickets.delivery import next_status
from omnidesk.tickets.failures import failure_reason
from omnidesk.tickets.models import (
    Attachment,
    DeliveryEvent,
    DeliveryStatus,
    Direction,
    Kind,
    Message,
    Status,
    Ticket,
)
from omnidesk.tickets.presenters import message_data, ticket_data, user_name
from omnidesk.tickets.intake import Incoming, messages_receive, preview
from omnidesk.tickets.threads import ThreadHint



class DuplicateMessage(Exception):
    """The provider delivered a message we already have."""


class NotAllowed(Exception):
    """The action is not possible in the ticket's current state; the message says why."""


def publish_ticket(ticket: Ticket, type: str = "ticket.updated") -> None:
    publish(municipality_id=ticket.municipality_id, type=type, payload={"ticket": ticket_data(ticket)})


def publish_message(message: Message, type: str = "message.created") -> None:
    publish(
        municipality_id=message.municipality_id,
        type=type,
        payload={"message": message_data(message), "ticket": ticket_data(message.ticket)},
    )


def store_attachment(message: Message, item: InboundAttachment) -> Attachment:
    attachment = Attachment(
        municipality_id=message.municipality_id,
        message=message,
        filename=item.filename[:255] or "attachment",
        content_type=item.content_type[:255] or "application/octet-stream",
        provider_media_id=item.provider_media_id,
        fetch_error=item.unavailable[:300],
    )
    if item.content is not None and not item.unavailable:
        _put_content(attachment, item.content)
    attachment.save()
    if item.content is None and item.provider_media_id and not item.unavailable:
        from omnidesk.inbound.media import enqueue_media_fetch

        enqueue_media_fetch(attachment)
    return attachment


def _put_content(attachment: Attachment, content: bytes) -> None:
    attachment.size = len(content)
    attachment.sha256 = hashlib.sha256(content).hexdigest()
    attachment.file.save(attachment.filename, ContentFile(content), save=False)


def attachment_store_fetched(*, attachment: Attachment, content: bytes, content_type: str, filename: str) -> Attachment:
    """Store a file fetched from the provider and tell the dashboards."""
    if content_type:
        attachment.content_type = content_type[:255]
    if filename:
        attachment.filename = filename[:255]
    _put_content(attachment, content)
    attachment.fetch_error = ""
    attachment.save()
    publish_message(attachment.message, "message.updated")
    return attachment


def attachment_mark_unavailable(*, attachment: Attachment, reason: str) -> Attachment:
    attachment.fetch_error = reason[:300]
    attachment.save(update_fields=["fetch_error"])
    publish_message(attachment.message, "message.updated")
    return attachment


def message_receive(
    *,
    account: ChannelAccount,
    contact: Contact,
    identity: ContactIdentity,
    provider_message_id: str,
    text: str,
    html: str = "",
    subject: str = "",
    sent_at: datetime | None = None,
    in_reply_to: str = "",
    attachments: tuple[InboundAttachment, ...] = (),
    metadata: dict[str, Any] | None = None,
    quoted_text: str = "",
    thread: ThreadHint | None = None,
    acknowledgement: str = "",
) -> Message:
    """Store one inbound message (tickets.intake, a batch of one). Raises DuplicateMessage when the provider id is
    known already. `acknowledgement`, when given, is sent automatically if the message opens a new ticket."""
    if identity.contact_id != contact.pk:
        raise ValueError("the identity is not the contact's")
    identity.contact = contact
    [message] = messages_receive([Incoming(
        account=account, identity=identity, provider_message_id=provider_message_id, text=text, html=html,
        subject=subject, sent_at=sent_at, in_reply_to=in_reply_to, attachments=attachments,
        metadata=dict(metadata or {}), quoted_text=quoted_text, thread=thread, acknowledgement=acknowledgement,
    )])
    if message is None:
        raise DuplicateMessage(provider_message_id)
    return message


def acknowledge(*, ticket: Ticket, text: str) -> Message | None:
    """Send the channel's automatic acknowledgement of a new ticket; at most one a day per resident and channel.

    The limit keeps a resident who writes ten times from getting ten acknowledgements, and ends any loop with a
    machine that slipped through the plugin's automated-mail checks (RFC 3834). An automatic message from before
    crisis mode came on does not count: that one did not carry the crisis notice, which every resident must get.
    """
    from omnidesk.outbound.services import enqueue_delivery
    from omnidesk.tenants.crisis import crisis_texts

    since = timezone.now() - timedelta(seconds=settings.OMNIDESK["ACKNOWLEDGEMENT_INTERVAL"])
    municipality = ticket.municipality
    if crisis_texts(municipality) and municipality.crisis_since and municipality.crisis_since > since:
        since = municipality.crisis_since
    if Message.objects.filter(channel_account_id=ticket.channel_account_id, ticket__identity_id=ticket.identity_id,
                              metadata__automatic=True, created_at__gte=since).exists():
        return None
    message = _ticket_side_message(ticket, Kind.MESSAGE, None, text=text, delivery_status=DeliveryStatus.QUEUED,
                                   metadata={"automatic": True})
    publish_message(message)
    enqueue_delivery(message)
    return message


def _ticket_side_message(ticket: Ticket, kind: Kind, author: AbstractBaseUser | None, **fields: Any) -> Message:
    """A message written on our side of the ticket: a reply, an internal note or a system event."""
    return Message.objects.create(
        municipality_id=ticket.municipality_id,
        ticket=ticket,
        channel_account_id=ticket.channel_account_id,
        direction=Direction.OUTBOUND,
        kind=kind,
        author_user=author,
        **fields,
    )


def reply_create(
    *,
    ticket: Ticket,
    author: AbstractBaseUser,
    text: str,
    template: dict[str, Any] | None = None,
    files: Sequence[UploadedFile] = (),
    quote: Message | None = None,
    cc: Sequence[str] = (),
    subject: str = "",
) -> Message:
    """Queue an agent's reply (free text with files, or an approved template); delivered by a task after commit.

    `subject` (channels with subjects) overrides the ticket's subject for this reply only.
    """
    from omnidesk.notifications.services import notify_reply_author_follows
    from omnidesk.outbound.services import enqueue_delivery
    from omnidesk.tickets.composer import capabilities_of, free_text_allowed

    if not ticket.channel_account.enabled:
        raise NotAllowed(_("This channel is switched off; the reply cannot be sent."))
    if (ticket.municipality.assignee_only_replies and ticket.assignee_id is not None
            and ticket.assignee_id != author.pk):
        raise NotAllowed(_("Only %(name)s, who has this ticket, may reply; add an internal note instead.")
                         % {"name": user_name(ticket.assignee)})
    capabilities = capabilities_of(ticket.channel_account)
    if capabilities is None:
        raise NotAllowed(_("The channel plugin is not installed."))
    if is_opted_out(channel_account_id=ticket.channel_account_id, identity=ticket.identity):
        raise NotAllowed(_("This resident has opted out of messages from this channel (%(channel)s).")
                         % {"channel": ticket.channel_account.name})
    if template is None and not free_text_allowed(ticket, capabilities):
        raise NotAllowed(_("Outside the reply window only an approved template can be sent."))
    if len(text) > capabilities.max_text_length:
        raise NotAllowed(_("This channel accepts at most %(n)d characters.") % {"n": capabilities.max_text_length})
    if not text.strip() and not files and template is None:
        raise NotAllowed(_("Write a message or add a file."))
    _check_files(capabilities, files)
    metadata: dict[str, Any] = {"template": template} if template else {}
    if quote is not None and quote.ticket_id == ticket.pk and quote.provider_message_id:
        metadata["quote"] = quote.provider_message_id
    if cc:
        if not capabilities.cc:
            raise NotAllowed(_("This channel cannot send copies."))
        metadata["cc"] = list(cc)
    now = timezone.now()
    with transaction.atomic():
        message = _ticket_side_message(
            ticket, Kind.MESSAGE, author, text=text, delivery_status=DeliveryStatus.QUEUED, metadata=metadata,
            subject=subject.strip()[:255] if capabilities.subject else "",
        )
        for upload in files:
            store_attachment(message, InboundAttachment(
                filename=upload.name or "file", content_type=upload.content_type or "application/octet-stream",
                content=upload.read()))
        ticket.last_outbound_at = now
        ticket.last_activity_at = now
        ticket.first_response_at = ticket.first_response_at or now
        ticket.preview = preview(text)
        if ticket.status == Status.NEW:
            ticket.status = Status.OPEN
        ticket.save()
        publish_message(message)
        enqueue_delivery(message)
        notify_reply_author_follows(message)
    return message


def _check_files(capabilities: Any, files: Sequence[UploadedFile]) -> None:
    """Refuse, before anything is stored, what the channel cannot carry or what is too large."""
    limit = settings.OMNIDESK["MAX_ATTACHMENT_BYTES"]
    for upload in files:
        if upload.size > limit:
            raise NotAllowed(_("%(name)s is larger than %(mb)d MB.") % {"name": upload.name, "mb": limit // (1024 * 1024)})
    draft = OutboundMessage(
        message_id="draft", recipient=IdentityRef(capabilities.identity_kind, "draft"), text="",
        attachments=tuple(OutboundAttachment(filename=f.name or "file", content_type=f.content_type or "", size=f.size,
                                             url="") for f in files),
    )
    problem = capability_problem(capabilities, draft)
    if problem:
        raise NotAllowed(failure_reason(*problem))


def note_create(*, ticket: Ticket, author: AbstractBaseUser, text: str) -> Message:
    from omnidesk.notifications.services import notify_note

    with transaction.atomic():
        message = _ticket_side_message(ticket, Kind.NOTE, author, text=text)
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
        publish_message(message)
        notify_note(message)
    return message


def _system_event(ticket: Ticket, actor: AbstractBaseUser | None, event: str, **data: Any) -> Message:
    message = _ticket_side_message(
        ticket, Kind.EVENT, actor, metadata={"event": event, "actor": user_name(actor), **data}
    )
    publish_message(message)
    return message


def auto_assign(ticket: Ticket) -> None:
    """Round robin over the online agents (tickets.routing), when the municipality has it switched on."""
    from omnidesk.tickets.routing import next_agent

    agent = next_agent(ticket)
    if agent is not None:
        ticket_assign(ticket=ticket, assignee=agent, actor=None)


def ticket_assign(*, ticket: Ticket, assignee: AbstractBaseUser | None, actor: AbstractBaseUser | None) -> Ticket:
    """Assign (or with None unassign) the ticket; `actor` None is the system (automatic assignment)."""
    from omnidesk.notifications.services import notify_assigned

    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    with transaction.atomic():
        ticket.assignee = assignee
        if ticket.status == Status.NEW and assignee is not None:
            ticket.status = Status.OPEN
        ticket.save()
        if assignee is None:
            event = "unassigned"
        else:
            event = "took" if actor is not None and assignee.pk == actor.pk else "assigned"
        _system_event(ticket, actor, event, assignee=user_name(assignee))
        publish_ticket(ticket)
        notify_assigned(ticket, assignee, actor)
    return ticket


def ticket_set_status(*, ticket: Ticket, status: Status, actor: AbstractBaseUser) -> Ticket:
    if ticket.status == status:
        return ticket
    with transaction.atomic():
        ticket.status = status
        ticket.resolved_at = timezone.now() if status in (Status.RESOLVED, Status.CLOSED) else None
        ticket.save()
        _system_event(ticket, actor, "status", status=status.value)
        publish_ticket(ticket)
    return ticket


def delivery_status_record(*, account: ChannelAccount, update: StatusUpdate) -> Message | None:
    """Keep a provider's status report and apply it to its message, if we know the message yet."""
    try:
        with transaction.atomic():
            DeliveryEvent.objects.create(
                municipality_id=account.municipality_id,
                channel_account=account,
                provider_message_id=update.provider_message_id,
                status=update.status.value,
                occurred_at=update.occurred_at,
                error_code=update.error_code[:64],
                error_message=update.error_message[:500],
                client_reference=update.client_reference[:64],
            )
    except IntegrityError:
        return None  # this exact report was handled already
    message = (
        Message.objects.select_for_update()
        .filter(channel_account=account, provider_message_id=update.provider_message_id)
        .first()
    ) or _adopt_by_reference(account, update)
    if message is None:
        return None  # attached when the send records the provider id
    return _apply_delivery_events(message)


def _adopt_by_reference(account: ChannelAccount, update: StatusUpdate) -> Message | None:
    """A status for a send whose answer we never got (timeout): the provider echoed our id, so it did arrive."""
    if not update.client_reference.isdigit():
        return None
    message = (
        Message.objects.select_for_update()
        .filter(pk=int(update.client_reference), channel_account=account, direction=Direction.OUTBOUND,
                provider_message_id="")
        .exclude(delivery_status=DeliveryStatus.SENDING)  # a send in flight records its own answer
        .first()
    )
    if message is None:
        return None
    message.provider_message_id = update.provider_message_id
    message.next_attempt_at = None
    message.error_code = message.error_message = ""
    message.save(update_fields=["provider_message_id", "next_attempt_at", "error_code", "error_message"])
    return message


def _apply_delivery_events(message: Message) -> Message:
    events = DeliveryEvent.objects.filter(
        channel_account_id=message.channel_account_id, provider_message_id=message.provider_message_id
    ).order_by("occurred_at", "id")
    status = message.delivery_status
    for event in events:
        new_status = next_status(status, event.status)
        if new_status != status and event.status == DeliveryStatus.FAILED:
            message.error_code, message.error_message = event.error_code, event.error_message
        status = new_status
    events.filter(message__isnull=True).update(message=message)
    if status != message.delivery_status:
        message.delivery_status = status
        message.save(update_fields=["delivery_status", "error_code", "error_message"])
        publish_message(message, "message.updated")
    return message


def consent_noted(*, account: ChannelAccount, identity: ContactIdentity, opted_out: bool, keyword: str) -> None:
    """Show an opt-out or opt-in on the resident's latest ticket of this channel, for every agent to see."""
    ticket = (
        Ticket.objects.filter(channel_account=account, identity=identity).order_by("-last_activity_at", "-id").first()
    )
    if ticket is not None:
        _system_event(ticket, None, "opted_out" if opted_out else "opted_in", keyword=keyword)
        publish_ticket(ticket)


def reaction_record(*, account: ChannelAccount, target_provider_id: str, sender: str, emoji: str) -> Message | None:
    """Set (or, with an empty emoji, remove) a resident's reaction on a message. Repeats change nothing."""
    target = (
        Message.objects.select_for_update(of=("self",))
        .select_related("ticket")
        .filter(channel_account=account, provider_message_id=target_provider_id)
        .first()
    )
    if target is None:
        return None  # a reaction to a message we never had (e.g. sent from a phone): nothing to show it on
    reactions = dict(target.metadata.get("reactions", {}))
    if emoji:
        reactions[sender] = emoji
    else:
        reactions.pop(sender, None)
    if reactions == target.metadata.get("reactions", {}):
        return target
    target.metadata = {**target.metadata, "reactions": reactions}
    target.save(update_fields=["metadata"])
    publish_message(target, "message.updated")
    return target


def outbound_mark_sent(*, message: Message, provider_message_id: str, status: str) -> Message:
    outbound_mark_sent_many([(message, provider_message_id, status)])
    return message


def outbound_mark_sent_many(sent: Sequence[tuple[Message, str, str]]) -> None:
    """Record replies the provider took, as (message, provider id, status): one UPDATE, one INSERT of their dashboard
    events per municipality, and one look for status reports that arrived before we knew the provider ids."""
    if not sent:
        return
    messages = []
    for message, provider_message_id, status in sent:
        message.provider_message_id = provider_message_id
        message.delivery_status = next_status(DeliveryStatus.SENDING, status)
        message.claimed_at = None
        message.error_code = message.error_message = ""
        messages.append(message)
    bulk_update_rows(messages, ["provider_message_id", "delivery_status", "claimed_at", "error_code", "error_message"])
    by_municipality: dict[int, list[Message]] = {}
    for message in messages:
        by_municipality.setdefault(message.municipality_id, []).append(message)
    for municipality_id, group in by_municipality.items():
        publish_many(municipality_id=municipality_id, events=[
            ("message.updated", {"message": message_data(m), "ticket": ticket_data(m.ticket)}) for m in group])
    early = set(DeliveryEvent.objects.filter(
        channel_account_id__in={m.channel_account_id for m in messages},
        provider_message_id__in=[m.provider_message_id for m in messages],
    ).values_list("channel_account_id", "provider_message_id"))
    for message in messages:
        if (message.channel_account_id, message.provider_message_id) in early:
            _apply_delivery_events(message)


def outbound_mark_failed(*, message: Message, code: str, reason: str) -> Message:
    message.delivery_status = DeliveryStatus.FAILED
    message.claimed_at = None
    message.error_code, message.error_message = code[:64], reason[:500]
    message.save(update_fields=["delivery_status", "claimed_at", "error_code", "error_message"])
    publish_message(message, "message.updated")
    return message


def outbound_mark_retrying(*, message: Message, code: str, reason: str, delay: float) -> Message:
    message.delivery_status = DeliveryStatus.QUEUED
    message.claimed_at = None
    message.next_attempt_at = timezone.now() + timedelta(seconds=delay)
    message.error_code, message.error_message = code[:64], reason[:500]
    message.save(update_fields=["delivery_status", "claimed_at", "next_attempt_at", "error_code", "error_message"])
    publish_message(message, "message.updated")
    return message


def template_reply_create(
    *, ticket: Ticket, author: AbstractBaseUser, name: str, language: str, parameters: list[str]
) -> Message:
    """Queue an approved template, e.g. to reach a resident outside the reply window."""
    from omnidesk.tickets.composer import approved_templates, render_template

    templates, error = approved_templates(ticket.channel_account)
    chosen = next((t for t in templates if t.name == name and t.language == language), None)
    if chosen is None:
        raise NotAllowed(error or _("That template is not approved for this channel."))
    if len(parameters) != chosen.parameter_count or not all(p.strip() for p in parameters):
        raise NotAllowed(_("Fill in all %(n)d template fields.") % {"n": chosen.parameter_count})
    return reply_create(
        ticket=ticket, author=author, text=render_template(chosen, parameters),
        template={"name": name, "language": language, "parameters": parameters},
    )


def message_resend(*, message: Message, actor: AbstractBaseUser) -> Message:
    """Queue a failed reply again, for real: a new delivery attempt through the plugin."""
    from omnidesk.outbound.services import enqueue_delivery

    if message.delivery_status != DeliveryStatus.FAILED:
        raise NotAllowed(_("Only a failed message can be sent again."))
    if not message.channel_account.enabled:
        raise NotAllowed(_("This channel is switched off; the reply cannot be sent."))
    with transaction.atomic():
        message.delivery_status = DeliveryStatus.QUEUED
        message.attempts = 0
        message.error_code = message.error_message = ""
        message.save(update_fields=["delivery_status", "attempts", "error_code", "error_message"])
        publish_message(message, "message.updated")
        enqueue_delivery(message)
    return message
