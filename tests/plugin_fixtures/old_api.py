"""Plugins written for plugin API major versions Omnidesk does not offer."""
from omnidesk.plugin_api import Capabilities, ChannelAdapter, IdentityKind


class FutureApiAdapter(ChannelAdapter):
    key = "futureapi"
    verbose_name = "Future API"
    api_version = "2.0"
    capabilities = Capabilities(identity_kind=IdentityKind.VISITOR)


class AncientApiAdapter(ChannelAdapter):
    key = "ancientapi"
    verbose_name = "Ancient API"
    api_version = "0.3"
    capabilities = Capabilities(identity_kind=IdentityKind.VISITOR)
