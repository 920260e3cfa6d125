"""The test mail servers behave like real ones: otherwise the email channel tests would prove nothing."""
from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from channels_plugins.email.tests.servers import Dovecot, SmtpSink


def mail(n: int = 1) -> bytes:
    return (f"From: anna@example.nl\r\nTo: info@gemeente-voorbeeld.nl\r\nSubject: Vraag {n}\r\n"
            f"Message-ID: <vraag-{n}@example.nl>\r\n\r\nKapotte lantaarnpaal {n}.\r\n").encode()


def email_message() -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "info@gemeente-voorbeeld.nl", "anna@example.nl", "Re: Vraag"
    message.set_content("We komen morgen.")
    return message


def processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # exited meanwhile
            continue
        if text in command:
            found.append(command)
    return found


# --- Dovecot ----------------------------------------------------------------------------------------------------
def test_append_returns_increasing_uids_and_messages_returns_them(dovecot: Dovecot) -> None:
    uids = [dovecot.append(mail(n)) for n in range(1, 4)]

    assert uids == [1, 2, 3]
    assert dovecot.messages() == [(1, mail(1)), (2, mail(2)), (3, mail(3))]
    assert dovecot.append(mail(9), mailbox="Archief") == 1  # created on demand, with its own UIDs
    assert dovecot.messages("Archief") == [(1, mail(9))]


def test_body_peek_leaves_seen_unset_and_a_plain_fetch_sets_it(dovecot: Dovecot) -> None:
    uid = dovecot.append(mail())
    flagged = dovecot.append(mail(2), flags=["\\Flagged"])

    with dovecot.client() as client:
        client.select_folder("INBOX")
        assert client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"] == mail()
    assert dovecot.flags(uid) == set()
    assert dovecot.flags(flagged) == {"\\Flagged"}

    with dovecot.client() as client:
        client.select_folder("INBOX")
        client.fetch([uid], ["BODY[]"])
    assert dovecot.flags(uid) == {"\\Seen"}  # so the check above can fail


def test_recreating_inbox_changes_uidvalidity_and_restarts_uids(dovecot: Dovecot) -> None:
    dovecot.append(mail(1))
    dovecot.append(mail(2))
    before = dovecot.uidvalidity()

    after = dovecot.recreate_mailbox()

    assert after != before and dovecot.uidvalidity() == after
    assert dovecot.messages() == []
    # The same messages can arrive again, under the same UID numbers but the new UIDVALIDITY.
    assert [dovecot.append(mail(1)), dovecot.append(mail(2)), dovecot.append(mail(3))] == [1, 2, 3]
    assert dovecot.messages() == [(1, mail(1)), (2, mail(2)), (3, mail(3))]
    assert dovecot.uidvalidity() == after
    with dovecot.client() as client:  # no stray folder is left behind
        assert [name for _, _, name in client.list_folders()] == ["INBOX"]


def test_recreating_another_mailbox_changes_its_uidvalidity(dovecot: Dovecot) -> None:
    dovecot.append(mail(), mailbox="Gemeente/Wijk")
    before = dovecot.uidvalidity("Gemeente/Wijk")

    assert dovecot.recreate_mailbox("Gemeente/Wijk") != before
    assert dovecot.messages("Gemeente/Wijk") == []
    assert dovecot.append(mail(), mailbox="Gemeente/Wijk") == 1


def test_implicit_tls_and_starttls_with_the_self_signed_certificate(dovecot: Dovecot) -> None:
    trusting = ssl.create_default_context(cafile=str(dovecot.cert_path))

    with IMAPClient(dovecot.host, port=dovecot.tls_port, ssl=True, ssl_context=trusting, timeout=5) as client:
        client.login(dovecot.username, dovecot.password)
        assert client.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"] == 0
    with IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=5) as client:
        assert b"STARTTLS" in client.capabilities()
        client.starttls(trusting)
        client.login(dovecot.username, dovecot.password)
    with pytest.raises(ssl.SSLCertVerificationError):  # the certificate is really checked
        IMAPClient(dovecot.host, port=dovecot.tls_port, ssl=True, ssl_context=ssl.create_default_context(), timeout=5)


def test_wrong_password_is_refused_and_added_users_have_their_own_mailbox(dovecot: Dovecot) -> None:
    with pytest.raises(LoginError):
        with dovecot.client(password="wrong"):
            pass
    dovecot.add_user("burgerzaken@example.org", "geheim-2")
    dovecot.append(mail())

    with dovecot.client("burgerzaken@example.org", "geheim-2") as client:
        assert client.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"] == 0


def test_stop_ends_every_process_and_removes_the_files() -> None:
    server = Dovecot()
    with server:
        server.append(mail())
        assert len(processes_mentioning(server.root.name)) >= 4  # master, log, config, auth, imap, ...
    assert processes_mentioning(server.root.name) == []
    assert not server.root.exists()
    with pytest.raises(OSError):
        socket.create_connection((server.host, server.port), timeout=1)


# --- SMTP sink --------------------------------------------------------------------------------------------------
def test_smtp_with_auth_receives_the_message(smtp_sink: SmtpSink) -> None:
    assert smtp_sink.username is not None and smtp_sink.password is not None
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=5) as smtp:
        smtp.login(smtp_sink.username, smtp_sink.password)  # PLAIN
        smtp.send_message(email_message(), to_addrs=["anna@example.nl", "piet@example.nl"])
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=5) as smtp:
        smtp.ehlo()
        smtp.user, smtp.password = smtp_sink.username, smtp_sink.password
        smtp.auth("LOGIN", smtp.auth_login)
        smtp.sendmail("info@gemeente-voorbeeld.nl", ["anna@example.nl"], b"Subject: twee\r\n\r\nx\r\n")

    first, second = smtp_sink.wait_for(2)
    assert first.mail_from == "info@gemeente-voorbeeld.nl"
    assert first.rcpt_tos == ["anna@example.nl", "piet@example.nl"]
    assert b"Subject: Re: Vraag" in first.raw and b"We komen morgen." in first.raw
    assert second.raw == b"Subject: twee\r\n\r\nx\r\n"


def test_smtp_refuses_mail_without_or_with_wrong_auth(smtp_sink: SmtpSink) -> None:
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=5) as smtp:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.send_message(email_message())
        assert refused.value.smtp_code == 530
        with pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
            smtp.login(smtp_sink.username or "", "wrong")
        assert wrong.value.smtp_code == 535
    with pytest.raises(TimeoutError):
        smtp_sink.wait_for(1, timeout=0.2)


def test_fail_next_at_data_and_at_rcpt(smtp_sink: SmtpSink) -> None:
    assert smtp_sink.username is not None and smtp_sink.password is not None
    smtp_sink.fail_next(451, "4.3.0 Try again later", times=2)
    smtp_sink.fail_next(550, "5.1.1 User unknown", at="RCPT")
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=5) as smtp:
        smtp.login(smtp_sink.username, smtp_sink.password)
        for _ in range(2):
            with pytest.raises(smtplib.SMTPDataError) as temporary:
                smtp.send_message(email_message())
            assert (temporary.value.smtp_code, temporary.value.smtp_error) == (451, b"4.3.0 Try again later")
        with pytest.raises(smtplib.SMTPRecipientsRefused) as unknown:
            smtp.send_message(email_message())
        assert unknown.value.recipients == {"anna@example.nl": (550, b"5.1.1 User unknown")}
        smtp.send_message(email_message())  # the failures were used up

    assert [m.rcpt_tos for m in smtp_sink.wait_for(1)] == [["anna@example.nl"]]


def test_drop_next_connection_loses_the_connection_once(smtp_sink: SmtpSink) -> None:
    assert smtp_sink.username is not None and smtp_sink.password is not None
    smtp_sink.drop_next_connection()
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=5) as smtp:
        smtp.login(smtp_sink.username, smtp_sink.password)
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtp.send_message(email_message())
    with pytest.raises(TimeoutError):
        smtp_sink.wait_for(1, timeout=0.2)

    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=5) as smtp:
        smtp.login(smtp_sink.username, smtp_sink.password)
        smtp.send_message(email_message())
    assert len(smtp_sink.wait_for(1)) == 1


def test_starttls_and_implicit_tls_with_the_self_signed_certificate() -> None:
    with SmtpSink("user", "pass", security="starttls") as sink:
        trusting = ssl.create_default_context(cafile=str(sink.cert_path))
        with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
            smtp.ehlo()
            assert smtp.has_extn("starttls")
            smtp.starttls(context=trusting)
            smtp.login("user", "pass")
            smtp.send_message(email_message())
        with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
            with pytest.raises(ssl.SSLCertVerificationError):  # the certificate is really checked
                smtp.starttls(context=ssl.create_default_context())
        assert len(sink.wait_for(1)) == 1

    with SmtpSink(security="ssl") as sink:  # without credentials: no AUTH needed
        with smtplib.SMTP_SSL(sink.host, sink.port, timeout=5,
                              context=ssl.create_default_context(cafile=str(sink.cert_path))) as smtp:
            smtp.send_message(email_message())
        assert sink.wait_for(1)[0].rcpt_tos == ["anna@example.nl"]
