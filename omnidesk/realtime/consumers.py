"""The dashboard websocket: pushes a municipality's events to its logged-in members only.

Two protocols (docs/realtime.md). Protocol 2 (`?v=2&since=<seq>`, the dashboard's): events numbered per municipality
(`seq`), sent in batches of at most one frame per TICK_SECONDS, a catch-up by number, and a watermark when the stream
moved past what this dashboard was sent (its last push was dropped). Protocol 1 (`?after=<id>`, no `v`): one frame per
event, catch-up by id; kept for pages loaded before an upgrade and for simple clients.

Pushes reach a consumer through the process's hub (hub.py), not as a member of the group itself.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from omnidesk.outbound.typing import agent_typing
from omnidesk.realtime.hub import hub
from omnidesk.realtime.presence import mark_gone, mark_present
from omnidesk.realtime.selectors import events_after, events_since, stream_head
from omnidesk.realtime.services import municipality_group, signal, watermark
from omnidesk.realtime.viewers import start_viewing, stop_viewing
from omnidesk.tickets.presenters import user_name
from omnidesk.tenants.selectors import membership_for

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORISED = 4403
# Coalescing: a dashboard gets at most one batch per tick; what arrives meanwhile waits for the next. The first
# event after a quiet tick goes out at once, so a lone message is not delayed.
TICK_SECONDS = 0.025
# In a burst (events arriving at BUSY_RATE a second or more) the tick is longer: every websocket message costs the
# server a send and the browser a wake-up whatever its size, and at hundreds of events a second a tenth of a second
# more changes nothing a person sees. At ordinary rates batches keep going out every TICK_SECONDS.
BUSY_TICK_SECONDS = 0.1
BUSY_RATE = 250.0
# The rate is measured over this long, not per batch: one drain's commit brings several events at once, which, read
# as a rate over the last short tick, looks like a burst (and kept a tenth of the batches at 100 events a second
# waiting 100 ms).
RATE_WINDOW_SECONDS = 0.5


class Pace:
    """One dashboard's tick: TICK_SECONDS, or BUSY_TICK_SECONDS while its events came at BUSY_RATE a second or more
    over the last RATE_WINDOW_SECONDS."""

    def __init__(self, now: float) -> None:
        self._since = now
        self._frames = 0
        self.busy = False

    def after_batch(self, frames: int, now: float) -> float:
        """How long to wait before the next batch, after one of `frames` frames sent at `now`."""
        self._frames += frames
        elapsed = now - self._since
        if elapsed >= RATE_WINDOW_SECONDS:
            self.busy = self._frames >= BUSY_RATE * elapsed
            self._since, self._frames = now, 0
        return BUSY_TICK_SECONDS if self.busy else TICK_SECONDS


# Every WATERMARK_SECONDS a dashboard compares the stream position read at its previous check with the highest
# number it was sent: a number committed that long ago and still not here was dropped (one read only just now may
# still be on its way, and announcing it would send every dashboard after pushes that are merely late). So a dropped
# last push is noticed within two intervals. The position is read once per HEAD_TTL_SECONDS per process and
# municipality, however many dashboards it serves.
WATERMARK_SECONDS = 1.0
HEAD_TTL_SECONDS = 0.5


class _StreamHeads:
    """Per process: each municipality's stream position, shared by its dashboards for HEAD_TTL_SECONDS."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[asyncio.AbstractEventLoop, float, asyncio.Future[int]]] = {}

    async def get(self, municipality_id: int) -> int:
        loop = asyncio.get_running_loop()
        entry = self._entries.get(municipality_id)
        if entry is None or entry[0] is not loop or loop.time() - entry[1] > HEAD_TTL_SECONDS:
            entry = (loop, loop.time(), asyncio.ensure_future(database_sync_to_async(watermark)(municipality_id)))
            self._entries[municipality_id] = entry
        return await asyncio.shield(entry[2])


_heads = _StreamHeads()


def _legacy(frame: dict[str, Any]) -> dict[str, Any]:
    return {"id": frame["id"], "type": frame["type"], "data": frame["data"]}


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    """ws/dashboard/<municipality id>/?v=2&since=<seq>  (protocol 1: ?after=<event id>)"""

    group: str = ""
    user: Any = None
    viewing: int | None = None  # the ticket this dashboard shows
    protocol: int = 1

    async def connect(self) -> None:
        user = self.scope.get("user")
        municipality_id = int(self.scope["url_route"]["kwargs"]["municipality_id"])
        membership = await database_sync_to_async(membership_for)(user, municipality_id) if user else None
        if membership is None:
            await self.close(code=CLOSE_UNAUTHORISED)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.protocol = 2 if query.get("v") == ["2"] else 1
        self.municipality_id = municipality_id
        self.user = user
        self.group = municipality_group(municipality_id)
        self._outbox: list[tuple[dict[str, Any], str]] = []  # (frame, its JSON), from the hub
        self._wake = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._sent_seq = 0  # protocol 2: the highest number this dashboard was sent, live or in a catch-up
        self._head_seen = 0  # protocol 2: the stream position read at the previous watermark check
        await self.channel_layer.group_add(self._user_group(), self.channel_name)
        await hub.join(self.group, self)
        await self.accept()
        self._flusher = asyncio.ensure_future(self._flush_forever() if self.protocol == 2 else self._forward_forever())
        await database_sync_to_async(mark_present)(municipality_id, user.pk)
        if self.protocol == 2:
            since = _number(query.get("since"))
            if since is None:  # no cursor yet: the dashboard starts from the stream position now
                head = await database_sync_to_async(stream_head)(municipality_id=municipality_id)
                self._sent_seq = head
                await self._send({"type": "catch_up", "events": [], "more": False, "head": head})
            else:
                await self._send_catch_up(since)
        else:
            after = _number(query.get("after"))
            if after is not None:
                await self._send_legacy_catch_up(after)

    def _user_group(self) -> str:
        return f"user-{self.user.pk}"  # this agent's notifications

    async def disconnect(self, code: int) -> None:
        if getattr(self, "_flusher", None):
            self._flusher.cancel()
        if self.viewing:
            await database_sync_to_async(stop_viewing)(municipality_id=self.municipality_id, ticket_id=self.viewing,
                                                       user_id=self.user.pk)
        if self.group:
            hub.leave(self.group, self)
            await self.channel_layer.group_discard(self._user_group(), self.channel_name)
            await database_sync_to_async(mark_gone)(self.municipality_id, self.user.pk)

    # --- catch-up ----------------------------------------------------------------------------------------------
    async def _send_catch_up(self, since: int) -> None:
        result = await database_sync_to_async(events_since)(municipality_id=self.municipality_id, since=since)
        if result.events:
            self._sent_seq = max(self._sent_seq, result.events[-1]["seq"])
        if not result.more:
            self._sent_seq = max(self._sent_seq, result.head)
        await self._send(result.frame())

    async def _send_legacy_catch_up(self, after: int) -> None:
        frames = await database_sync_to_async(events_after)(municipality_id=self.municipality_id, after_id=after)
        await self._send({"type": "catch_up", "events": [_legacy(frame) for frame in frames]})

    # --- live frames ---------------------------------------------------------------------------------------------
    def deliver(self, frames: list[dict[str, Any]], encoded: list[str]) -> None:
        """From the hub: frames pushed to the municipality, with their JSON (encoded once for the process)."""
        self._outbox.extend(zip(frames, encoded))
        self._wake.set()

    async def _send(self, content: dict[str, Any] | str) -> None:
        async with self._send_lock:  # the flusher and the message handlers both send
            if isinstance(content, str):
                await self.send(text_data=content)
            else:
                await self.send_json(content)

    async def _forward_forever(self) -> None:
        """Protocol 1: each frame as it comes."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            frames, self._outbox = self._outbox, []
            for frame, _encoded in frames:
                await self._send(_legacy(frame))

    async def _flush_forever(self) -> None:
        loop = asyncio.get_running_loop()
        next_watermark = loop.time() + WATERMARK_SECONDS
        pace = Pace(loop.time())
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, next_watermark - loop.time()))
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            try:
                if self._outbox:
                    frames, self._outbox = self._outbox, []
                    self._sent_seq = max([self._sent_seq] + [f["seq"] for f, _ in frames if f.get("seq")])
                    await self._send('{"type": "batch", "frames": [' + ", ".join(e for _, e in frames) + "]}")
                    await asyncio.sleep(pace.after_batch(len(frames), loop.time()))
                if loop.time() >= next_watermark:
                    next_watermark = loop.time() + WATERMARK_SECONDS
                    settled, self._head_seen = self._head_seen, await _heads.get(self.municipality_id)
                    if settled > self._sent_seq:  # its last push(es) were dropped: the dashboard asks for them
                        self._sent_seq = settled
                        await self._send({"type": "watermark", "seq": settled})
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup: the next tick tries again
                logger.exception("dashboard flush failed", extra={"municipality_id": self.municipality_id})

    # --- from the browser --------------------------------------------------------------------------------------
    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or not self.group:
            return
        kind = content.get("type")
        if kind == "catch_up":
            since, after = content.get("since"), content.get("after")
            if self.protocol == 2 and isinstance(since, int) and since >= 0:
                await self._send_catch_up(since)
            elif isinstance(after, int) and after >= 0:
                await self._send_legacy_catch_up(after)
        elif kind == "presence":  # the dashboard's heartbeat
            # Again and again: the layer forgets members after its group_expiry, and a restarted Redis at once.
            await self.channel_layer.group_add(self._user_group(), self.channel_name)
            await database_sync_to_async(mark_present)(self.municipality_id, self.user.pk)
        elif kind == "viewing":
            await self._viewing(content.get("ticket_id"))
        elif kind == "typing" and isinstance(content.get("ticket_id"), int):
            # Colleagues see who is writing in this ticket; the resident too, on channels that show typing.
            await database_sync_to_async(signal)(
                municipality_id=self.municipality_id, type="agent.typing",
                payload={"ticket_id": content["ticket_id"], "user_id": self.user.pk, "name": user_name(self.user),
                         "on": bool(content.get("on"))})
            await database_sync_to_async(agent_typing)(municipality_id=self.municipality_id, user=self.user,
                                                       ticket_id=content["ticket_id"], on=bool(content.get("on")))

    async def _viewing(self, ticket_id: Any) -> None:
        """The dashboard shows a ticket (or none): a heartbeat while it stays open."""
        if self.viewing and self.viewing != ticket_id:
            await database_sync_to_async(stop_viewing)(municipality_id=self.municipality_id, ticket_id=self.viewing,
                                                       user_id=self.user.pk)
            self.viewing = None
        if isinstance(ticket_id, int) and await database_sync_to_async(start_viewing)(
                municipality_id=self.municipality_id, ticket_id=ticket_id, user_id=self.user.pk,
                name=user_name(self.user)):
            self.viewing = ticket_id

    # --- from the channel layer --------------------------------------------------------------------------------
    async def notification_push(self, message: dict[str, Any]) -> None:
        """A notification for this agent (notifications.services); ephemeral, the bell's list reloads from the
        database. The user group spans municipalities, so each dashboard shows only its own municipality's."""
        if message.get("municipality_id") != self.municipality_id:
            return
        frame = {"id": None, "type": "notification", "data": message["data"]}
        self.deliver([frame], [json.dumps(frame)])


def _number(values: list[str] | None) -> int | None:
    return int(values[0]) if values and values[0].isdigit() else None
