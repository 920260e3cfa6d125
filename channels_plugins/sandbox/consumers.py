"""The simulator page's websocket: replies for one resident, after checking the resident token."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from omnidesk.plugin_api.host import account_for

from channels_plugins.sandbox.parsing import RESIDENT_ID
from channels_plugins.sandbox.signing import resident_group, token_is_valid

CLOSE_UNAUTHORISED = 4403


class ResidentConsumer(AsyncJsonWebsocketConsumer):
    group = ""

    async def connect(self) -> None:
        public_id = self.scope["url_route"]["kwargs"]["public_id"]
        query = parse_qs(self.scope.get("query_string", b"").decode())
        resident_id = (query.get("resident") or [""])[0]
        token = (query.get("token") or [""])[0]
        account = await database_sync_to_async(account_for)(public_id, "sandbox")
        if (
            account is None
            or not RESIDENT_ID.match(resident_id)
            or not token_is_valid(account.config.get("signing_secret", ""), resident_id, token)
        ):
            await self.close(code=CLOSE_UNAUTHORISED)
            return
        self.group = resident_group(public_id, resident_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def sandbox_reply(self, event: dict[str, Any]) -> None:
        await self.send_json({"id": event["id"], "text": event["text"], "author_name": event["author_name"]})
