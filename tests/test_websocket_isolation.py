"""The dashboard websocket: only members of a municipality may join its group.

(Pages, actions, files and the API are covered in tests/test_tenant_isolation.py.)"""
from __future__ import annotations

from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings

from omnidesk.asgi import application
from tests.conftest import run_async
from tests.factories import MembershipFactory, MunicipalityFactory


def _websocket_verdict(path: str, cookie: str) -> tuple[bool, int | None]:
    async def connect() -> tuple[bool, int | None]:
        communicator = WebsocketCommunicator(
            application, path, headers=[(b"cookie", cookie.encode()), (b"origin", b"http://127.0.0.1"),
                                        (b"host", b"127.0.0.1")])
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    return run_async(connect)


def test_their_websocket_group_refuses_us(transactional_db, client):
    ours, theirs = MunicipalityFactory(), MunicipalityFactory()
    member = MembershipFactory(municipality=ours).user
    client.force_login(member)
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"
    assert _websocket_verdict(f"/ws/dashboard/{ours.pk}/", cookie) == (True, None)
    assert _websocket_verdict(f"/ws/dashboard/{theirs.pk}/", cookie) == (False, 4403)
    assert _websocket_verdict(f"/ws/dashboard/{ours.pk}/", "sessionid=forged") == (False, 4403)
