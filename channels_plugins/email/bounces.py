"""Delivery status notifications: which of our mails failed, for whom, and why.

Standard DSNs (RFC 3464 `multipart/report; report-type=delivery-status`) are read field by field; the common
non-standard bounces (a MAILER-DAEMON/postmaster or null sender writing prose, with the original attached or its
headers quoted) are read from their text. Only what the bounce itself says ends up in the result.
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import HeaderParser

import nh3

from .loops import is_daemon, is_null_sender, raw_headers

DIAGNOSTIC_LIMIT = 300

_STATUS = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_SMTP_AND_STATUS = re.compile(r"(?<!\d)([45]\d\d)[ -]([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_SMTP_CODE = re.compile(r"(?<![\d.])([45]\d\d)(?=[ -])")
_MESSAGE_ID_LINE = re.compile(r"^[ \t>]*Message-ID:[ \t]*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)
_ADDRESS = r"[^\s<>@,;:\"()]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
_RECIPIENT_PATTERNS = (
    re.compile(rf"RCPT TO:\s*<({_ADDRESS})>", re.IGNORECASE),  # Exim, Sendmail: the failed SMTP command
    re.compile(rf"^\s*<({_ADDRESS})>:?\s*$", re.MULTILINE),  # qmail, Postfix prose: "<user@host>:" on its own line
    re.compile(rf"(?:failed|undeliverable|unknown)[^\n]*:\s*\n\s*\n?\s*<?({_ADDRESS})>?", re.IGNORECASE),
)
_DELAYED = re.compile(r"\b(?:delayed|will (?:retry|keep trying)|still trying|not yet been delivered)\b", re.IGNORECASE)
_HEADER_PARSER = HeaderParser(policy=policy.default)
_COPY_MARKERS = ("copy of", "original message", "message headers")


@dataclass(frozen=True)
class Bounce:
    original_message_id: str  # without <>; "" when the bounce does not say
    recipient: str  # the address that failed, lower-cased
    status: str  # RFC 3463 "5.1.1"; "" when unknown
    action: str  # "failed", "delayed", "delivered", "relayed", "expanded"
    diagnostic: str  # the remote server's words, at most DIAGNOSTIC_LIMIT characters
    permanent: bool  # 5.x.x / failed: the mail will not arrive; delays are not permanent


def parse_bounce(msg: EmailMessage | Message) -> Bounce | None:
    """The bounce this mail is, or None for any other mail (and for anything unreadable)."""
    try:
        return _standard(msg) or _nonstandard(msg)
    except Exception:  # a broken bounce is no bounce; it then arrives as ordinary mail
        return None


def _parts(msg: Message) -> Iterator[Message]:
    """All parts, without descending into attached messages (a forwarded bounce is not a bounce of this mail)."""
    yield msg
    if msg.get_content_maintype() == "multipart" and msg.is_multipart():
        for sub in msg.get_payload():
            if isinstance(sub, Message):
                yield from _parts(sub)


def _standard(msg: Message) -> Bounce | None:
    parts = list(_parts(msg))
    report = next((part for part in parts if part.get_content_type() == "message/delivery-status"), None)
    if report is None:
        return None
    blocks = _status_blocks(report)
    recipients = [block for block in blocks[1:] if _field(block, "Final-Recipient") or _field(block, "Action")]
    if not recipients:
        return None
    chosen = next((b for b in recipients if _field(b, "Action").lower() == "failed"), recipients[0])
    recipient = _address(_field(chosen, "Final-Recipient") or _field(chosen, "Original-Recipient"))
    action = _field(chosen, "Action").lower()
    found = _STATUS.search(_field(chosen, "Status"))
    status = found.group(1) if found else ""
    diagnostic = _field(chosen, "Diagnostic-Code")
    diagnostic = diagnostic.split(";", 1)[1] if ";" in diagnostic else diagnostic  # drop the "smtp;" type
    permanent = status.startswith("5") if status else action == "failed"
    return Bounce(
        original_message_id=_original_id(parts),
        recipient=recipient,
        status=status,
        action=action,
        diagnostic=_truncate(diagnostic),
        permanent=permanent,
    )


def _status_blocks(report: Message) -> list[Message]:
    """The per-message block, then one per recipient. policy.default parses them as sub-messages of headers."""
    payload = report.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = report.get_payload(decode=True) or b""
    chunks = re.split(r"\r?\n[ \t]*\r?\n", text.decode("utf-8", "replace"))
    return [_HEADER_PARSER.parsestr(chunk.strip() + "\n") for chunk in chunks if chunk.strip()]


def _field(block: Message, name: str) -> str:
    values = raw_headers(block, name)
    return values[0] if values else ""


def _address(value: str) -> str:
    """"rfc822; <jan@example.nl>" -> "jan@example.nl"."""
    address = value.split(";", 1)[1] if ";" in value else value
    return address.strip().strip("<>").strip().lower()


def _original_id(parts: list[Message]) -> str:
    """The Message-ID of the mail that bounced: from the returned message or headers, else a quoted header line."""
    for part in parts:
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global") and isinstance(part.get_payload(), list):
            original = part.get_payload()[0]
            ids = [found for value in raw_headers(original, "Message-ID") for found in re.findall(r"<([^<>\s]+)>", value)]
            if ids:
                return ids[0]
        if ctype in ("text/rfc822-headers", "message/global-headers"):
            headers = _HEADER_PARSER.parsestr(_text(part).lstrip() + "\n")
            ids = [found for value in raw_headers(headers, "Message-ID") for found in re.findall(r"<([^<>\s]+)>", value)]
            if ids:
                return ids[0]
    for part in parts:
        if part.get_content_maintype() == "text":
            found = _MESSAGE_ID_LINE.search(_text(part))
            if found:
                return found.group(1)
    return ""


def _text(part: Message) -> str:
    try:
        content = part.get_content() if isinstance(part, EmailMessage) else part.get_payload(decode=True)
    except Exception:
        content = part.get_payload(decode=True)
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    if not isinstance(content, str):
        return ""
    if part.get_content_type() == "text/html":
        # Only the words matter here; nh3 with no tags allowed leaves the text (escaped), then unescape.
        content = html.unescape(nh3.clean(content, tags=set(), clean_content_tags={"script", "style"}))
    return content


def _nonstandard(msg: Message) -> Bounce | None:
    daemon = is_daemon(msg)
    if not daemon and not is_null_sender(msg):
        return None
    parts = list(_parts(msg))
    original_id = _original_id(parts)
    if not original_id:
        return None  # without the original's id there is nothing of ours to mark failed
    text = "\n".join(_text(part) for part in parts if part.get_content_maintype() == "text" and not part.is_multipart())
    prose = _before_returned_copy(text)
    status, diagnostic = _status_from_prose(prose)
    if not daemon and not status:
        return None  # a null sender alone (e.g. a vacation reply) is not a bounce unless it reports an error
    delayed = status.startswith("4") or bool(_DELAYED.search(prose))
    return Bounce(
        original_message_id=original_id,
        recipient=_address(next(iter(raw_headers(msg, "X-Failed-Recipients")), "").split(",")[0])  # Exim
        or _recipient_from_prose(prose),
        status=status,
        action="delayed" if delayed else "failed",
        diagnostic=_truncate(diagnostic),
        permanent=not delayed,
    )


def _before_returned_copy(text: str) -> str:
    """The prose above "------ This is a copy of the message …": the copy's headers are not the diagnosis."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        marker = line.strip().lower()
        if marker.startswith("---") and any(words in marker for words in _COPY_MARKERS):
            return "\n".join(lines[:index])
    return text


def _status_from_prose(prose: str) -> tuple[str, str]:
    """The enhanced status code and the line that states it ("550 5.1.1 <x>: User unknown")."""
    lines = prose.splitlines()
    for pattern in (_SMTP_AND_STATUS, _STATUS):
        for line in lines:
            found = pattern.search(line)
            if found:
                return found.group(found.lastindex or 1), line
    for line in lines:
        found = _SMTP_CODE.search(line)
        if found and re.search(r"smtp|error|said|rejected|refused", line, re.IGNORECASE):
            return f"{found.group(1)[0]}.0.0", line
    paragraph = next((chunk for chunk in re.split(r"\n\s*\n", prose) if chunk.strip()), "")
    return "", paragraph


def _recipient_from_prose(prose: str) -> str:
    for pattern in _RECIPIENT_PATTERNS:
        found = pattern.search(prose)
        if found:
            return found.group(1).lower()
    return ""


def _truncate(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= DIAGNOSTIC_LIMIT else text[: DIAGNOSTIC_LIMIT - 1].rstrip() + "…"
