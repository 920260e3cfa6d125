"""Per server process and municipality, one member of the municipality's group receives its pushes and hands them
to the process's dashboards directly.

A push then costs the channel layer one delivery per process, not one per dashboard (with 50 dashboards open a
consumer per dashboard made 50 layer deliveries of every push, near the ~7,000/s a process manages), and each frame is
encoded to JSON once per process instead of once per dashboard.
"""
from __future__ import annotations

import asyncio
import json
import logging
import weakref
from typing import Any, Protocol

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

# The layer forgets group members after its group_expiry, and a restarted Redis forgets them at once: the member
# joins again this often (and after every error), while dashboards bridge the gap with their watermark.
REJOIN_SECONDS = 30.0


class Listener(Protocol):
    def deliver(self, frames: list[dict[str, Any]], encoded: list[str]) -> None: ...


class _Subscription:
    def __init__(self, group: str) -> None:
        self.group = group
        self.listeners: set[Listener] = set()
        self.channel = ""
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        layer = get_channel_layer()
        self.channel = await layer.new_channel()
        await layer.group_add(self.group, self.channel)
        self.ready.set()
        rejoin = asyncio.ensure_future(self._rejoin_forever())
        try:
            while True:
                try:
                    message = await layer.receive(self.channel)
                except asyncio.CancelledError:
                    raise
                except Exception:  # Redis restarted or unreachable: the dashboards' watermarks carry on meanwhile
                    logger.exception("realtime hub receive failed", extra={"group": self.group})
                    await asyncio.sleep(1)
                    await self._join(layer)
                    continue
                frames = message.get("frames") or ([message["frame"]] if "frame" in message else [])
                encoded = [json.dumps(frame) for frame in frames]
                for listener in list(self.listeners):
                    listener.deliver(frames, encoded)
        finally:
            rejoin.cancel()
            try:
                await layer.group_discard(self.group, self.channel)
            except Exception:  # the member expires by itself
                logger.warning("realtime hub could not leave %s", self.group)

    async def _join(self, layer: Any) -> None:
        try:
            await layer.group_add(self.group, self.channel)
        except Exception:
            logger.exception("realtime hub could not join", extra={"group": self.group})

    async def _rejoin_forever(self) -> None:
        layer = get_channel_layer()
        while True:
            await asyncio.sleep(REJOIN_SECONDS)
            await self._join(layer)


class Hub:
    """The process's subscriptions, per event loop (one in a server; tests run several one after another)."""

    def __init__(self) -> None:
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Subscription]] = (
            weakref.WeakKeyDictionary())

    async def join(self, group: str, listener: Listener) -> None:
        subscriptions = self._loops.setdefault(asyncio.get_running_loop(), {})
        subscription = subscriptions.get(group)
        if subscription is None or (subscription.task is not None and subscription.task.done()):
            subscription = subscriptions[group] = _Subscription(group)
            subscription.task = asyncio.ensure_future(subscription.run())
        subscription.listeners.add(listener)
        ready = asyncio.ensure_future(subscription.ready.wait())
        await asyncio.wait([ready, subscription.task], return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            subscription.task.result()  # raises why the subscription failed

    def leave(self, group: str, listener: Listener) -> None:
        subscriptions = self._loops.get(asyncio.get_running_loop(), {})
        subscription = subscriptions.get(group)
        if subscription is None:
            return
        subscription.listeners.discard(listener)
        if not subscription.listeners:
            del subscriptions[group]
            if subscription.task is not None:
                subscription.task.cancel()


hub = Hub()
