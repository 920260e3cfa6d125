"""A plugin whose adapter key differs from the entry-point name it is registered under."""
from omnidesk.plugin_api import Capabilities, ChannelAdapter, IdentityKind


class MismatchedAdapter(ChannelAdapter):
    key = "somethingelse"
    verbose_name = "Mismatched"
    capabilities = Capabilities(identity_kind=IdentityKind.VISITOR)
