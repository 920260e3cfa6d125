"""The SMS gateways this plugin speaks. Adding one: a SmsProvider subclass, one line here, one form choice."""
from __future__ import annotations

from channels_plugins.sms.providers.base import Config, SmsProvider
from channels_plugins.sms.providers.bird import BirdProvider
from channels_plugins.sms.providers.twilio import TwilioProvider

PROVIDERS: dict[str, SmsProvider] = {provider.key: provider for provider in (TwilioProvider(), BirdProvider())}


class UnknownProvider(LookupError):
    pass


def provider_for(config: Config) -> SmsProvider:
    try:
        return PROVIDERS[str(config.get("provider", ""))]
    except KeyError:
        raise UnknownProvider(f"unknown SMS provider {config.get('provider')!r}") from None


__all__ = ["PROVIDERS", "SmsProvider", "UnknownProvider", "provider_for"]
