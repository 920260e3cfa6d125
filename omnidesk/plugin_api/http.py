"""For plugins that call their provider with `requests`: a connection pool, and which network failures may have
delivered the request.

A retry after a failure that may have delivered can reach the resident twice, so such failures say so
(`may_have_been_sent`); core then waits for a status report naming our message id before sending again.
"""
from __future__ import annotations

import threading
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.auth
from urllib3.exceptions import ProtocolError

from omnidesk.plugin_api.errors import TransientDeliveryError


def network_failure(exc: requests.RequestException, provider: str) -> TransientDeliveryError:
    """The TransientDeliveryError for a failed request: refused or not connected in time, nothing was sent; no answer
    in time, or the connection dropped after the request went out, it may have arrived."""
    if isinstance(exc, requests.ConnectTimeout):
        return TransientDeliveryError(f"{provider} could not be reached in time.", code="connect_timeout")
    if isinstance(exc, requests.Timeout):
        return TransientDeliveryError(f"{provider} did not answer in time.", code="timeout", may_have_been_sent=True)
    if isinstance(exc, requests.ConnectionError) and exc.args and isinstance(exc.args[0], ProtocolError):
        return TransientDeliveryError(f"{provider} closed the connection before answering.", code="connection_dropped",
                                      may_have_been_sent=True)
    return TransientDeliveryError(f"{provider} could not be reached.", code="connection_error")


class BearerAuth(requests.auth.AuthBase):
    """`Authorization: Bearer <token>` on one request. Credentials passed as `auth` rather than as a header also
    spare requests its search for a ~/.netrc on every call (it looks only when no `auth` is given)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(••••)"  # never the token, wherever it is printed


class _PooledSession(requests.Session):
    """A session that reads the environment's proxy and CA bundle settings (HTTPS_PROXY, NO_PROXY,
    REQUESTS_CA_BUNDLE …) once per provider host instead of on every request: requests looks them up in os.environ
    and parses NO_PROXY each time, a tenth of a delivery worker's CPU per send. Set them before the process starts."""

    def __init__(self) -> None:
        super().__init__()
        self.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        if proxies or not self.trust_env:  # proxies given with the call: requests' own merge
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        try:
            key = (parts.scheme, parts.netloc, stream, verify, cert)
            hash(key)
        except TypeError:  # an unhashable cert or verify setting: nothing to cache by
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        settings = self._environment.get(key)
        if settings is None:
            settings = self._environment[key] = super().merge_environment_settings(url, {}, stream, verify, cert)
        return {**settings, "proxies": dict(settings["proxies"])}


_local = threading.local()


def pooled_session() -> requests.Session:
    """This thread's `requests.Session`, so calls to a provider reuse their connections (keep-alive) instead of
    opening one per message. It keeps no cookies (it is shared by every account the thread serves) and no
    credentials: pass headers and auth with each request, as before. Proxy settings come from the environment
    (HTTPS_PROXY, NO_PROXY), read once per provider host."""
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = _local.session = _PooledSession()
    return session
