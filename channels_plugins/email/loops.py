"""Mail loops (RFC 3834): is this mail from a machine, is it our own, and what our automatic mail must carry."""
from __future__ import annotations

import hmac
import re
from email.message import EmailMessage, Message
from email.utils import parseaddr

# Every mail Omnidesk sends carries this header with the account's token; mail that comes back with it is ours.
LOOP_HEADER = "X-Omnidesk-Loop"

# RFC 3834 §5 keywords; "auto-notified" is what RFC 3798 read receipts use.
AUTO_SUBMITTED_KINDS = frozenset({"auto-replied", "auto-generated", "auto-notified"})

_PRECEDENCE = {"bulk": "bulk", "junk": "bulk", "list": "list", "auto_reply": "auto-reply"}
# Responders that predate RFC 3834 mark their replies with one of these instead (any value but "no").
_AUTOREPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Auto-Reply-From")
# Outlook/Exchange: the sender asks that no (out-of-office) auto-reply be sent back. It does not prove the mail is
# automatic (Exchange's own automatic mail carries it, but so can a person's), yet answering it automatically is
# exactly what the sender asked us not to do.
_SUPPRESS_TOKENS = frozenset({"all", "oof", "autoreply"})
_LIST_HEADERS = ("List-Id", "List-Unsubscribe")

_DAEMON = re.compile(r"^(?:mailer[-_.]?daemon|postmaster)$", re.IGNORECASE)
_NO_REPLY = re.compile(r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply)(?:[-_.+].*)?$", re.IGNORECASE)


def raw_headers(msg: Message, name: str) -> list[str]:
    """Every value of header `name`, as sent (unfolded), without the policy's parsing (which can choke on junk)."""
    wanted = name.lower()
    try:
        return [" ".join(str(value).split()) for key, value in msg.raw_items() if key.lower() == wanted]
    except Exception:  # a broken message must still be judged
        return []


def is_null_sender(msg: Message) -> bool:
    """`Return-Path: <>` (IIS writes `<<>>`): the envelope sender of bounces and many automatic replies."""
    paths = raw_headers(msg, "Return-Path")
    return bool(paths) and not re.sub(r"[<>\s]", "", paths[0])


def sender_locals(msg: Message) -> list[str]:
    """The local parts of From, Sender and Return-Path, lower-cased."""
    locals_: list[str] = []
    for name in ("From", "Sender", "Return-Path"):
        for value in raw_headers(msg, name):
            address = parseaddr(value)[1] or value.strip("<> ")
            local = address.rpartition("@")[0] if "@" in address else address
            if local:
                locals_.append(local.strip('"').lower())
    return locals_


def is_daemon(msg: Message) -> bool:
    """From, Sender or Return-Path is MAILER-DAEMON or postmaster: the mail system itself writes."""
    return any(_DAEMON.match(local) for local in sender_locals(msg))


def automated_reason(msg: EmailMessage | Message) -> str:
    """Why this mail must never get an automatic answer: a short code, or "" when a person wrote it.

    Codes: "auto-submitted", "null-sender", "mailer-daemon", "auto-reply", "bulk", "list", "no-reply", "suppress".
    """
    for value in raw_headers(msg, "Auto-Submitted"):
        keyword = value.split(";", 1)[0].strip().lower()
        if keyword and keyword != "no":
            return "auto-submitted"
    if is_null_sender(msg):
        return "null-sender"
    if is_daemon(msg):
        return "mailer-daemon"
    for name in _AUTOREPLY_HEADERS:
        if any(value.strip().lower() not in ("", "no", "false", "0") for value in raw_headers(msg, name)):
            return "auto-reply"
    for value in raw_headers(msg, "Precedence"):
        reason = _PRECEDENCE.get(value.strip().lower())
        if reason:
            return reason
    if any(raw_headers(msg, name) for name in _LIST_HEADERS):
        return "list"
    if any(_NO_REPLY.match(local) for local in sender_locals(msg)):
        return "no-reply"
    for value in raw_headers(msg, "X-Auto-Response-Suppress"):
        if _SUPPRESS_TOKENS & {token.lower() for token in re.split(r"[\s,]+", value) if token}:
            return "suppress"
    return ""


def is_ours(msg: EmailMessage | Message, loop_token: str) -> bool:
    """The mail carries our loop header with this installation's token (another installation's token is not ours)."""
    if not loop_token:
        return False
    expected = loop_token.encode()
    return any(hmac.compare_digest(value.strip().encode(), expected) for value in raw_headers(msg, LOOP_HEADER))


def loop_headers(loop_token: str) -> dict[str, str]:
    """Headers for every mail we send, a person's reply included: only the loop header (none without a token)."""
    return {LOOP_HEADER: loop_token} if loop_token else {}


def automatic_headers(loop_token: str, kind: str = "auto-replied") -> dict[str, str]:
    """Headers for mail we send on our own (acknowledgements, notifications), never for an agent's reply.

    No `Precedence`: RFC 3834 makes `Auto-Submitted` the signal, `Precedence` is non-standard, and `bulk` makes
    receiving filters treat a one-to-one acknowledgement as mass mail.
    """
    if kind not in AUTO_SUBMITTED_KINDS:
        raise ValueError(f"Auto-Submitted must be one of {sorted(AUTO_SUBMITTED_KINDS)}, not {kind!r}")
    # Suppress: asks Exchange not to answer our automatic mail with an out-of-office of its own.
    return {"Auto-Submitted": kind, "X-Auto-Response-Suppress": "All", **loop_headers(loop_token)}
