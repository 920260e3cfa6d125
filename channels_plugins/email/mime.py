"""Raw RFC 5322 bytes -> ParsedMail: a typed, safe value the adapter can store and show.

Pure Python, no Django. Nothing here raises on bad input: a broken mail gives whatever could be read.
"""
from __future__ import annotations

import codecs
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import TypeVar
from urllib.parse import unquote

import nh3
from charset_normalizer import from_bytes
from mailparser_reply.parser import EmailMessage as ReplyText
from tnefparse import properties as mapi
from tnefparse.tnef import TNEF

from .bounces import Bounce, parse_bounce
from .loops import automated_reason, is_ours, raw_headers

T = TypeVar("T")

DEFAULT_MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_ATTACHMENTS = 20
_MAX_FORWARD_DEPTH = 3  # a forward of a forward of a forward: deeper ones are kept as .eml only
FORWARD_HEADER = "---------- Forwarded message ----------"


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str
    content: bytes
    content_id: str = ""  # without <>, for inline cid: images
    inline: bool = False


@dataclass(frozen=True)
class ParsedMail:
    message_id: str  # without <>, stripped; "" if missing
    in_reply_to: str  # first id in In-Reply-To, without <>
    references: tuple[str, ...]  # References ids in header order, without <>
    subject: str  # RFC 2047 decoded, whitespace folded
    from_address: str  # lower-cased addr-spec
    from_name: str
    reply_to: tuple[str, ...]
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime | None  # aware
    text: str  # the new part of the message (quoted earlier mail split off when detectable)
    quoted: str  # the quoted earlier conversation ("" when none) — kept, never thrown away
    html: str  # sanitised with nh3; cid: src kept as "cid:<id>"
    attachments: tuple[MailAttachment, ...]
    dropped: tuple[str, ...]  # filenames of parts not kept because of the limits (size/count)
    automated: str  # "" for a person; otherwise a reason code, see loops.automated_reason
    ours: bool  # carries our loop header for THIS installation
    bounce: Bounce | None  # a delivery status notification about one of our mails
    size: int  # len(raw)


def parse_mail(
    raw: bytes,
    *,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    max_attachments: int = DEFAULT_MAX_ATTACHMENTS,
    loop_token: str = "",
) -> ParsedMail:
    raw = bytes(raw)
    msg = _safe(lambda: message_from_bytes(raw, policy=policy.default), EmailMessage())
    collector = _Collector(max_attachment_bytes, max_attachments)
    content = _safe(lambda: collector.read(msg, depth=0), _Content(text=_last_resort_text(raw)))
    new, quoted = _safe(lambda: split_reply(content.text), (content.text, ""))
    text = "\n\n".join(chunk for chunk in (new, *content.forwarded) if chunk.strip())
    senders = _safe(lambda: _addresses(msg, "From"), [])
    from_name, from_address = senders[0] if senders else ("", "")
    message_ids = _safe(lambda: _ids(msg, "Message-ID"), [])
    in_reply_to = _safe(lambda: _ids(msg, "In-Reply-To"), [])
    return ParsedMail(
        message_id=_clean(message_ids[0] if message_ids else ""),
        in_reply_to=_clean(in_reply_to[0] if in_reply_to else ""),
        references=tuple(_clean(i) for i in _safe(lambda: _ids(msg, "References"), [])),
        subject=_clean(" ".join(_safe(lambda: _header(msg, "Subject"), "").split())),
        from_address=_clean(from_address),
        from_name=_clean(from_name),
        reply_to=tuple(_clean(a) for _, a in _safe(lambda: _addresses(msg, "Reply-To"), [])),
        to=tuple(_clean(a) for _, a in _safe(lambda: _addresses(msg, "To"), [])),
        cc=tuple(_clean(a) for _, a in _safe(lambda: _addresses(msg, "Cc"), [])),
        date=_safe(lambda: _date(msg), None),
        text=_clean(text),
        quoted=_clean(quoted),
        html=_clean(content.html),
        attachments=tuple(collector.attachments),
        dropped=tuple(_clean(name) for name in collector.dropped),
        automated=_safe(lambda: automated_reason(msg), ""),
        ours=_safe(lambda: is_ours(msg, loop_token), False),
        bounce=_safe(lambda: parse_bounce(msg), None),
        size=len(raw),
    )


def _safe(compute: Callable[[], T], default: T) -> T:
    """Run one step of reading a mail; a step that fails on a malformed mail must not cost the others."""
    try:
        return compute()
    except Exception:
        return default


def _clean(value: str) -> str:
    """No NULs or other control characters (PostgreSQL text refuses NUL) and no lone surrogates (not encodable)."""
    value = re.sub(r"[\ud800-\udfff]", "\ufffd", value)
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", value)


# --- Charsets -------------------------------------------------------------------------------------------------

# Windows-1252 puts € ‘ ’ “ ” … at 0x80–0x9F where ISO-8859-1 has unused control codes; every mail client reads
# such "ISO-8859-1" as Windows-1252, so do we.
_C1_BYTES = re.compile(rb"[\x80-\x9f]")
_WESTERN = frozenset({"iso8859-1", "iso8859-15", "cp1252"})
_DETECTION_TOLERANCE = 0.05


def decode_text(payload: bytes, declared: str | None) -> str:
    """Bytes of a text part as str: the declared charset when it fits, else what the bytes are."""
    charset = _codec(declared)
    if charset == "ascii" and not payload.isascii():
        charset = None  # 8-bit text under the 7-bit default label: the label says nothing
    if charset == "iso8859-1" and _C1_BYTES.search(payload):
        charset = "cp1252"
    if charset:
        try:
            text = payload.decode(charset)
        except UnicodeDecodeError:
            pass  # the declared charset lies
        else:
            utf8 = _utf8(payload) if charset in _WESTERN and not payload.isascii() else None
            return utf8 if utf8 is not None else text  # UTF-8 labelled Latin-1 would read as "Ã©"
    else:
        utf8 = _utf8(payload)
        if utf8 is not None:
            return utf8
    detected = _detect(payload)
    if detected is not None:
        return detected
    return payload.decode(charset or "cp1252", "replace")


def _codec(name: str | None) -> str | None:
    """Python's codec name for a MIME charset label; None for unknown or non-text codecs (e.g. "base64")."""
    if not name:
        return None
    try:
        codec = codecs.lookup(str(name).strip().strip("\"'").lower()).name
        b"a".decode(codec, "replace")  # raises LookupError for bytes-to-bytes codecs (an empty probe would not)
    except (LookupError, ValueError, TypeError):
        return None
    return codec


def _utf8(payload: bytes) -> str | None:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _detect(payload: bytes) -> str | None:
    best = from_bytes(payload).best()
    # Detection on a few lines is a guess: two stray bytes "decode cleanly" as one Chinese character. Mail here is
    # Dutch, so Windows-1252 wins whenever it reads (almost) as cleanly as the best guess.
    western = from_bytes(payload, cp_isolation=["cp1252"]).best()
    if western is not None and (best is None or western.chaos <= best.chaos + _DETECTION_TOLERANCE):
        return str(western)
    return str(best) if best is not None else None


# --- Headers --------------------------------------------------------------------------------------------------


def _header(msg: Message, name: str) -> str:
    """A header's text, RFC 2047 decoded; raw 8-bit bytes (not allowed, but sent) read as UTF-8, else Windows-1252."""
    try:
        value = msg.get(name)
        text = "" if value is None else str(value)
    except Exception:
        text = ""
    if not text or "\ufffd" in text:
        raws = raw_headers(msg, name)
        if raws:
            text = _decode_words(_recover_8bit(raws[0]))
    return text


def _recover_8bit(value: str) -> str:
    """A raw header value with its 8-bit bytes (kept by the parser as surrogate escapes) decoded."""
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _decode_words(text: str) -> str:
    try:
        return str(make_header(decode_header(text)))
    except Exception:
        return text


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """(display name, lower-cased addr-spec) for every address in every `name` header."""
    found: list[tuple[str, str]] = []
    try:
        for header in msg.get_all(name) or []:
            found.extend((address.display_name, address.addr_spec) for address in header.addresses)
    except Exception:
        found = []
    if not found or any("\ufffd" in display + address or "@" not in address for display, address in found):
        # Split on the raw value first: a decoded name may contain the comma of "Vries, Jan de".
        raws = [_recover_8bit(value) for value in raw_headers(msg, name)]
        found = [(_decode_words(display), address) for display, address in getaddresses(raws)]
    # Only addr-specs that can be written to: junk like "<>" or a bare name is no address.
    return [(display.strip(), address.strip().lower()) for display, address in found
            if re.fullmatch(r"[^\s<>@]+@[^\s<>@]+", address.strip())]


def _ids(msg: Message, name: str) -> list[str]:
    """Message ids in header order, without <>, each once; bare ids (no brackets, as some clients send) too."""
    ids: list[str] = []
    for value in raw_headers(msg, name):
        found = re.findall(r"<([^<>\s]+)>", value) or [token.strip("<>") for token in value.split() if "@" in token]
        ids.extend(found)
    return list(dict.fromkeys(i for i in ids if i))


def _date(msg: Message) -> datetime | None:
    try:
        header = msg.get("Date")
        value = header.datetime if header is not None else None
    except Exception:
        value = None
    if value is None:
        for raw in raw_headers(msg, "Date"):
            try:
                value = parsedate_to_datetime(raw)
                break
            except (TypeError, ValueError, IndexError):
                continue
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)  # "-0000": the sender did not know its zone; UTC is the rule
    return value


# --- HTML -----------------------------------------------------------------------------------------------------


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    # Remote images load when an agent opens the mail (tracking pixels, the agent's IP); only stored cid: images show.
    if tag == "img" and attribute == "src" and not value.strip().lower().startswith("cid:"):
        return None
    return value


_CLEANER = nh3.Cleaner(
    clean_content_tags={"script", "style", "title"},
    url_schemes={"http", "https", "mailto", "tel", "cid"},
    url_relative="deny",
    attribute_filter=_keep_attribute,
    link_rel="noopener noreferrer nofollow",
)


def sanitize_html(markup: str) -> str:
    """nh3's default safe tags; no scripts, styles, event handlers, remote images or relative/javascript: links."""
    return _CLEANER.clean(markup)


_QUOTE_OPEN, _QUOTE_CLOSE = "\x02", "\x03"
_PARAGRAPH_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "dl", "pre", "hr", "figure"})
_LINE_TAGS = frozenset({"div", "tr", "dt", "dd", "section", "article", "header", "footer", "center",
                        "caption", "figcaption", "address", "details", "summary", "aside", "nav"})


class _HtmlText(HTMLParser):
    """Collects the text of (sanitised) HTML; blocks and <br> become line breaks, blockquotes "> " quotes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.chunks.append("\n")
        elif tag == "li":
            self.chunks.append("\n- ")
        elif tag == "blockquote":
            self.chunks.append(f"\n{_QUOTE_OPEN}\n")
        elif tag in _PARAGRAPH_TAGS:
            self.chunks.append("\n\n")
        elif tag in _LINE_TAGS:
            self.chunks.append("\n")
        elif tag in ("td", "th"):
            self.chunks.append(" ")
        if tag == "pre":
            self.pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "blockquote":
            self.chunks.append(f"\n{_QUOTE_CLOSE}\n")
        elif tag in _PARAGRAPH_TAGS:
            self.chunks.append("\n\n")
        elif tag in _LINE_TAGS:
            self.chunks.append("\n")
        if tag == "pre":
            self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        self.chunks.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(markup: str) -> str:
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    rows: list[tuple[int, str]] = []  # (quote depth, line)
    depth = 0
    for line in "".join(parser.chunks).split("\n"):
        if line.strip() in (_QUOTE_OPEN, _QUOTE_CLOSE):
            depth = depth + 1 if line.strip() == _QUOTE_OPEN else max(0, depth - 1)
            line = ""  # a quote is a paragraph of its own
        line = re.sub(r"[ \t\xa0]+", " ", line).strip()
        if not line and (not rows or not rows[-1][1]):
            if rows:  # one blank line between paragraphs (at the outer depth), none at the start
                rows[-1] = (min(depth, rows[-1][0]), "")
            continue
        rows.append((depth, line))
    while rows and not rows[-1][1]:
        rows.pop()
    return "\n".join(f"{'>' * quote} {line}".rstrip() if quote else line for quote, line in rows)


# --- Plain text -----------------------------------------------------------------------------------------------


def unflow(text: str, *, delsp: bool = False) -> str:
    """RFC 3676 format=flowed: lines ending in a space continue on the next line (of the same quote depth)."""
    out: list[str] = []
    current: str | None = None
    current_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing, and the space after ">"
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        if current is not None and depth == current_depth:
            current += content
        else:
            if current is not None:
                out.append(_quoted_line(current_depth, current))
            current, current_depth = content, depth
        if not flowed:
            out.append(_quoted_line(current_depth, current))
            current = None
    if current is not None:
        out.append(_quoted_line(current_depth, current))
    return "\n".join(out)


def _quoted_line(depth: int, content: str) -> str:
    return f"{'>' * depth} {content}".rstrip() if depth else content


# --- Quoted earlier mail --------------------------------------------------------------------------------------

_REPLY_LANGUAGES = ("nl", "en")
_PROBE_LINE = 300
_PROBE_TEXT = 200_000
# Attribution lines mailparser_reply 1.36 does not know: Gmail's Dutch "Op … schreef Naam <adres>:" (it only has
# "Op … schreef:"; Gmail wraps it over two or three lines), Apple Mail's Dutch "Op … heeft … het volgende
# geschreven:", Outlook's Dutch separator. Each one capture group: the library flattens all groups into headers.
_EXTRA_REPLY_HEADERS = "|".join(f"({pattern})" for pattern in (
    r"^(?:> ?)*Op\s[^\n]*?(?:\n[^\n]*?)?\sschreef\s[^\n]*?(?:\n[^\n]*?)?:$",
    r"^(?:> ?)*Op\s[^\n]*?(?:\n[^\n]*?)?\sheeft\s[^\n]*?het volgende geschreven\s?:$",
    r"^-{3,} ?Oorspronkelijk bericht ?-{3,}$",
))


class _ReplyText(ReplyText):
    """mailparser_reply's message, with the attribution lines above added to its header patterns."""

    @property
    def HEADER_REGEX(self) -> re.Pattern[str]:  # noqa: N802 (the library's name)
        if self._header_regex is None:
            library: re.Pattern[str] = ReplyText.HEADER_REGEX.fget(self)  # type: ignore[attr-defined]
            self._header_regex = re.compile(f"{library.pattern}|{_EXTRA_REPLY_HEADERS}", library.flags)
        return self._header_regex


def split_reply(text: str) -> tuple[str, str]:
    """(new part, quoted earlier mail). When nothing is found, or the new part would be empty: (text, "")."""
    text = text.strip()
    lines = text.split("\n")
    start = _header_start(text, lines)
    if start is None:
        start = _trailing_quote_start(lines)
    if start is None:
        return text, ""
    start = _with_separator(lines, start)
    new, quoted = "\n".join(lines[:start]).strip(), "\n".join(lines[start:]).strip()
    return (new, quoted) if new else (text, "")


def _header_start(text: str, lines: list[str]) -> int | None:
    """The line where mailparser_reply found the first earlier mail's header ("Van: … Verzonden: …", "On … wrote:")."""
    # The library's patterns backtrack badly on long lines (an 8 KB line starting with "Op " takes seconds), and
    # header lines are short: it sees only the start of each line, and only the head of a very long mail.
    probe = "\n".join(line[:_PROBE_LINE] for line in text[:_PROBE_TEXT].split("\n"))
    try:
        replies = _ReplyText(text=probe, languages=list(_REPLY_LANGUAGES)).read().replies
    except Exception:
        return None
    if len(replies) < 2 or replies[0].headers:
        return None  # no header, or the text starts with one (no new part)
    # The library strips every line; find the header's first line in the original text to keep its layout.
    header = replies[1].headers or replies[1].content
    anchor = next((line.strip() for line in header.split("\n") if line.strip()), "")
    return next((index for index, line in enumerate(lines) if anchor and line[:_PROBE_LINE].strip() == anchor), None)


def _trailing_quote_start(lines: list[str]) -> int | None:
    """The start of a block of "> " lines that ends the mail, with its attribution line ("Le … a écrit :")."""
    index = len(lines)
    start = None
    while index > 0 and (not lines[index - 1].strip() or lines[index - 1].lstrip().startswith(">")):
        index -= 1
        if lines[index].lstrip().startswith(">"):
            start = index
    if start is None:
        return None
    above = start
    while above > 0 and not lines[above - 1].strip():
        above -= 1
    attribution = lines[above - 1].strip() if above > 0 else ""
    if attribution.endswith(":") and re.search(r"\d|@", attribution) and len(attribution) < 200:
        return above - 1
    return start


def _with_separator(lines: list[str], start: int) -> int:
    """Include Outlook's "________________" line above the header in the quoted part."""
    above = start
    while above > 0 and not lines[above - 1].strip():
        above -= 1
    return above - 1 if above > 0 and re.fullmatch(r"\s*[_\-=]{10,}\s*", lines[above - 1]) else start


# --- Parts ----------------------------------------------------------------------------------------------------


@dataclass
class _Content:
    text: str = ""  # the message's own text (its body, plus loose text parts)
    html: str = ""  # sanitised
    forwarded: list[str] = field(default_factory=list)  # readable blocks of attached (forwarded) messages


@dataclass
class _Level:
    """What walking one message (the mail, or a forwarded one inside it) gathers besides attachments."""

    depth: int
    body_ids: frozenset[int]
    cids: frozenset[str]
    fragments: list[str] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)
    tnef_text: str = ""
    tnef_html: str = ""


class _Collector:
    """Walks the MIME tree; keeps attachments within the limits and names the ones it drops."""

    def __init__(self, max_bytes: int, max_count: int) -> None:
        self.max_bytes = max_bytes
        self.max_count = max_count
        self.attachments: list[MailAttachment] = []
        self.dropped: list[str] = []

    def keep(self, filename: str, content_type: str, content: bytes, content_id: str = "", inline: bool = False) -> None:
        if len(content) > self.max_bytes or len(self.attachments) >= self.max_count:
            self.dropped.append(filename)
            return
        self.attachments.append(MailAttachment(_clean(filename), content_type, content, _clean(content_id), inline))

    def default_name(self, content_type: str) -> str:
        number = len(self.attachments) + len(self.dropped) + 1
        extension = mimetypes.guess_extension(content_type) or (".txt" if content_type.startswith("text/") else ".bin")
        return f"{'image' if content_type.startswith('image/') else 'attachment'}-{number}{extension}"

    def read(self, msg: Message, depth: int) -> _Content:
        plain_part = _body_part(msg, "plain")
        html_part = _body_part(msg, "html")
        raw_html = _part_text(html_part) if html_part is not None else ""
        cids = frozenset(unquote(cid).strip("<>").lower() for cid in re.findall(r"cid:([^\"'\s>)]+)", raw_html, re.I))
        level = _Level(depth, frozenset(id(part) for part in (plain_part, html_part) if part is not None), cids)
        self.walk(msg, level)
        html = sanitize_html(raw_html).strip() if raw_html else ""
        main = _part_text(plain_part) if plain_part is not None else html_to_text(html)
        if not main.strip() and (level.tnef_text or level.tnef_html):
            # winmail.dat's body counts only when the mail itself has none.
            tnef_html = sanitize_html(level.tnef_html) if level.tnef_html else ""
            html = html or tnef_html
            main = level.tnef_text or html_to_text(tnef_html)
        text = "\n\n".join(chunk.strip() for chunk in (main, *level.fragments) if chunk.strip())
        return _Content(text=text, html=html, forwarded=level.forwarded)

    def walk(self, part: Message, level: _Level, *, alternative: bool = False, related: bool = False,
             report: bool = False) -> None:
        if id(part) in level.body_ids:
            return
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/global"):
            self.message(part, level, report=report)
            return
        if content_type == "message/delivery-status":
            self.keep("delivery-status.txt", content_type, _part_bytes(part))
            return
        if part.get_content_maintype() == "multipart":
            if not part.is_multipart():  # boundary missing or wrong: what is there is text
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes) and payload.strip():
                    level.fragments.append(decode_text(payload, None))
                return
            subtype = part.get_content_subtype()
            for child in part.iter_parts():
                self.walk(child, level, alternative=alternative or subtype == "alternative",
                          related=related or subtype == "related", report=report or subtype == "report")
            return
        filename = _filename(part)
        disposition = _safe(part.get_content_disposition, None)
        if content_type in ("application/ms-tnef", "application/vnd.ms-tnef") or filename.lower() == "winmail.dat":
            self.tnef(part, level, filename or "winmail.dat")
            return
        if content_type in ("text/plain", "text/html") and not filename and disposition != "attachment":
            # Loose text (Apple Mail's text after an attachment, list footers); other alternatives are renderings.
            if content_type == "text/plain" and not alternative:
                level.fragments.append(_part_text(part))
            return
        content_id = _content_id(part)
        inline = bool(content_id) and (
            content_id.lower() in level.cids or disposition == "inline" or (disposition is None and related)
        )
        self.keep(filename or self.default_name(content_type), content_type, _part_bytes(part), content_id, inline)

    def message(self, part: Message, level: _Level, *, report: bool) -> None:
        """An attached mail: kept as <subject>.eml; a forward's text shown and its attachments kept too."""
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload and isinstance(payload[0], Message) else None
        if inner is None:
            self.keep(_filename(part) or "forwarded.eml", "message/rfc822", _part_bytes(part))
            return
        subject = " ".join(_header(inner, "Subject").split())
        self.keep(_filename(part) or f"{_subject_filename(subject)}.eml", "message/rfc822", _message_bytes(inner))
        if report or level.depth >= _MAX_FORWARD_DEPTH:
            return  # a bounce's returned copy is evidence, not a forward; very deep nesting is only kept
        content = self.read(inner, level.depth + 1)
        lines = [FORWARD_HEADER]
        for name in ("From", "Date", "Subject", "To"):
            value = " ".join(_header(inner, name).split())
            if value:
                lines.append(f"{name}: {value}")
        body = "\n\n".join(chunk for chunk in (content.text, *content.forwarded) if chunk.strip())
        level.forwarded.append("\n".join(lines) + "\n\n" + body)

    def tnef(self, part: Message, level: _Level, filename: str) -> None:
        """winmail.dat: its files become attachments, its body is kept for when the mail has none."""
        data = _part_bytes(part)
        try:
            tnef = TNEF(data, do_checksum=False)
            files = [_tnef_file(attachment) for attachment in tnef.attachments]
            text = _tnef_text(tnef.body, tnef.codepage)
            html = _tnef_text(tnef.htmlbody, tnef.codepage)
        except Exception:
            self.keep(filename, "application/ms-tnef", data)
            return
        if not files and not text and not html:
            self.keep(filename, "application/ms-tnef", data)  # nothing we can read in it (e.g. RTF only)
            return
        for name, content_type, content, content_id in files:
            self.keep(name or self.default_name(content_type), content_type, content, content_id,
                      bool(content_id) and content_id.lower() in level.cids)
        level.tnef_text = level.tnef_text or text
        level.tnef_html = level.tnef_html or html


def _body_part(msg: Message, kind: str) -> Message | None:
    try:
        return msg.get_body(preferencelist=(kind,)) if isinstance(msg, EmailMessage) else None
    except Exception:
        return None


def _part_bytes(part: Message) -> bytes:
    try:
        if part.is_multipart():
            return part.as_bytes()
        data = part.get_payload(decode=True)
    except Exception:
        return b""
    return data if isinstance(data, bytes) else b""


def _message_bytes(msg: Message) -> bytes:
    try:
        return msg.as_bytes()
    except Exception:
        return str(msg).encode("utf-8", "surrogateescape")


def _part_text(part: Message) -> str:
    payload = _safe(lambda: part.get_payload(decode=True), None)
    if not isinstance(payload, bytes):
        return ""
    text = decode_text(payload, _safe(part.get_content_charset, None))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if part.get_content_type() == "text/plain" and _param(part, "format").lower() == "flowed":
        text = unflow(text, delsp=_param(part, "delsp").lower() == "yes")
    return text


def _param(part: Message, name: str) -> str:
    header = _safe(lambda: part.get("Content-Type"), None)
    params = getattr(header, "params", None) or {}
    return str(params.get(name, ""))


def _content_id(part: Message) -> str:
    values = raw_headers(part, "Content-ID")
    return values[0].strip().strip("<>").strip() if values else ""


_RAW_NAME = re.compile(r"""(?:^|;)\s*(?:file)?name\s*=\s*("(?:[^"\\]|\\.)*"|[^;]+)""", re.IGNORECASE)


def _filename(part: Message) -> str:
    """RFC 2231 / RFC 2047 / `name=` only; raw 8-bit names (sent by old clients) read as UTF-8, else Windows-1252."""
    name = _safe(part.get_filename, None) or ""
    if not name or "\ufffd" in name:
        name = _raw_filename(part) or name
    return _safe_filename(name)


def _raw_filename(part: Message) -> str:
    for header in ("Content-Disposition", "Content-Type"):
        for value in raw_headers(part, header):
            found = _RAW_NAME.search(value)
            if found and any(ord(ch) > 127 for ch in found.group(1)):
                return _decode_words(_recover_8bit(found.group(1).strip().strip('"')))
    return ""


def _safe_filename(name: str) -> str:
    """The last path component, without control characters: names are the sender's to choose, paths are not."""
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return "" if name in (".", "..") else name[:255]


def _subject_filename(subject: str) -> str:
    name = re.sub(r'[<>:"/\\|?*\x00-\x1f]+', "_", subject).strip(" ._")
    return name[:150] or "forwarded"


def _tnef_file(attachment: object) -> tuple[str, str, bytes, str]:
    """(name, type, content, content id) of one file inside winmail.dat."""
    name = _safe(attachment.long_filename, "") or _safe(lambda: attachment.name, "")  # type: ignore[attr-defined]
    attributes = getattr(attachment, "mapi_attrs", [])

    def attribute(code: int) -> str:
        value = next((_safe(lambda: a.data, "") for a in attributes if a.name == code), "")
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")

    content_type = attribute(mapi.MAPI_ATTACH_MIME_TAG).strip().lower()
    if not re.fullmatch(r"[\w.+-]+/[\w.+-]+", content_type):
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    data = getattr(attachment, "data", b"")
    return (_safe_filename(str(name).strip("\x00")), content_type, data if isinstance(data, bytes) else b"",
            attribute(mapi.MAPI_ATTACH_CONTENT_ID).strip().strip("<>"))


def _tnef_text(value: object, codepage: str | None) -> str:
    if isinstance(value, bytes):
        return decode_text(value.rstrip(b"\x00"), codepage).replace("\r\n", "\n").strip()
    return value.replace("\r\n", "\n").strip("\x00").strip() if isinstance(value, str) else ""


def _last_resort_text(raw: bytes) -> str:
    """When even walking the mail failed: the bytes after the header block, as text."""
    body = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[-1]
    return _safe(lambda: decode_text(body, None), "")
