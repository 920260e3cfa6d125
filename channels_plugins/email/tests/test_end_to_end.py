"""The email channel end to end, against a real Dovecot (IMAP) and a real SMTP server (aiosmtpd)."""
from __future__ import annotations

import email
import threading
import time
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.selectors import account_context
from omnidesk.channel_accounts.services import channel_account_create, channel_account_update_config
from omnidesk.inbound.polling import poll_account
from omnidesk.outbound.services import Outcome, deliver
from omnidesk.tenants.services import municipality_create
from omnidesk.tickets.models import Attachment, DeliveryEvent, Message, Ticket
from omnidesk.tickets.services import reply_create

from channels_plugins.email.adapter import EmailAdapter

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
RESIDENT = "anna.jansen@example.nl"
OURS = "info@gemeente-voorbeeld.nl"


@pytest.fixture
def town(db: None):  # type: ignore[no-untyped-def]
    return municipality_create(slug="mail-town", name="Mail Town")


@pytest.fixture
def agent(db: None):  # type: ignore[no-untyped-def]
    return get_user_model().objects.create_user(username="mail-agent", password="correct-horse-battery",
                                                first_name="Anna", last_name="de Vries")


def config_for(dovecot, smtp_sink, **extra) -> dict:  # type: ignore[no-untyped-def]
    return {
        "imap_host": dovecot.host, "imap_port": dovecot.port, "imap_security": "none",
        "imap_username": dovecot.username, "imap_password": dovecot.password, "mailbox": "INBOX",
        "smtp_host": smtp_sink.host, "smtp_port": smtp_sink.port, "smtp_security": "none",
        "smtp_username": smtp_sink.username, "smtp_password": smtp_sink.password, "allow_insecure": True,
        "from_address": OURS, "from_name": "Gemeente Voorbeeld", "initial_import_days": 3, **extra,
    }


@pytest.fixture
def mailbox(town, dovecot, smtp_sink) -> ChannelAccount:  # type: ignore[no-untyped-def]
    return channel_account_create(municipality=town, plugin_key="email", name="Info",
                                  config=config_for(dovecot, smtp_sink))


def resident_mail(text: str, *, subject: str = "Kapotte lantaarnpaal", sender: str = RESIDENT,
                  in_reply_to: str = "", references: str = "", **headers: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Anna Jansen <{sender}>"
    mail["To"] = OURS
    mail["Subject"] = subject
    mail["Date"] = format_datetime(datetime.now(timezone.utc))
    mail["Message-ID"] = make_msgid(domain="example.nl")
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = references
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(text)
    return mail.as_bytes()


def parsed(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=default_policy)  # type: ignore[return-value]


def test_a_mail_becomes_a_ticket_the_reply_threads_and_the_answer_joins_the_ticket(mailbox, dovecot, smtp_sink, agent):
    uid = dovecot.append(resident_mail("De lantaarnpaal voor Dorpsstraat 12 is kapot."))
    assert poll_account(mailbox.pk) == 1
    message = Message.objects.get()
    ticket = message.ticket
    assert (message.text.strip(), ticket.subject, ticket.identity.value) == (
        "De lantaarnpaal voor Dorpsstraat 12 is kapot.", "Kapotte lantaarnpaal", RESIDENT)
    assert "\\Seen" not in {str(f) for f in dovecot.flags(uid)}  # colleagues' Outlook still shows it unread

    reply = reply_create(ticket=ticket, author=agent, text="Dank u, we sturen een monteur.",
                         cc=["buurman@example.nl"])
    assert deliver(reply.pk) == (Outcome.SENT, 0.0)
    received = smtp_sink.wait_for(1)[0]
    assert sorted(received.rcpt_tos) == ["anna.jansen@example.nl", "buurman@example.nl"]
    sent = parsed(received.raw)
    resident_id = message.provider_message_id
    assert sent["In-Reply-To"] == f"<{resident_id}>"
    assert sent["References"] == f"<{resident_id}>"
    assert sent["Subject"] == f"Re: Kapotte lantaarnpaal [#{ticket.number}]"
    assert sent["From"].addresses[0].display_name == "Anna de Vries | Gemeente Voorbeeld"
    assert sent["From"].addresses[0].addr_spec == OURS
    assert sent["Cc"] == "buurman@example.nl"
    assert sent["X-Omnidesk-Loop"] and "Auto-Submitted" not in sent
    reply.refresh_from_db()
    assert f"<{reply.provider_message_id}>" == sent["Message-ID"] and reply.delivery_status == "sent"

    # The resident answers (their client keeps the thread headers) ...
    dovecot.append(resident_mail("Top, dank u wel!", subject=f"Re: Kapotte lantaarnpaal [#{ticket.number}]",
                                 in_reply_to=sent["Message-ID"], references=f"<{resident_id}> {sent['Message-ID']}"))
    # ... and someone else's new mail with the same subject is not merged.
    dovecot.append(resident_mail("Bij mij ook kapot.", sender="piet@example.nl"))
    assert poll_account(mailbox.pk) == 2
    assert Message.objects.filter(ticket=ticket, direction="inbound").count() == 2
    assert Ticket.objects.count() == 2


def test_restarting_the_poller_loses_and_duplicates_nothing(mailbox, dovecot, monkeypatch):
    import omnidesk.inbound.polling as polling

    for n in range(3):
        dovecot.append(resident_mail(f"Vraag {n}"))

    real_ingest = polling.ingest_events

    def crash_after_storing(**kwargs):  # type: ignore[no-untyped-def]
        real_ingest(**kwargs)
        raise SystemExit("worker killed before commit")

    monkeypatch.setattr(polling, "ingest_events", crash_after_storing)
    with pytest.raises(SystemExit):
        poll_account(mailbox.pk)
    assert Message.objects.count() == 0 and ChannelAccount.objects.get(pk=mailbox.pk).poll_cursor == ""
    monkeypatch.setattr(polling, "ingest_events", real_ingest)
    assert poll_account(mailbox.pk) == 3
    dovecot.append(resident_mail("Vraag 3"))
    assert poll_account(mailbox.pk) == 1
    assert poll_account(mailbox.pk) == 0
    assert sorted(Message.objects.values_list("text", flat=True)) == [f"Vraag {n}" for n in range(4)]


def test_a_new_uidvalidity_rescans_without_duplicates(mailbox, dovecot):
    first, second = resident_mail("Eerste"), resident_mail("Tweede")
    dovecot.append(first)
    dovecot.append(second)
    assert poll_account(mailbox.pk) == 2
    before = ChannelAccount.objects.get(pk=mailbox.pk).poll_cursor
    # The folder is restored from a backup: same mails, new UIDs, new UIDVALIDITY, plus one new mail.
    dovecot.recreate_mailbox()
    dovecot.append(first)
    dovecot.append(second)
    dovecot.append(resident_mail("Derde"))
    assert poll_account(mailbox.pk) == 1
    assert ChannelAccount.objects.get(pk=mailbox.pk).poll_cursor != before
    assert sorted(Message.objects.values_list("text", flat=True)) == ["Derde", "Eerste", "Tweede"]


def test_imap_idle_delivers_within_seconds(transactional_db, mailbox, dovecot):
    from omnidesk.inbound.watching import watch_account

    poll_account(mailbox.pk)  # the cursor is at the end of the folder
    stop = threading.Event()
    watcher = threading.Thread(target=watch_account, args=(mailbox.pk, stop, 20.0), daemon=True)
    watcher.start()
    try:
        time.sleep(1.0)  # let it enter IDLE
        dovecot.append(resident_mail("Via IDLE"))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not Message.objects.exists():
            time.sleep(0.2)
        assert Message.objects.get().text == "Via IDLE"
    finally:
        stop.set()
        dovecot.append(resident_mail("wake the watcher so it sees stop"))
        watcher.join(timeout=30)


def test_an_auto_reply_never_triggers_our_acknowledgement_but_a_person_gets_one(mailbox, dovecot, smtp_sink):
    config = config_for(dovecot, smtp_sink, acknowledgement="Bedankt voor uw bericht. We antwoorden binnen 2 werkdagen.")
    channel_account_update_config(account=mailbox, config=config)
    dovecot.append((CORPUS / "auto_reply.eml").read_bytes())
    dovecot.append((CORPUS / "newsletter_reply.eml").read_bytes())
    dovecot.append(resident_mail("Ik heb een vraag over mijn paspoort."))
    assert poll_account(mailbox.pk) == 3
    acknowledgements = Message.objects.filter(metadata__automatic=True)
    assert acknowledgements.count() == 1
    assert deliver(acknowledgements.get().pk)[0] is Outcome.SENT
    sent = parsed(smtp_sink.wait_for(1)[0].raw)
    assert sent["To"] == RESIDENT and sent["Auto-Submitted"] == "auto-replied"
    assert sent["From"].addresses[0].display_name == "Gemeente Voorbeeld"  # no agent's name on automatic mail
    # Our acknowledgement comes back (a forwarding rule, a copy): dropped, no ticket, no answer.
    dovecot.append(smtp_sink.wait_for(1)[0].raw)
    assert poll_account(mailbox.pk) == 0
    assert Ticket.objects.count() == 3


def test_a_bounce_marks_the_reply_failed_instead_of_opening_a_ticket(mailbox, dovecot, agent):
    dovecot.append(resident_mail("Vraag"))
    poll_account(mailbox.pk)
    reply = reply_create(ticket=Ticket.objects.get(), author=agent, text="Antwoord")
    deliver(reply.pk)
    reply.refresh_from_db()
    bounce = (CORPUS / "dsn_bounce.eml").read_bytes().replace(
        b"omnidesk.42.abc@gemeente-voorbeeld.nl", reply.provider_message_id.encode())
    dovecot.append(bounce)
    assert poll_account(mailbox.pk) == 0
    reply.refresh_from_db()
    assert (reply.delivery_status, reply.error_code) == ("failed", "5.1.1")
    assert "User unknown" in reply.error_message
    assert Ticket.objects.count() == 1 and DeliveryEvent.objects.count() == 1


@pytest.mark.parametrize(("code", "text", "outcome"), [
    (451, "4.3.0 Try again later", Outcome.RETRY),
    (550, "5.1.1 User unknown", Outcome.FAILED),
])
def test_smtp_answers_decide_retry_or_failure(mailbox, dovecot, smtp_sink, agent, code, text, outcome):
    dovecot.append(resident_mail("Vraag"))
    poll_account(mailbox.pk)
    reply = reply_create(ticket=Ticket.objects.get(), author=agent, text="Antwoord")
    smtp_sink.fail_next(code, text, at="RCPT")
    assert deliver(reply.pk)[0] is outcome
    reply.refresh_from_db()
    assert reply.error_code == f"smtp_{code}" and text in reply.error_message


def test_a_lost_connection_is_retried_and_then_sent(mailbox, dovecot, smtp_sink, agent):
    dovecot.append(resident_mail("Vraag"))
    poll_account(mailbox.pk)
    reply = reply_create(ticket=Ticket.objects.get(), author=agent, text="Antwoord")
    smtp_sink.drop_next_connection()
    assert deliver(reply.pk)[0] is Outcome.RETRY
    Message.objects.filter(pk=reply.pk).update(next_attempt_at=None)
    assert deliver(reply.pk)[0] is Outcome.SENT
    assert len(smtp_sink.wait_for(1)) == 1


def test_a_refused_login_flags_the_account_and_test_connection_says_why(mailbox, dovecot, smtp_sink):
    adapter = EmailAdapter()
    assert adapter.check_connection(account_context(mailbox)).ok is True
    channel_account_update_config(account=mailbox, config=config_for(dovecot, smtp_sink, imap_password="wrong-password"))
    check = adapter.check_connection(account_context(mailbox))
    assert check.ok is False and "refused the login" in check.detail and "wrong-password" not in check.detail
    poll_account(mailbox.pk)
    mailbox.refresh_from_db()
    assert mailbox.problem.startswith("The IMAP server") and mailbox.poll_failures == 1


def test_implicit_tls_with_a_verified_certificate(mailbox, dovecot, smtp_sink, monkeypatch):
    channel_account_update_config(account=mailbox, config=config_for(
        dovecot, smtp_sink, imap_port=dovecot.tls_port, imap_security="ssl"))
    # Untrusted certificate: an administrator must act.
    assert "not trusted" in EmailAdapter().check_connection(account_context(mailbox)).detail
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.cert_path))
    dovecot.append(resident_mail("Over TLS"))
    assert poll_account(mailbox.pk) == 1


def test_mail_larger_than_the_limit_becomes_a_ticket_with_its_headers(mailbox, dovecot, smtp_sink):
    channel_account_update_config(account=mailbox, config=config_for(dovecot, smtp_sink, max_message_mb=1))
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = RESIDENT, OURS, "Bouwtekening"
    mail["Message-ID"] = make_msgid(domain="example.nl")
    mail.set_content("Zie bijlage.")
    mail.add_attachment(b"%PDF-1.4 " + b"x" * (1536 * 1024), maintype="application", subtype="pdf",
                        filename="tekening.pdf")
    dovecot.append(mail.as_bytes())
    assert poll_account(mailbox.pk) == 1
    attachment = Attachment.objects.get()
    assert attachment.fetch_error.startswith("the mail is") and not attachment.file
    assert Ticket.objects.get().subject == "Bouwtekening"
