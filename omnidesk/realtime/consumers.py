"""The dashboard websocket: pushes a municipality's events to its logged-in members only."""
from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from omnidesk.outbound.typing import agent_typing
from omnidesk.realtime.presence import mark_gone, mark_present
from omnidesk.realtime.selectors import events_after
from omnidesk.realtime.services import municipality_group, signal
from omnidesk.realtime.viewers import start_viewing, stop_viewing
from omnidesk.tickets.presenters import user_name
from omnidesk.tenants.selectors import membership_for

CLOSE_UNAUTHORISED = 4403


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    """ws/dashboard/<municipality id>/?after=<last event id>

    On connect, replays what the client missed after `after`; then forwards live events. Frames are
    {"id", "type", "data"}; ids increase, and a client that sees a gap asks for a catch-up.
    """

    group: str = ""
    user: Any = None
    viewing: int | None = None  # the ticket this dashboard shows

    async def connect(self) -> None:
        user = self.scope.get("user")
        municipality_id = int(self.scope["url_route"]["kwargs"]["municipality_id"])
        membership = await database_sync_to_async(membership_for)(user, municipality_id) if user else None
        if membership is None:
            await self.close(code=CLOSE_UNAUTHORISED)
            return
        self.municipality_id = municipality_id
        self.user = user
        self.group = municipality_group(municipality_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.channel_layer.group_add(f"user-{user.pk}", self.channel_name)  # this agent's notifications
        await self.accept()
        await database_sync_to_async(mark_present)(municipality_id, user.pk)
        after = self._after_from_query()
        if after is not None:
            await self._send_catch_up(after)

    def _after_from_query(self) -> int | None:
        from urllib.parse import parse_qs

        values = parse_qs(self.scope.get("query_string", b"").decode()).get("after")
        return int(values[0]) if values and values[0].isdigit() else None

    async def _send_catch_up(self, after: int) -> None:
        frames = await database_sync_to_async(events_after)(municipality_id=self.municipality_id, after_id=after)
        await self.send_json({"type": "catch_up", "events": frames})

    async def disconnect(self, code: int) -> None:
        if self.viewing:
            await database_sync_to_async(stop_viewing)(municipality_id=self.municipality_id, ticket_id=self.viewing,
                                                       user_id=self.user.pk)
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_discard(f"user-{self.user.pk}", self.channel_name)
            await database_sync_to_async(mark_gone)(self.municipality_id, self.user.pk)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or not self.group:
            return
        kind = content.get("type")
        if kind == "catch_up":
            after = content.get("after")
            if isinstance(after, int) and after >= 0:
                await self._send_catch_up(after)
        elif kind == "presence":  # the dashboard's heartbeat
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

    async def dashboard_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["frame"])

    async def notification_push(self, message: dict[str, Any]) -> None:
        """A notification for this agent (notifications.services); ephemeral, the bell's list reloads from the
        database. The user group spans municipalities, so each dashboard shows only its own municipality's."""
        if message.get("municipality_id") == self.municipality_id:
            await self.send_json({"id": None, "type": "notification", "data": message["data"]})
