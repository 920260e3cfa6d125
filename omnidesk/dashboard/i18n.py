"""Translated labels the dashboard's script needs, so live updates read like the server-rendered page."""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from omnidesk.tickets.failures import core_failure_reasons
from omnidesk.tickets.models import DeliveryStatus, Priority, Status


def event_templates() -> dict[str, str]:
    return {
        "assigned": _("%(actor)s assigned this ticket to %(assignee)s"),
        "unassigned": _("%(actor)s removed the assignee"),
        "took": _("%(actor)s took this ticket"),
        "status": _("%(actor)s changed the status to %(status)s"),
        "opted_out": _("The resident opted out of messages on this channel (%(keyword)s)"),
        "opted_in": _("The resident opted in again (%(keyword)s)"),
        "priority": _("%(actor)s changed the priority to %(priority)s"),
        "tags": _("%(actor)s set the tags: %(tags)s"),
        "team": _("%(actor)s moved this ticket to team %(team)s"),
    }


def describe_event(metadata: dict[str, Any]) -> str:
    template = event_templates().get(metadata.get("event", ""), "")
    if not template:
        return _("System event")
    values = {**metadata, "status": dict(Status.choices).get(metadata.get("status", ""), metadata.get("status", "")),
              "priority": dict(Priority.choices).get(metadata.get("priority", ""), metadata.get("priority", ""))}
    return template % {
        "actor": values.get("actor") or _("System"),
        "assignee": values.get("assignee", ""),
        "status": values["status"],
        "keyword": values.get("keyword", ""),
        "priority": values["priority"],
        "tags": values.get("tags", "") or "—",
        "team": values.get("team", "") or "—",
    }


def script_labels() -> dict[str, Any]:
    return {
        "status": {k: str(v) for k, v in Status.choices},
        "priority": {k: str(v) for k, v in Priority.choices},
        "delivery": {k: str(v) for k, v in DeliveryStatus.choices},
        "events": event_templates(),
        "failures": core_failure_reasons(),
        "system": _("System"),
        "note": _("Internal note"),
        "unassigned": _("Unassigned"),
        "resend": _("Send again"),
        "attachment_pending": _("being fetched…"),
        "template_field": _("Field %(n)s"),
        "quoting": _("Quoting: “%(text)s”"),
        "sms_counter": _("%(characters)s characters · %(encoding)s · %(segments)s SMS · %(remaining)s left in this SMS"),
        "sms_ucs2": _("“%(character)s” is not in the GSM alphabet: the whole message is sent as UCS-2, with 70 instead of 160 characters per SMS."),
        "forwarded": _("Forwarded"),
        "attachment_unavailable": _("not available"),
        "live": _("Live"),
        "offline": _("Reconnecting…"),
        "new_message": _("New message in ticket #%(number)s"),
        "send_failed": _("Could not save: %(reason)s"),
        "resident_typing": _("The resident is typing…"),
        "select_ticket": _("Select ticket #%(n)s"),
        "also_viewing": _("Also looking at this ticket: %(names)s"),
        "agent_typing": _("%(name)s is typing…"),
        "collision": _("A new message arrived in this ticket while you were writing. Read it before you send."),
        "send_anyway": _("Send anyway"),
        "selected": _("%(n)s selected"),
    }
