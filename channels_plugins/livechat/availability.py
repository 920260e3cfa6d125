"""Online or away: inside opening hours and with at least one colleague's dashboard open."""
from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from omnidesk.plugin_api import AccountContext
from omnidesk.plugin_api.host import agents_online

from channels_plugins.livechat.hours import is_open, parse_hours


@dataclass(frozen=True)
class Availability:
    online: bool
    away_text: str

    def as_frame(self) -> dict[str, object]:
        return {"type": "state", "online": self.online, "away_text": "" if self.online else self.away_text}


def availability(account: AccountContext) -> Availability:
    open_now = is_open(parse_hours(account.config.get("business_hours", "")), timezone.localtime())
    return Availability(online=open_now and agents_online(account) > 0, away_text=account.config.get("away_text", ""))
