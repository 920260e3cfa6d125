"""Real mail servers for the email channel tests: a private Dovecot (IMAP in) and an aiosmtpd sink (SMTP out).

Both bind free ports on 127.0.0.1 and keep all state in their own temporary directory, so parallel pytest-xdist
workers never collide. Dovecot comes from Debian (`make mailserver`); aiosmtpd from requirements-dev.txt.
"""
from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from imapclient import IMAPClient

HOST = "127.0.0.1"


def free_port() -> int:
    """A port that was free a moment ago (callers retry if another process wins the race)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def self_signed_certificate(directory: Path, host: str = HOST) -> tuple[Path, Path]:
    """Write a self-signed certificate for `host` (CN and SAN) and its key; return (cert_path, key_path).

    Clients trust it by loading cert_path as their CA file. EC P-256 because it is generated in a millisecond.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    try:
        san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        san = x509.DNSName(host)
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        # The extensions a strict verifier (VERIFY_X509_STRICT, Python 3.13's default) insists on.
        .add_extension(x509.SubjectAlternativeName([san, x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


# --- IMAP: a private Dovecot ----------------------------------------------------------------------------------

_DOVECOT_CONF = """\
# Private test instance: nothing here reads /etc/dovecot or touches the system instance.
instance_name = {instance}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = {host}
# Login and mail processes refuse to run as root: use Debian's users, and only allow the mail user's uid.
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = {uid}
last_valid_uid = {uid}
disable_plaintext_auth = no
auth_mechanisms = plain login
# No deliberate slowness after a wrong password (2 s, growing per failure from the same IP): tests log in wrongly.
auth_failure_delay = 0
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
# ssl = yes only enables TLS: the plain listener stays plaintext (STARTTLS offered, not required).
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
# INBOX in its own directory, so RENAME INBOX moves it away whole and Dovecot recreates INBOX with a new
# UIDVALIDITY (see Dovecot.recreate_mailbox).
mail_location = maildir:~/Maildir:INBOX=~/inbox
mail_fsync = never
namespace inbox {{
  inbox = yes
  separator = /
}}
# One passwd file per user: Dovecot stats a passwd file at most once a second, so a user appended to a shared
# file could stay unknown for a second; a new file is read at once.
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {tls_port}
    ssl = yes
  }}
}}
protocol imap {{
  # The default (10) is too few for a test that runs an IDLE watcher and pollers next to the helper's sessions.
  mail_max_userip_connections = 100
}}
"""

_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")


def _live_members(pgid: int) -> list[int]:
    """Processes of the group that have not exited yet (zombies left out)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            alive.append(int(stat.parent.name))
    return alive


class Dovecot:
    """A private Dovecot IMAP server (plain port + implicit-TLS port) with passwd-file users and Maildir storage.

    Every helper method talks IMAP to the server (never to the Maildir), so UIDs, UIDVALIDITY and flags are
    exactly what a client sees. Use as a context manager, or call start() and stop().
    """

    mail_user = "dovecot"  # system user that owns the mailboxes; first_valid_uid is set to its uid

    def __init__(self, username: str = "gemeente@example.org", password: str | None = None,
                 *, start_timeout: float = 15.0) -> None:
        # Check the prerequisites before creating anything that would need cleaning up.
        self._binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        if not os.access(self._binary, os.X_OK):
            raise RuntimeError("Dovecot is not installed: run `make mailserver`")
        if os.geteuid() != 0:
            raise RuntimeError("the test Dovecot must be started as root (it switches to the dovecot users)")
        self._mail_pw = pwd.getpwnam(self.mail_user)
        self.host = HOST
        self.port = 0
        self.tls_port = 0
        self.username = username
        self.password = password or secrets.token_urlsafe(12)
        self.start_timeout = start_timeout
        self.root = Path(tempfile.mkdtemp(prefix="omnidesk-dovecot-"))
        self.cert_path, self._key_path = self_signed_certificate(self.root)
        self._process: subprocess.Popen[bytes] | None = None
        # The mail and auth processes run as `dovecot`: they must reach the homes and read the passwd files.
        self.root.chmod(0o711)
        (self.root / "home").mkdir(mode=0o711)
        (self.root / "users").mkdir(mode=0o750)
        os.chown(self.root / "users", 0, self._mail_pw.pw_gid)
        self.add_user(self.username, self.password)

    # lifecycle
    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> Dovecot:
        """Start the server and wait until it greets; a few attempts because free ports can be taken meanwhile."""
        for attempt in range(3):
            self.port, self.tls_port = free_port(), free_port()
            conf = self.root / "dovecot.conf"
            (self.root / "dovecot.log").unlink(missing_ok=True)  # judge each attempt by its own log
            conf.write_text(_DOVECOT_CONF.format(
                instance=f"omnidesk-test-{self.root.name}", root=self.root, host=self.host, uid=self._mail_pw.pw_uid,
                cert=self.cert_path, key=self._key_path, port=self.port, tls_port=self.tls_port))
            # Own session/process group so stop() can kill master and children together; output to a file,
            # never to inherited pipes (a daemon holding pytest's pipes hangs it).
            with open(self.root / "stdout.log", "wb") as out:
                self._process = subprocess.Popen([self._binary, "-F", "-c", str(conf)], stdin=subprocess.DEVNULL,
                                                 stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                self._wait_until_ready()
                return self
            except RuntimeError:
                log = self.log
                self._kill()
                if "in use" not in log or attempt == 2:
                    self.stop()
                    raise
        raise AssertionError("unreachable")

    def _wait_until_ready(self) -> None:
        """Poll until the plain port sends the IMAP greeting (auth is up) and the TLS port accepts connections."""
        deadline = time.monotonic() + self.start_timeout
        assert self._process is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"dovecot exited with {self._process.returncode}:\n{self.log}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    greeting = s.recv(200)
                with socket.create_connection((self.host, self.tls_port), timeout=1):
                    pass
                if greeting.startswith(b"* OK"):
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"dovecot did not accept connections within {self.start_timeout} s:\n{self.log}")

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        # SIGKILL to the whole group at once: a graceful SIGTERM takes Dovecot's master 1-6 s here, and nothing
        # of a throwaway test instance is worth saving. Orphaned children are reaped by init.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        # The children die a moment after the master (a SIGKILLed process still tears down): wait until none of
        # the group is alive, so a test that looks right after stop() finds nothing (zombies are init's to reap).
        deadline = time.monotonic() + 5
        while _live_members(process.pid) and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        """Kill the whole process group and remove every file of this instance."""
        self._kill()
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def log(self) -> str:
        """Dovecot's own log plus anything it printed before opening it (config errors)."""
        parts = []
        for name in ("stdout.log", "dovecot.log"):
            path = self.root / name
            if path.exists():
                parts.append(path.read_text(errors="replace"))
        return "".join(parts)

    def add_user(self, name: str, password: str) -> None:
        """Add a mail account (usable at once, also while the server runs)."""
        if "/" in name or ":" in name or name.startswith("."):
            raise ValueError(f"unusable user name {name!r}")
        home = self.root / "home" / name
        home.mkdir()
        os.chown(home, self._mail_pw.pw_uid, self._mail_pw.pw_gid)
        passwd = self.root / "users" / name
        # Written completely before it appears, so Dovecot never reads half a file.
        partial = passwd.with_name(f".{name}.tmp")
        partial.write_text(f"{name}:{{PLAIN}}{password}:{self._mail_pw.pw_uid}:{self._mail_pw.pw_gid}::{home}\n")
        partial.chmod(0o640)
        os.chown(partial, 0, self._mail_pw.pw_gid)
        partial.rename(passwd)

    # IMAP helpers
    @contextmanager
    def client(self, username: str | None = None, password: str | None = None) -> Iterator[IMAPClient]:
        """A logged-in IMAPClient on the plain port (logged out afterwards)."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        try:
            client.login(username or self.username, password or self.password)
            yield client
        finally:
            try:
                client.logout()
            except Exception:  # the test may have broken the connection on purpose
                client.shutdown()

    def append(self, raw: bytes, mailbox: str = "INBOX", flags: Iterable[str] = ()) -> int:
        """Deliver `raw` to `mailbox` (created if missing) and return its UID (from Dovecot's APPENDUID)."""
        with self.client() as client:
            if not client.folder_exists(mailbox):
                client.create_folder(mailbox)
            response = client.append(mailbox, raw, flags=tuple(flags))
        match = _APPENDUID.search(response)
        if match is None:
            raise RuntimeError(f"no APPENDUID in {response!r}")
        return int(match.group(2))

    def uidvalidity(self, mailbox: str = "INBOX") -> int:
        """The mailbox's current UIDVALIDITY."""
        with self.client() as client:
            return int(client.folder_status(mailbox, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def recreate_mailbox(self, mailbox: str = "INBOX") -> int:
        """Delete and recreate `mailbox` (its messages are gone, UIDs restart at 1); return the new UIDVALIDITY.

        IMAP cannot delete INBOX. RENAME INBOX moves its messages to the new name; with INBOX in its own
        directory Dovecot moves that directory (UID list included) and creates a fresh INBOX with a new
        UIDVALIDITY. We then delete the renamed copy. Other mailboxes are simply deleted and created again.
        Sessions that keep the old mailbox selected (e.g. in IDLE) are not told; they see the change on SELECT.
        """
        with self.client() as client:
            old = int(client.folder_status(mailbox, [b"UIDVALIDITY"])[b"UIDVALIDITY"])
            if mailbox.upper() == "INBOX":
                graveyard = f"recreated-{secrets.token_hex(4)}"
                client.rename_folder(mailbox, graveyard)
                client.delete_folder(graveyard)
            else:
                client.delete_folder(mailbox)
                client.create_folder(mailbox)
            new = int(client.folder_status(mailbox, [b"UIDVALIDITY"])[b"UIDVALIDITY"])
        if new == old:
            raise RuntimeError(f"UIDVALIDITY of {mailbox} did not change ({old})")
        return new

    def flags(self, uid: int, mailbox: str = "INBOX") -> set[str]:
        r"""The message's flags, e.g. {"\\Seen"}; without \Recent, which only says which session looked first."""
        with self.client() as client:
            client.select_folder(mailbox, readonly=True)
            data = client.fetch([uid], ["FLAGS"])
        if uid not in data:
            raise KeyError(f"no message with UID {uid} in {mailbox}")
        return {_text(flag) for flag in data[uid][b"FLAGS"]} - {"\\Recent"}

    def messages(self, mailbox: str = "INBOX") -> list[tuple[int, bytes]]:
        """Every message in `mailbox` as (uid, raw bytes), by UID; fetched with BODY.PEEK so no flag changes."""
        with self.client() as client:
            client.select_folder(mailbox, readonly=True)
            uids = client.search(["ALL"])
            data = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
        return [(uid, bytes(data[uid][b"BODY[]"])) for uid in sorted(data)]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# --- SMTP: an aiosmtpd sink -----------------------------------------------------------------------------------

Stage = Literal["MAIL", "RCPT", "DATA"]


@dataclass(frozen=True)
class Received:
    """One message the sink accepted."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes


@dataclass(frozen=True)
class _Mishap:
    """What happens to one future transaction: a reply code at a stage, or (code 0) a dropped connection."""

    at: Stage
    code: int = 0
    text: str = ""


class _Handler:
    """aiosmtpd hooks. Runs in the controller's event-loop thread; shared state goes through the sink's lock."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:
        # aiosmtpd's own auth_required warns on every connection without TLS; checking here is quieter.
        if self.sink.username is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        # A new transaction takes the next planned mishap; the envelope is replaced on RSET / after DATA.
        mishap = self.sink._take_mishap()
        envelope.omnidesk_mishap = mishap  # type: ignore[attr-defined]
        if reply := await self._mishap(server, envelope, "MAIL"):
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if reply := await self._mishap(server, envelope, "RCPT"):
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if reply := await self._mishap(server, envelope, "DATA"):
            return reply
        assert envelope.mail_from is not None and envelope.original_content is not None
        self.sink._record(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 OK: queued"

    @staticmethod
    async def _mishap(server: SMTP, envelope: Envelope, stage: Stage) -> str | None:
        mishap: _Mishap | None = getattr(envelope, "omnidesk_mishap", None)
        if mishap is None or mishap.at != stage:
            return None
        if mishap.code:
            return f"{mishap.code} {mishap.text}"
        # Connection loss: abort without a reply; aiosmtpd cancels this handler when it notices the loss.
        assert server.transport is not None
        server.transport.abort()  # type: ignore[attr-defined]
        await asyncio.sleep(3600)
        return None


class _Controller(Controller):
    """aiosmtpd's threaded controller on a socket we bound already: no window in which another process can take
    the port (aiosmtpd would only notice after its whole ready_timeout)."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        self._sock = sock
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps what it receives, with optional AUTH and TLS and planned failures.

    With username/password it offers AUTH PLAIN and LOGIN (also without TLS) and refuses MAIL before AUTH.
    security: "none", "starttls" (STARTTLS offered, not required) or "ssl" (implicit TLS), mirroring the
    channel's smtp_security setting; cert_path is the self-signed certificate to trust.
    """

    def __init__(self, username: str | None = None, password: str | None = None,
                 *, security: Literal["none", "starttls", "ssl"] = "none") -> None:
        if (username is None) != (password is None):
            raise ValueError("give both username and password, or neither")
        self.host = HOST
        self.port = 0
        self.username = username
        self.password = password
        self.security = security
        self._dir = Path(tempfile.mkdtemp(prefix="omnidesk-smtp-"))
        self.cert_path, key_path = self_signed_certificate(self._dir)
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.load_cert_chain(self.cert_path, key_path)
        self._received: list[Received] = []
        self._mishaps: list[_Mishap] = []
        self._changed = threading.Condition()
        self._controller: _Controller | None = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> SmtpSink:
        """Start listening on a free port."""
        kwargs: dict[str, Any] = {
            "server_hostname": "smtp-sink.test",  # else aiosmtpd calls socket.getfqdn(), slow without DNS
            "ready_timeout": 10.0,
        }
        if self.username is not None:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
        if self.security == "starttls":
            kwargs["tls_context"] = self._tls
        elif self.security == "ssl":
            kwargs["ssl_context"] = self._tls
        sock = socket.create_server((self.host, 0))
        self.port = sock.getsockname()[1]
        controller = _Controller(_Handler(self), sock, **kwargs)
        try:
            controller.start()
        except BaseException:
            sock.close()
            self.stop()
            raise
        self._controller = controller
        return self

    def stop(self) -> None:
        """Stop the server and remove the certificate directory."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and self.username is not None and self.password is not None
              and secrets.compare_digest(auth_data.login, self.username.encode())
              and secrets.compare_digest(auth_data.password, self.password.encode()))
        return AuthResult(success=ok, handled=False)

    # failure injection
    def fail_next(self, code: int, text: str, times: int = 1, at: Stage = "DATA") -> None:
        """Answer `code text` (e.g. 451, "4.3.0 Try again later") at stage `at` in the next `times` transactions.

        At RCPT every recipient of the transaction is refused; at DATA the message is not kept.
        """
        if not 400 <= code <= 599 or at not in ("MAIL", "RCPT", "DATA"):
            raise ValueError(f"bad failure {code} at {at}")
        with self._changed:
            self._mishaps.extend(_Mishap(at, code, text) for _ in range(times))

    def drop_next_connection(self, at: Stage = "DATA") -> None:
        """In the next transaction, close the connection abruptly at stage `at` without replying.

        At DATA (default) the whole message has arrived but the client never learns whether it was accepted;
        the sink does not keep it.
        """
        with self._changed:
            self._mishaps.append(_Mishap(at))

    def _take_mishap(self) -> _Mishap | None:
        with self._changed:
            return self._mishaps.pop(0) if self._mishaps else None

    # received messages
    def _record(self, message: Received) -> None:
        with self._changed:
            self._received.append(message)
            self._changed.notify_all()

    @property
    def received(self) -> list[Received]:
        """A snapshot of the messages received so far."""
        with self._changed:
            return list(self._received)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until at least `count` messages arrived; return all of them. Raises TimeoutError otherwise."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._received) >= count, timeout=timeout):
                raise TimeoutError(f"expected {count} message(s) within {timeout} s, got {len(self._received)}")
            return list(self._received)
