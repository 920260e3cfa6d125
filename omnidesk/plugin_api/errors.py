"""Errors a plugin raises; core maps each to an HTTP answer or a delivery decision."""
from __future__ import annotations


class PluginError(Exception):
    """Base of every error a plugin raises on purpose."""


class VerificationFailed(PluginError):
    """The request is not provably from the provider (bad or missing signature, wrong token). Answered 403."""


class MalformedPayload(PluginError):
    """The request is authentic but cannot be understood. Answered 400 with this message."""


class DeliveryError(PluginError):
    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = message


class TransientDeliveryError(DeliveryError):
    """Worth retrying later: timeouts, 5xx, rate limits. `retry_after` in seconds if the provider said."""

    def __init__(
        self, message: str, *, code: str = "", retry_after: float | None = None, may_have_been_sent: bool = False,
        this_recipient_only: bool = False,
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
        # True when the provider may have accepted the message (e.g. a read timeout) and has no idempotency
        # key: core then waits for a status report that names our message id before sending again.
        self.may_have_been_sent = may_have_been_sent
        # True (API 1.3) when only this resident is limited (e.g. WhatsApp 131056, too many messages to one number):
        # only this message waits; the account keeps sending to everyone else and its breaker is not touched.
        self.this_recipient_only = this_recipient_only


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help: invalid recipient, opted out, content refused. Shown to the agent.

    `recipient_opted_out=True` says the provider refused because the resident opted out (e.g. Twilio 21610):
    core then records the opt-out, so no later reply is even attempted.
    """

    def __init__(self, message: str, *, code: str = "", recipient_opted_out: bool = False) -> None:
        super().__init__(message, code=code)
        self.recipient_opted_out = recipient_opted_out


class AccountProblem(PermanentDeliveryError):
    """The account itself cannot send (expired token, restricted account): an administrator must act.

    The message fails, and core flags the account so agents see a banner until a send succeeds again.
    """
