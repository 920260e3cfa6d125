"""Reading the IMAP folder: which mail is new since the cursor, fetched without touching its \\Seen flag.

The cursor is (UIDVALIDITY, last UID, date). UIDs only mean something within one UIDVALIDITY: when it changes
(the folder was recreated or restored) the folder is read again from the cursor's date, and core drops what it
has already (by Message-ID, or a content hash for mail without one).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Mapping

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from omnidesk.plugin_api import AccountProblem

from channels_plugins.email.connection import network_error

BATCH_SIZE = 25  # per poll; core polls again at once while more is waiting
BATCH_BYTES = 64 * 1024 * 1024  # and never more than this much mail in memory at once


@dataclass(frozen=True)
class Cursor:
    uidvalidity: int
    last_uid: int
    since: str  # ISO date of the last poll: where a rescan starts after a UIDVALIDITY change

    @classmethod
    def load(cls, raw: str) -> Cursor | None:
        try:
            data = json.loads(raw)
            return cls(int(data["uidvalidity"]), int(data["last_uid"]), str(data["since"]))
        except (ValueError, KeyError, TypeError):
            return None  # empty (first poll) or unreadable: start as a new account

    def dump(self) -> str:
        return json.dumps({"uidvalidity": self.uidvalidity, "last_uid": self.last_uid, "since": self.since})


@dataclass(frozen=True)
class FetchedMail:
    uid: int
    raw: bytes  # the whole mail, or only its header when it is larger than the limit
    size: int
    complete: bool


@dataclass(frozen=True)
class Batch:
    mails: tuple[FetchedMail, ...]
    cursor: Cursor
    more: bool


def select(client: IMAPClient, mailbox: str) -> tuple[int, int]:
    """Open the folder read-only (EXAMINE: nothing we do can change flags); (UIDVALIDITY, UIDNEXT)."""
    try:
        info = client.select_folder(mailbox, readonly=True)
    except (IMAPClientAbortError, OSError) as exc:
        raise network_error(exc, "the IMAP server") from None
    except IMAPClientError:  # the server said NO
        raise AccountProblem(f"The folder {mailbox!r} does not exist in this mailbox.", code="imap_folder") from None
    return int(info[b"UIDVALIDITY"]), int(info.get(b"UIDNEXT", 0) or 0)


def _new_uids(client: IMAPClient, cursor: Cursor | None, uidvalidity: int, initial_days: int, today: date) -> list[int]:
    if cursor is not None and cursor.uidvalidity == uidvalidity:
        # n:* always includes the newest message, even when its UID is below n.
        return sorted(uid for uid in client.search(["UID", f"{cursor.last_uid + 1}:*"]) if uid > cursor.last_uid)
    if cursor is not None:
        since = date.fromisoformat(cursor.since) - timedelta(days=1)  # the folder changed identity: read it again
    elif initial_days == 0:
        return []
    else:
        since = today - timedelta(days=initial_days)
    return sorted(client.search(["SINCE", since]))


def fetch_new(client: IMAPClient, config: Mapping[str, Any], raw_cursor: str, today: date) -> Batch:
    uidvalidity, uidnext = select(client, config["mailbox"])
    cursor = Cursor.load(raw_cursor)
    uids = _new_uids(client, cursor, uidvalidity, int(config.get("initial_import_days", 3)), today)
    last_uid = cursor.last_uid if cursor and cursor.uidvalidity == uidvalidity else 0
    if cursor is None and not uids:
        last_uid = max(uidnext - 1, 0)  # a new account that imports nothing starts at the current end
    batch, more = uids[:BATCH_SIZE], len(uids) > BATCH_SIZE
    limit = int(config.get("max_message_mb", 30)) * 1024 * 1024
    mails: list[FetchedMail] = []
    if batch:
        sizes = {uid: int(data[b"RFC822.SIZE"]) for uid, data in client.fetch(batch, ["RFC822.SIZE"]).items()}
        taken, total = [], 0
        for uid in batch:
            if taken and total + min(sizes.get(uid, 0), limit) > BATCH_BYTES:
                more = True
                break
            taken.append(uid)
            total += min(sizes.get(uid, 0), limit)
        small = [uid for uid in taken if sizes.get(uid, 0) <= limit]
        large = [uid for uid in taken if uid in sizes and sizes[uid] > limit]
        bodies = client.fetch(small, ["BODY.PEEK[]"]) if small else {}
        headers = client.fetch(large, ["BODY.PEEK[HEADER]"]) if large else {}
        for uid in taken:
            if uid in bodies:
                mails.append(FetchedMail(uid, bytes(bodies[uid][b"BODY[]"]), sizes[uid], complete=True))
            elif uid in headers:
                mails.append(FetchedMail(uid, bytes(headers[uid][b"BODY[HEADER]"]), sizes[uid], complete=False))
            # else: expunged between SEARCH and FETCH; nothing to take
        batch = taken
        last_uid = max(last_uid, batch[-1])
    return Batch(tuple(mails), Cursor(uidvalidity, last_uid, today.isoformat()), more)


def has_news(client: IMAPClient, config: Mapping[str, Any], raw_cursor: str, timeout: float) -> bool:
    """True at once when mail past the cursor is there already; otherwise IDLE until some arrives or time is up."""
    uidvalidity, uidnext = select(client, config["mailbox"])
    cursor = Cursor.load(raw_cursor)
    if cursor is None or cursor.uidvalidity != uidvalidity or uidnext - 1 > cursor.last_uid:
        return True
    if b"IDLE" not in client.capabilities():
        return False  # the interval poll does the work
    client.idle()
    try:
        responses = client.idle_check(timeout=timeout)
    finally:
        client.idle_done()
    return any(len(item) > 1 and item[1] in (b"EXISTS", b"RECENT") for item in responses)
