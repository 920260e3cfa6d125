"""The email adapter: IMAP in (polling, IDLE), SMTP out. Stateless: everything it remembers is in the cursor."""
from __future__ import annotations

import hashlib
import logging
import smtplib
from datetime import date, datetime, timezone

from django.utils.translation import gettext_lazy as _
from imapclient.exceptions import IMAPClientError

from omnidesk.plugin_api import (
    AccountContext,
    AccountProblem,
    Capabilities,
    ChannelAdapter,
    ConnectionCheck,
    DeliveryError,
    DeliveryStatus,
    IdentityKind,
    IdentityRef,
    InboundAttachment,
    InboundEvent,
    InboundMessage,
    OutboundMessage,
    PermanentDeliveryError,
    PollResult,
    SendResult,
    StatusUpdate,
    TransientDeliveryError,
    VerificationFailed,
    WebhookRequest,
)

from channels_plugins.email.compose import compose, loop_token, message_id_for
from channels_plugins.email.connection import imap_session, network_error, smtp_session
from channels_plugins.email.forms import EmailConfigForm
from channels_plugins.email.mailbox import FetchedMail, fetch_new, has_news, select
from channels_plugins.email.mime import ParsedMail, parse_mail
from channels_plugins.email.tokens import number_in_addresses, number_in_subject

logger = logging.getLogger(__name__)

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024  # most mail servers refuse 25 MB messages; base64 adds a third
MAX_ATTACHMENTS = 20


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class EmailAdapter(ChannelAdapter):
    key = "email"
    api_version = "1.1"
    verbose_name = _("Email (IMAP and SMTP)")
    capabilities = Capabilities(
        identity_kind=IdentityKind.EMAIL,
        max_text_length=100_000,
        attachments=True,
        max_attachment_bytes=MAX_ATTACHMENT_BYTES,
        subject=True,
        polling=True,
        poll_interval_seconds=60,
        push_polling=True,
        webhooks=False,
        threads=True,
        cc=True,
    )
    config_form = EmailConfigForm
    clock = staticmethod(utc_now)

    # --- inbound ---------------------------------------------------------------------------
    def verify(self, request: WebhookRequest, account: AccountContext) -> None:
        raise VerificationFailed("Email accounts read their mailbox over IMAP; they take no webhooks.")

    def poll(self, account: AccountContext, cursor: str) -> PollResult:
        config = account.config
        try:
            with imap_session(config) as client:
                batch = fetch_new(client, config, cursor, date.today())
        except (OSError, IMAPClientError) as exc:  # the connection broke while fetching
            raise network_error(exc, f"IMAP server {config['imap_host']}") from None
        events = [event for mail in batch.mails if (event := self.event_for(mail, account)) is not None]
        return PollResult(events=tuple(events), cursor=batch.cursor.dump(), more=batch.more)

    def wait_for_news(self, account: AccountContext, cursor: str, timeout: float) -> bool:
        config = account.config
        try:
            with imap_session(config, timeout=timeout + 30) as client:
                return has_news(client, config, cursor, timeout)
        except (OSError, IMAPClientError) as exc:
            raise network_error(exc, f"IMAP server {config['imap_host']}") from None

    def event_for(self, mail: FetchedMail, account: AccountContext) -> InboundEvent | None:
        """What one mail means: a resident's message, a bounce of one of ours, or nothing (our own mail)."""
        token = loop_token(account.public_id)
        parsed = parse_mail(mail.raw, max_attachment_bytes=MAX_ATTACHMENT_BYTES, max_attachments=MAX_ATTACHMENTS,
                            loop_token=token)
        if parsed.ours:
            return None  # our own mail came back (a copy, a forward rule): answering it would start a loop
        if parsed.bounce is not None:
            return self._bounce_event(parsed)
        return self._message(parsed, mail, account)

    def _bounce_event(self, parsed: ParsedMail) -> StatusUpdate | None:
        bounce = parsed.bounce
        assert bounce is not None
        if not bounce.permanent or not bounce.original_message_id:
            return None  # "delayed" reports change nothing; the server keeps trying
        return StatusUpdate(
            provider_message_id=bounce.original_message_id,
            status=DeliveryStatus.FAILED,
            occurred_at=parsed.date or self.clock(),
            error_code=bounce.status or "bounce",
            error_message=(f"{bounce.recipient}: " if bounce.recipient else "") + (bounce.diagnostic or bounce.action),
        )

    def _message(self, parsed: ParsedMail, mail: FetchedMail, account: AccountContext) -> InboundMessage:
        config = account.config
        ours = {config["from_address"].lower(), config["imap_username"].lower()}
        reply_to = parsed.reply_to[0] if parsed.reply_to else ""
        sender = reply_to or parsed.from_address
        copies = tuple(a for a in dict.fromkeys((*parsed.to, *parsed.cc))
                       if a and a not in ours and a != sender and not number_in_addresses([a], config["from_address"],
                                                                                          account.public_id))
        number = number_in_addresses([*parsed.to, *parsed.cc], config["from_address"], account.public_id) \
            or number_in_subject(parsed.subject)
        content_hash = hashlib.sha256(mail.raw).hexdigest()
        attachments = [InboundAttachment(filename=a.filename, content_type=a.content_type, content=a.content)
                       for a in parsed.attachments]
        attachments += [InboundAttachment(filename=name, content_type="application/octet-stream",
                                          unavailable="larger than the limit; open the mail in the mailbox")
                        for name in parsed.dropped]
        if not mail.complete:
            attachments.append(InboundAttachment(
                filename=f"{parsed.subject or 'mail'}.eml", content_type="message/rfc822",
                unavailable=f"the mail is {mail.size // (1024 * 1024)} MB, more than this account fetches; "
                            "open it in the mailbox"))
        message_id = parsed.message_id if 0 < len(parsed.message_id) <= 255 else ""
        return InboundMessage(
            provider_message_id=message_id or f"sha256:{content_hash}",
            sender=IdentityRef(IdentityKind.EMAIL, sender),
            sender_name=parsed.from_name if not reply_to or reply_to == parsed.from_address else "",
            sent_at=parsed.date or self.clock(),
            subject=parsed.subject,
            text=parsed.text,
            html=parsed.html,
            quoted=parsed.quoted,
            attachments=tuple(attachments),
            references=tuple(dict.fromkeys(r for r in (parsed.in_reply_to, *reversed(parsed.references)) if r)),
            ticket_reference=number,
            cc=copies,
            automated=bool(parsed.automated),
            metadata={"email": {"uid": mail.uid, "size": mail.size, "sha256": content_hash,
                                "automated": parsed.automated, "to": list(parsed.to)}},
        )

    # --- outbound --------------------------------------------------------------------------
    def send(self, message: OutboundMessage, account: AccountContext) -> SendResult:
        if message.template is not None:
            raise PermanentDeliveryError("Email has no templates; send the text itself.", code="template_unsupported")
        config = account.config
        mail = compose(message, config, account.public_id, fallback_subject=str(_("Your message")))
        recipients = [message.recipient.value, *message.cc]
        with smtp_session(config) as smtp:
            _transaction(smtp, config["from_address"], recipients, mail.as_bytes(), message.recipient.value)
        return SendResult(provider_message_id=message_id_for(message.message_id, account.public_id,
                                                             config["from_address"]))

    # --- settings --------------------------------------------------------------------------
    def check_connection(self, account: AccountContext) -> ConnectionCheck:
        config = account.config
        try:
            with imap_session(config) as client:
                select(client, config["mailbox"])
            with smtp_session(config) as smtp:
                smtp.noop()
        except DeliveryError as exc:
            return ConnectionCheck(ok=False, detail=exc.reason)
        except (OSError, IMAPClientError, smtplib.SMTPException) as exc:
            return ConnectionCheck(ok=False, detail=network_error(exc, "the mail server").reason)
        return ConnectionCheck(ok=True, detail=f"Logged in to {config['imap_host']} (folder {config['mailbox']}) and "
                                               f"{config['smtp_host']}.")

    def acknowledgement_text(self, account: AccountContext) -> str:
        return str(account.config.get("acknowledgement") or "").strip()


def _smtp_error(code: int, reply: bytes | str, what: str, *, account_level: bool = False) -> DeliveryError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    reason = f"The mail server refused {what}: {code} {text}".strip()[:400]
    if 400 <= code < 500 or code < 200:
        return TransientDeliveryError(reason, code=f"smtp_{code}")
    if account_level:  # e.g. this login may not send as the configured sender address
        return AccountProblem(reason, code=f"smtp_{code}")
    return PermanentDeliveryError(reason, code=f"smtp_{code}")


def _transaction(smtp: smtplib.SMTP, sender: str, recipients: list[str], data: bytes, main_recipient: str) -> None:
    """MAIL, RCPT, DATA step by step: only a failure during DATA can mean the mail went out anyway."""
    try:
        code, reply = smtp.mail(sender)
        if code != 250:
            raise _smtp_error(code, reply, "the sender address", account_level=True)
        accepted = []
        for recipient in recipients:
            code, reply = smtp.rcpt(recipient)
            if code in (250, 251):
                accepted.append(recipient)
            elif recipient == main_recipient:
                smtp.rset()
                raise _smtp_error(code, reply, recipient)
            else:
                logger.warning("a copy's address was refused", extra={"code": code})
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        raise TransientDeliveryError(f"The mail server closed the connection ({type(exc).__name__}).",
                                     code="smtp_disconnected") from None
    try:
        code, reply = smtp.data(data)
    except smtplib.SMTPDataError as exc:
        raise _smtp_error(exc.smtp_code, exc.smtp_error, "the mail") from None
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        raise TransientDeliveryError(f"The connection broke while the mail was sent ({type(exc).__name__}).",
                                     code="smtp_disconnected", may_have_been_sent=True) from None
    if code != 250:
        raise _smtp_error(code, reply, "the mail")
