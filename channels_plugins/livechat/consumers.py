"""The visitor's websocket: ws/channels/livechat/<public id>/?token=<visitor token>.

Messages are stored under the widget's own client id, so a message resent after a reconnect is stored once and
acknowledged again; `resume` replays what the visitor missed since the last id they saw.
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.cache import cache
from django.utils.translation import gettext as _

from omnidesk.plugin_api import AccountContext, DeliveryStatus, HistoryItem, InboundMessage, StatusUpdate
from omnidesk.plugin_api.host import (
    account_for,
    account_notice,
    conversation_history,
    history_item,
    receive,
    resident_typing,
)

from channels_plugins.livechat.availability import availability
from channels_plugins.livechat.frames import OUTBOUND_PREFIX, inbound_id, message_frame
from channels_plugins.livechat.origins import allowed
from channels_plugins.livechat.ratelimits import SOCKETS_PER_VISITOR, message_allowed
from channels_plugins.livechat.visitors import Visitor, visitor_for, visitor_group

CLOSE_REFUSED = 4403
CLOSE_SWITCHED_OFF = 4410  # the municipality switched this chat off: the panel asks session/, which says where to go
CLOSE_TOO_MANY = 4429
CLIENT_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
MAX_TEXT = 2000
TYPING_EVERY_SECONDS = 2.0


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _client_ip(scope: dict[str, Any]) -> str:
    client = scope.get("client") or ("", 0)
    return str(client[0])


class VisitorConsumer(AsyncJsonWebsocketConsumer):
    account: AccountContext | None = None
    visitor: Visitor | None = None
    group = ""
    last_typing = 0.0

    async def connect(self) -> None:
        public_id = self.scope["url_route"]["kwargs"]["public_id"]
        token = (parse_qs(self.scope.get("query_string", b"").decode()).get("token") or [""])[0]
        account = await database_sync_to_async(account_for)(public_id, "livechat", include_switched_off=True)
        visitor = visitor_for(public_id, token) if account else None
        # The browser sets Origin; a page not on the allow-list cannot open the chat's socket.
        if account is None or visitor is None or not allowed(account, _headers(self.scope).get("origin", "")):
            await self.close(code=CLOSE_REFUSED)
            return
        notice = await database_sync_to_async(account_notice)(public_id, "livechat")
        if notice is None or not notice.enabled:
            await self.close(code=CLOSE_SWITCHED_OFF)
            return
        self.sockets_key = f"omnidesk:livechat:sockets:{public_id}:{visitor.key}"
        cache.add(self.sockets_key, 0, 3600)
        if cache.incr(self.sockets_key) > SOCKETS_PER_VISITOR:
            cache.decr(self.sockets_key)
            await self.close(code=CLOSE_TOO_MANY)
            return
        self.account, self.visitor = account, visitor
        self.group = visitor_group(public_id, visitor.key)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        state = await database_sync_to_async(availability)(account, notice)
        await self.send_json(state.as_frame())

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            cache.decr(self.sockets_key)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not self.group or not isinstance(content, dict):
            return
        try:
            await self._dispatch(content)
        except PermissionError:  # core refuses: the chat was switched off while this socket was open
            await self.close(code=CLOSE_SWITCHED_OFF)

    async def _dispatch(self, content: dict[str, Any]) -> None:
        kind = content.get("type")
        if kind == "message":
            await self._message(content)
        elif kind == "typing":
            now = time.monotonic()
            if not content.get("on") or now - self.last_typing > TYPING_EVERY_SECONDS:
                self.last_typing = now if content.get("on") else 0.0
                await database_sync_to_async(resident_typing)(self.account, self.visitor.identity, bool(content.get("on")))
        elif kind == "read" and isinstance(content.get("up_to"), int):
            await database_sync_to_async(self._read)(content["up_to"])
        elif kind == "resume" and isinstance(content.get("after"), int):
            items = await database_sync_to_async(conversation_history)(self.account, self.visitor.identity,
                                                                        after=max(0, content["after"]))
            for item in items:
                await self.send_json({"type": "message", "message": message_frame(item)})

    async def _message(self, content: dict[str, Any]) -> None:
        client_id, text = content.get("client_id"), content.get("text")
        if not isinstance(client_id, str) or not CLIENT_ID.match(client_id) or not isinstance(text, str):
            await self.send_json({"type": "error", "code": "malformed", "message": _("The message could not be read.")})
            return
        text = text.strip()
        if not text:
            return
        if len(text) > MAX_TEXT:
            await self.send_json({"type": "error", "code": "too_long", "client_id": client_id,
                                  "message": _("A message can have at most %(n)d characters.") % {"n": MAX_TEXT}})
            return
        verdict = await database_sync_to_async(message_allowed)(self.account.public_id, self.visitor.key, _client_ip(self.scope),
                                  int(self.account.config.get("messages_per_minute", 20)))
        if not verdict.allowed:
            await self.send_json({"type": "error", "code": "rate_limited", "client_id": client_id,
                                  "retry_after": verdict.retry_after,
                                  "message": _("You are sending messages very quickly. Please wait %(s)d seconds; "
                                               "your message will be sent then.") % {"s": verdict.retry_after}})
            return
        item = await database_sync_to_async(self._store)(client_id, text)
        if item is None:
            return
        await self.send_json({"type": "ack", "client_id": client_id, "id": int(item.id)})
        # The visitor's other tabs show it too.
        await self.channel_layer.group_send(self.group, {"type": "livechat.frame",
                                                         "frame": {"type": "message", "message": message_frame(item)}})

    def _store(self, client_id: str, text: str) -> HistoryItem | None:
        provider_id = inbound_id(self.visitor.key, client_id)
        receive(self.account, [InboundMessage(provider_message_id=provider_id, sender=self.visitor.identity,
                                              text=text, sent_at=datetime.now(timezone.utc))])
        return history_item(self.account, provider_id)

    def _read(self, up_to: int) -> None:
        now = datetime.now(timezone.utc)
        unread = [item for item in conversation_history(self.account, self.visitor.identity, limit=50)
                  if item.direction == "outbound" and int(item.id) <= up_to and item.status in ("sent", "delivered")]
        if unread:
            receive(self.account, [StatusUpdate(provider_message_id=f"{OUTBOUND_PREFIX}{item.id}",
                                                status=DeliveryStatus.READ, occurred_at=now) for item in unread])

    async def livechat_frame(self, event: dict[str, Any]) -> None:
        frame = event["frame"]
        await self.send_json(frame)
        message = frame.get("message") if frame.get("type") == "message" else None
        if message and message.get("direction") == "outbound" and message.get("status") == "sent":
            # It reached the visitor's screen: delivered.
            try:
                await database_sync_to_async(receive)(self.account, [StatusUpdate(
                    provider_message_id=f"{OUTBOUND_PREFIX}{message['id']}", status=DeliveryStatus.DELIVERED,
                    occurred_at=datetime.now(timezone.utc))])
            except PermissionError:
                await self.close(code=CLOSE_SWITCHED_OFF)
