"""plugin_api.http.pooled_session: one kept-alive session per thread that still honours the environment's proxy
settings (read once per provider host), as municipal networks often require an outgoing proxy."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from omnidesk.plugin_api.http import pooled_session


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[str]]]:
    """A forward proxy on 127.0.0.1 that answers every request itself and notes the absolute URL it was asked for."""
    asked: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        asked.append(environ.get("REQUEST_URI") or request.url)
        return Response("via proxy")(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", asked
    finally:
        server.shutdown()
        server.server_close()


def on_new_thread(call: Callable[[], Any]) -> Any:
    """Run `call` on a thread of its own, so it gets a session of its own (sessions are per thread)."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = call()
        except Exception as exc:  # noqa: BLE001  (handed to the test)
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    if "error" in result:
        raise result["error"]
    return result["value"]


def test_calls_go_through_the_proxy_the_environment_names(proxy, monkeypatch):
    url, asked = proxy
    monkeypatch.setenv("HTTP_PROXY", url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    def two_calls() -> list[str]:
        session = pooled_session()
        return [session.get("http://provider.invalid/v1/messages", timeout=5).text,
                session.get("http://provider.invalid/v1/status", timeout=5).text]

    assert on_new_thread(two_calls) == ["via proxy", "via proxy"]
    assert asked == ["http://provider.invalid/v1/messages", "http://provider.invalid/v1/status"]


def test_hosts_in_no_proxy_are_called_directly(proxy, monkeypatch):
    url, asked = proxy
    monkeypatch.setenv("HTTP_PROXY", url)
    monkeypatch.setenv("NO_PROXY", "provider.invalid")

    with pytest.raises(requests.ConnectionError):  # straight to a name that does not resolve
        on_new_thread(lambda: pooled_session().get("http://provider.invalid/v1/messages", timeout=5))
    assert asked == []
    assert on_new_thread(lambda: pooled_session().get("http://other.invalid/", timeout=5).text) == "via proxy"


def test_proxies_given_with_the_call_win(proxy, monkeypatch):
    url, asked = proxy
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    text = on_new_thread(lambda: pooled_session().get("http://provider.invalid/x", proxies={"http": url},
                                                      timeout=5).text)
    assert (text, asked) == ("via proxy", ["http://provider.invalid/x"])
