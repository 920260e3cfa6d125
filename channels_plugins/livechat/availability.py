"""Online or away: inside core's business hours for the account and with at least one colleague's dashboard open."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from omnidesk.plugin_api import AccountContext, AccountNotice
from omnidesk.plugin_api.host import account_notice, agents_online


@dataclass(frozen=True)
class Availability:
    online: bool
    away_text: str
    next_opening: datetime | None = None  # when away because closed: when the team is there again
    crisis: dict[str, str] = field(default_factory=dict)  # {"nl", "en"} while the municipality's crisis mode is on

    def as_frame(self) -> dict[str, object]:
        return {"type": "state", "online": self.online, "away_text": "" if self.online else self.away_text,
                "next_opening": self.next_opening.isoformat() if self.next_opening and not self.online else None,
                "crisis": self.crisis}


def availability(account: AccountContext, notice: AccountNotice | None = None) -> Availability:
    """`notice`: the account's notice when the caller has it already (it costs a few queries)."""
    notice = notice or account_notice(account.public_id, "livechat")
    open_now = notice is not None and notice.open_now
    return Availability(online=open_now and agents_online(account) > 0, away_text=account.config.get("away_text", ""),
                        next_opening=notice.next_opening if notice else None, crisis=notice.crisis if notice else {})
