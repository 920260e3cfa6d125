"""Meta's error codes: what each means for a retry, and what to tell the agent. Branch on codes, never on text."""
from __future__ import annotations

import enum


class Action(enum.Enum):
    RETRY = "retry"  # transient: retry with backoff and jitter
    BACK_OFF = "back_off"  # a rate limit: retry, but later
    FAIL = "fail"  # retrying cannot help
    ALERT = "alert"  # retrying cannot help and an administrator must act (token, restricted account)


RETRY_CODES = frozenset({1, 2, 131000, 131016})
BACK_OFF_CODES = frozenset({4, 80007, 130429, 131048, 131056})
ALERT_CODES = frozenset({190, 368, 131031})
FAIL_CODES = frozenset({131026, 131047, 131049, 131050, 131051, 131062, 131008, 131009, 131021, 131052, 131053, 100})
TEMPLATE_CODES = range(132000, 132017)

# Sensible waits (seconds) for rate limits when Meta gives no Retry-After.
BACK_OFF_SECONDS = {4: 60.0, 80007: 60.0, 130429: 5.0, 131048: 300.0, 131056: 60.0}
# Limits on one business-user pair, not on the number: only that resident's message waits.
RECIPIENT_LIMIT_CODES = frozenset({131056})

EXPLANATIONS = {
    2: "WhatsApp's API is temporarily unavailable.",
    4: "Too many API calls for this app; retrying later.",
    100: "WhatsApp refused a parameter of the message.",
    190: "The access token has expired or was revoked: an administrator must enter a new token in the channel settings.",
    368: "Meta has temporarily restricted this WhatsApp account for policy violations: an administrator must check the "
    "WhatsApp Manager.",
    80007: "This WhatsApp Business Account reached its rate limit; retrying later.",
    130429: "Throughput limit of this number reached; retrying later.",
    131000: "WhatsApp had an unknown problem; retrying.",
    131008: "A required parameter is missing.",
    131009: "A parameter value is invalid.",
    131016: "WhatsApp is overloaded; retrying.",
    131021: "The recipient is this business number itself.",
    131026: "The message could not be delivered: the number may not use WhatsApp, or has an old app version.",
    131031: "This WhatsApp account is restricted or locked by Meta: an administrator must check the WhatsApp Manager.",
    131047: "More than 24 hours have passed since the resident's last message: send an approved template instead.",
    131048: "Meta's spam limit was reached for this number; retrying much later.",
    131049: "Meta did not deliver this marketing message to keep engagement healthy.",
    131050: "The resident has stopped marketing messages from this business.",
    131051: "WhatsApp does not support this message type.",
    131052: "WhatsApp could not download the resident's media.",
    131053: "WhatsApp could not upload the media; check its type and size.",
    131056: "Too many messages to this resident in a short time; retrying later.",
    131062: "This message cannot be sent to a business-scoped user id; a phone number is needed.",
}
TEMPLATE_EXPLANATION = "The template does not exist, is not approved in this language, or its parameters do not fit."


def action_for(code: int | None, http_status: int) -> Action:
    if code in ALERT_CODES:
        return Action.ALERT
    if code in BACK_OFF_CODES:
        return Action.BACK_OFF
    if code in RETRY_CODES:
        return Action.RETRY
    if code in FAIL_CODES or (code is not None and code in TEMPLATE_CODES):
        return Action.FAIL
    if http_status == 429:
        return Action.BACK_OFF
    if http_status >= 500 or http_status in (408, 0):
        return Action.RETRY
    return Action.FAIL


def explain(code: int | None, fallback: str = "") -> str:
    """A sentence for the agent; Meta's own title or details as a fallback for codes we have no text for."""
    if code in EXPLANATIONS:
        return EXPLANATIONS[code]  # type: ignore[index]
    if code is not None and code in TEMPLATE_CODES:
        return TEMPLATE_EXPLANATION
    return fallback or "WhatsApp refused the message."


def as_int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
