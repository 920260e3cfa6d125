"""A fitting third-party plugin, and entry points that do not point to an adapter at all."""
from omnidesk.plugin_api import API_VERSION, Capabilities, ChannelAdapter, IdentityKind


class GoodAdapter(ChannelAdapter):
    key = "goodfake"
    verbose_name = "Good fake"
    api_version = API_VERSION.split(".")[0] + ".9"  # a newer minor version of the same major is fine
    capabilities = Capabilities(identity_kind=IdentityKind.VISITOR)


class NoCapabilitiesAdapter(ChannelAdapter):
    key = "nocaps"
    verbose_name = "No capabilities"


def not_a_class() -> None:
    """An entry point must name a ChannelAdapter subclass, not a function."""


class NotAnAdapter:
    key = "notadapter"


class FloatVersionAdapter(ChannelAdapter):
    """api_version written as a number instead of a string."""

    key = "floatversion"
    verbose_name = "Float version"
    api_version = 1.0  # type: ignore[assignment]
    capabilities = Capabilities(identity_kind=IdentityKind.VISITOR)


class CrashingInitAdapter(ChannelAdapter):
    """Fits the API on paper, but cannot be instantiated."""

    key = "crashinginit"
    verbose_name = "Crashing init"
    capabilities = Capabilities(identity_kind=IdentityKind.VISITOR)

    def __init__(self) -> None:
        raise KeyError("MISSING_PROVIDER_SETTING")
