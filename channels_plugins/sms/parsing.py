"""Pure pieces every SMS provider shares: keywords, addresses, URLs, timestamps. No database, no network."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlsplit

from omnidesk.plugin_api import ConsentChange, IdentityKind, IdentityRef, InboundEvent, InboundMessage

# Whole message, case-insensitive, surrounding whitespace (and a trailing "." or "!") ignored.
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})


def keyword_of(text: str) -> str:
    """The opt-out or opt-in keyword this whole message is, upper-cased; "" when it is not one."""
    candidate = text.strip().rstrip(".!").strip().upper()
    return candidate if candidate in OPT_OUT_KEYWORDS or candidate in OPT_IN_KEYWORDS else ""


def consent_for(sender: IdentityRef, text: str, at: datetime, *, provider_keyword: str = "") -> ConsentChange | None:
    """The consent change a message expresses, if any.

    `provider_keyword` is the provider's own verdict (Twilio's OptOutType), which also covers keywords an
    account configured at the provider: "STOP" or "START"; anything else (e.g. "HELP") changes nothing.
    """
    keyword = keyword_of(text)
    if provider_keyword.upper() in ("STOP", "START"):
        return ConsentChange(sender=sender, opted_out=provider_keyword.upper() == "STOP",
                             keyword=keyword or text.strip().upper()[:32], occurred_at=at)
    if not keyword:
        return None
    return ConsentChange(sender=sender, opted_out=keyword in OPT_OUT_KEYWORDS, keyword=keyword, occurred_at=at)


def message_events(message: InboundMessage, *, provider_keyword: str = "") -> list[InboundEvent]:
    """The message itself, then the consent change it expresses, so agents also see the resident's words."""
    consent = consent_for(message.sender, message.text, message.sent_at, provider_keyword=provider_keyword)
    return [message, consent] if consent else [message]


def phone(value: str) -> IdentityRef:
    """A resident's number as the provider gave it; core normalises it to E.164 (NL default)."""
    return IdentityRef(IdentityKind.PHONE, value.strip())


def signed_url(received_url: str, public_base_url: str = "") -> str:
    """The URL the provider signed: `public_base_url` + path and query when set, else the URL Omnidesk received."""
    if not public_base_url:
        return received_url
    parts = urlsplit(received_url)
    return public_base_url.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")


def callback_url(webhook_url: str, public_base_url: str = "") -> str:
    """The address to give the provider for status callbacks (the account's webhook, as seen from outside)."""
    return signed_url(webhook_url, public_base_url)


def url_variants(url: str) -> list[str]:
    """The URL as given, plus the same with its default port added or removed (providers differ in this)."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    variants = [url]
    if default is None or parts.hostname is None:
        return variants
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    if parts.port is None:
        variants.append(parts._replace(netloc=f"{prefix}{host}:{default}").geturl())
    elif parts.port == default:
        variants.append(parts._replace(netloc=f"{prefix}{host}").geturl())
    return variants


def iso_datetime(value: str) -> datetime:
    """An ISO 8601 timestamp ("2026-11-28T13:05:00.123Z" too) as an aware datetime; naive ones are UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def placeholder(provider: str, kind: str) -> str:
    return f"[{provider} message of type {kind}: not supported yet]"
