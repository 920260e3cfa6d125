"""Why core itself refuses or fails a reply, by error code, in the reader's language."""
from __future__ import annotations

from django.utils.translation import gettext as _


def core_failure_reasons() -> dict[str, str]:
    """Reasons core itself gives for a failed reply (by error code), in the agent's language.

    Providers' own reasons are shown as the plugin reported them.
    """
    return {
        "channel_disabled": _("This channel is switched off."),
        "plugin_missing": _("The channel plugin is not installed."),
        "plugin_error": _("The channel plugin failed; the reply was tried again several times."),
        "opted_out": _("The resident opted out of messages from this channel."),
        "too_long": _("The text is longer than this channel allows."),
        "attachments_unsupported": _("This channel cannot send attachments."),
        "attachment_too_large": _("A file is larger than this channel allows."),
        "attachment_type_unsupported": _("This channel cannot send this type of file."),
    }


def failure_reason(code: str, message: str) -> str:
    return core_failure_reasons().get(code, message)
