"""An agent's reply as a mail: threading headers, the ticket's tokens, the agent's name, copies and files."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from datetime import datetime, timezone
from typing import Any

from omnidesk.plugin_api import OutboundMessage
from omnidesk.plugin_api.host import attachment_content

from channels_plugins.email.loops import automatic_headers, loop_headers
from channels_plugins.email.tokens import plus_address, reply_subject


def loop_token(account_id: str) -> str:
    """Our loop header's value for this account: stable, and revealing nothing of the account's public id."""
    return hashlib.sha256(f"omnidesk-loop:{account_id}".encode()).hexdigest()[:20]


def message_id_for(message_id: str, account_id: str, from_address: str) -> str:
    """The same Message-ID on every attempt, so a mail sent twice after a lost answer is one mail to clients."""
    digest = hashlib.sha256(f"{account_id}:{message_id}".encode()).hexdigest()[:16]
    return f"omnidesk.{message_id}.{digest}@{from_address.rpartition('@')[2]}"


def sender_display(config: Mapping[str, Any], agent_name: str, automatic: bool) -> str:
    organisation = config["from_name"]
    return organisation if automatic or not agent_name else f"{agent_name} | {organisation}"


def compose(message: OutboundMessage, config: Mapping[str, Any], account_id: str, *, fallback_subject: str) -> EmailMessage:
    from_address = config["from_address"]
    mail = EmailMessage()
    mail["From"] = formataddr((sender_display(config, message.sender_name, message.automatic), from_address))
    mail["To"] = message.recipient.value
    if message.cc:
        mail["Cc"] = ", ".join(message.cc)
    if config.get("plus_addressing") and message.ticket_reference:
        mail["Reply-To"] = formataddr((config["from_name"], plus_address(from_address, account_id,
                                                                          message.ticket_reference)))
    mail["Subject"] = reply_subject(message.subject, message.ticket_reference, fallback_subject)
    mail["Date"] = format_datetime(datetime.now(timezone.utc))
    mail["Message-ID"] = f"<{message_id_for(message.message_id, account_id, from_address)}>"
    if message.in_reply_to:
        mail["In-Reply-To"] = f"<{message.in_reply_to}>"
    references = [r for r in message.references if r]
    if message.in_reply_to and message.in_reply_to not in references:
        references.append(message.in_reply_to)
    if references:
        mail["References"] = " ".join(f"<{r}>" for r in references)
    headers = automatic_headers(loop_token(account_id)) if message.automatic else loop_headers(loop_token(account_id))
    for name, value in headers.items():
        mail[name] = value
    mail.set_content(message.text or "", subtype="plain", charset="utf-8")
    for attachment in message.attachments:
        maintype, _, subtype = (attachment.content_type or "application/octet-stream").partition("/")
        mail.add_attachment(attachment_content(attachment), maintype=maintype, subtype=subtype or "octet-stream",
                            filename=attachment.filename)
    return mail
