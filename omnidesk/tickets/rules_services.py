"""Writes: a municipality's routing rules (create, change, delete, reorder), each recorded in the audit log."""
from __future__ import annotations

from typing import Any, Literal

from django.db import transaction
from django.db.models import Max

from omnidesk.audit.services import audit_record, diff
from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.tenants.models import Municipality, Team
from omnidesk.tickets.models import Priority, RoutingRule, Tag
from omnidesk.tickets.routing_rules import keyword_lines
from omnidesk.tickets.triage import _clean_tag_names

FIELDS = ("name", "active", "keywords", "channel_account", "team", "tag", "priority")


def tag_for_name(*, municipality: Municipality, name: str) -> Tag | None:
    """The municipality's tag of this name, created when new (names cleaned as in the dashboard); None for blank."""
    cleaned = _clean_tag_names([name])
    if not cleaned:
        return None
    return Tag.objects.get_or_create(municipality=municipality, name=cleaned[0])[0]


def _snapshot(rule: RoutingRule) -> dict[str, Any]:
    """The rule as the audit log shows it: names, not ids."""
    return {
        "name": rule.name,
        "active": rule.active,
        "keywords": rule.keywords,
        "channel_account": rule.channel_account.name if rule.channel_account else "",
        "team": rule.team.name if rule.team else "",
        "tag": rule.tag.name if rule.tag else "",
        "priority": rule.priority,
    }


def _check(rule: RoutingRule) -> None:
    """Every related object must be the rule's own municipality's (forms already limit the choices)."""
    for related in (rule.channel_account, rule.team, rule.tag):
        if related is not None and related.municipality_id != rule.municipality_id:
            raise ValueError(f"{type(related).__name__} of another municipality")
    if rule.priority and rule.priority not in Priority.values:
        raise ValueError(f"unknown priority {rule.priority!r}")
    rule.keywords = "\n".join(keyword_lines(rule.keywords))


@transaction.atomic
def rule_create(
    *, municipality: Municipality, actor: Any, name: str, keywords: str = "", active: bool = True,
    channel_account: ChannelAccount | None = None, team: Team | None = None, tag: Tag | None = None,
    priority: str = "",
) -> RoutingRule:
    """A new rule, placed last."""
    last = RoutingRule.objects.filter(municipality=municipality).aggregate(last=Max("position"))["last"]
    rule = RoutingRule(municipality=municipality, name=name.strip(), keywords=keywords, active=active,
                       channel_account=channel_account, team=team, tag=tag, priority=priority,
                       position=0 if last is None else last + 1)
    _check(rule)
    rule.full_clean()
    rule.save()
    audit_record(municipality=municipality, actor=actor, action="rule.created", target=rule,
                 changes=diff({}, _snapshot(rule)))
    return rule


@transaction.atomic
def rule_update(*, rule: RoutingRule, actor: Any, **fields: Any) -> RoutingRule:
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"rule_update() cannot change {', '.join(sorted(unknown))}")
    before = _snapshot(rule)
    for name, value in fields.items():
        setattr(rule, name, value.strip() if name == "name" else value)
    _check(rule)
    rule.full_clean()
    rule.save()
    changes = diff(before, _snapshot(rule))
    if changes:
        audit_record(municipality=rule.municipality, actor=actor, action="rule.updated", target=rule, changes=changes)
    return rule


@transaction.atomic
def rule_delete(*, rule: RoutingRule, actor: Any) -> None:
    before = _snapshot(rule)
    audit_record(municipality=rule.municipality, actor=actor, action="rule.deleted", target=rule,
                 changes=diff(before, {}))
    rule.delete()


@transaction.atomic
def rule_move(*, rule: RoutingRule, actor: Any, direction: Literal["up", "down"]) -> bool:
    """Swap the rule with its neighbour; False when it is already first (up) or last (down).

    The municipality's rules are locked and renumbered 0…n-1, so equal positions (rules made elsewhere) and two
    admins moving at once still give one clear order.
    """
    if direction not in ("up", "down"):
        raise ValueError(f"unknown direction {direction!r}")
    rules = list(RoutingRule.objects.select_for_update().filter(municipality_id=rule.municipality_id)
                 .order_by("position", "id"))
    index = next((i for i, other in enumerate(rules) if other.pk == rule.pk), None)
    if index is None:
        return False
    neighbour = index - 1 if direction == "up" else index + 1
    if not 0 <= neighbour < len(rules):
        return False
    rules[index], rules[neighbour] = rules[neighbour], rules[index]
    changed = []
    for position, other in enumerate(rules):
        if other.position != position:
            other.position = position
            changed.append(other)
    RoutingRule.objects.bulk_update(changed, ["position"])
    rule.position = neighbour
    audit_record(municipality=rule.municipality, actor=actor, action="rule.moved", target=rule,
                 changes={"position": [index + 1, neighbour + 1]})  # as the list shows it, from 1
    return True
