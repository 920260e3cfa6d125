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

    def __init__(self, message: str, *, code: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help: invalid recipient, opted out, content refused. Shown to the agent."""
