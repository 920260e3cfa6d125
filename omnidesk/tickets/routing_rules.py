"""Where a new ticket goes: its channel account's team, then the municipality's routing rules.

Rules run in `position` order on the first message. A rule matches when its channel (if any) is the ticket's account
and any of its keywords occurs as whole words in the message's subject or text (no keywords: every message). The
first matching rule with a team decides the team, every matching rule's tag is added, and the highest priority
among the matching rules is set. Changes made by rules are recorded as system events, like an agent's triage.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from django.db.models import QuerySet

from omnidesk.tenants.models import Municipality, Team
from omnidesk.tickets.models import Message, Priority, RoutingRule, Tag, Ticket

MAX_KEYWORDS = 100
MAX_KEYWORD_LENGTH = 100
PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


# --- reads ---------------------------------------------------------------------------------------------------------
def rules_of(municipality: Municipality) -> QuerySet[RoutingRule]:
    return (RoutingRule.objects.filter(municipality=municipality)
            .select_related("channel_account", "team", "tag").order_by("position", "id"))


def rule_in(municipality: Municipality, rule_id: int) -> RoutingRule | None:
    return rules_of(municipality).filter(pk=rule_id).first()


# --- matching ------------------------------------------------------------------------------------------------------
def fold(text: str) -> str:
    """Lower-case without accents, so "Paspoort", "paspoort" and "páspoort" are the same word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def keyword_lines(keywords: str) -> list[str]:
    """The rule's keywords: one per line, blanks and repeats dropped, spaces within a phrase collapsed."""
    lines: list[str] = []
    for line in keywords.splitlines():
        line = " ".join(line.split())[:MAX_KEYWORD_LENGTH]
        if line and fold(line) not in {fold(existing) for existing in lines}:
            lines.append(line)
    return lines[:MAX_KEYWORDS]


def keyword_pattern(keywords: str) -> re.Pattern[str] | None:
    """One pattern for all of a rule's keywords as whole words (None: no keywords, the rule matches everything).

    A word boundary is any character that is not a letter or digit, so "paspoort" matches "mijn paspoort kwijt"
    and "paspoort." but not "paspoortfoto"; the words of a phrase may be separated by any white space.
    """
    phrases = [r"\s+".join(re.escape(word) for word in fold(line).split()) for line in keyword_lines(keywords)]
    if not phrases:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(phrases) + r")(?!\w)")


@dataclass
class Routing:
    """What the matching rules decided for one ticket."""

    team: Team | None = None
    team_rule: str = ""
    tags: list[Tag] = field(default_factory=list)
    priority: str = ""


def decide(rules: list[RoutingRule], *, account_id: int, text: str) -> Routing:
    """Apply `rules` (already in order, active ones only) to a message's text; pure, no database."""
    haystack = fold(text)
    routing = Routing()
    for rule in rules:
        if rule.channel_account_id is not None and rule.channel_account_id != account_id:
            continue
        pattern = keyword_pattern(rule.keywords)
        if pattern is not None and not pattern.search(haystack):
            continue
        if rule.team_id is not None and routing.team is None:
            routing.team, routing.team_rule = rule.team, rule.name
        if rule.tag_id is not None and all(tag.pk != rule.tag_id for tag in routing.tags):
            routing.tags.append(rule.tag)  # type: ignore[arg-type]
        if rule.priority and (not routing.priority or PRIORITY_RANK[Priority(rule.priority)]
                              > PRIORITY_RANK[Priority(routing.priority)]):
            routing.priority = rule.priority
    return routing


# --- the write, called by tickets.services.message_receive for every new ticket ---------------------------------
def active_rules(municipality_id: int) -> list[RoutingRule]:
    """The municipality's active rules in order, for `route_new_ticket` (decide skips other channels' rules)."""
    return list(RoutingRule.objects.filter(municipality_id=municipality_id, active=True)
                .select_related("team", "tag").order_by("position", "id"))


def route_new_ticket(*, ticket: Ticket, message: Message, rules: list[RoutingRule] | None = None) -> None:
    """Set the new ticket's team, tags and priority before anyone is notified or assigned. `rules`: the
    municipality's `active_rules`, when a batch of new tickets reads them once."""
    from omnidesk.tickets.services import _system_event

    if rules is None:
        rules = active_rules(ticket.municipality_id)
    routing = decide(rules, account_id=ticket.channel_account_id, text=f"{message.subject}\n{message.text}")
    changed: list[str] = []
    if routing.team is not None and routing.team.municipality_id == ticket.municipality_id:
        if ticket.team_id != routing.team.pk:
            ticket.team = routing.team
            changed.append("team")
    elif ticket.team_id is None and ticket.channel_account.team_id:
        ticket.team_id = ticket.channel_account.team_id
        changed.append("team")
        routing.team = None  # the account's own team: no event, as before routing rules existed
    if routing.priority and routing.priority != ticket.priority:
        ticket.priority = routing.priority
        changed.append("priority")
    if changed:
        ticket.save(update_fields=[*changed, "updated_at"])
    tags = [tag for tag in routing.tags if tag.municipality_id == ticket.municipality_id]
    if tags:
        ticket.tags.add(*tags)
    if routing.team is not None and "team" in changed:
        _system_event(ticket, None, "team", team=routing.team.name, rule=routing.team_rule)
    if tags:
        _system_event(ticket, None, "tags", tags=", ".join(sorted(t.name for t in ticket.tags.all())))
    if "priority" in changed:
        _system_event(ticket, None, "priority", priority=ticket.priority)
