from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from omnidesk.tenants.models import Municipality
from omnidesk.tenants.services import municipality_create


@pytest.fixture
def municipality(db: None) -> Municipality:
    return municipality_create(slug="chat-town", name="Chat Town")


@pytest.fixture
def agent(db: None):  # type: ignore[no-untyped-def]
    return get_user_model().objects.create_user(username="chat-agent", password="correct-horse-battery",
                                                first_name="Sanne", last_name="de Vries")


def run_async(scenario: Callable[[], Any]) -> Any:
    """An async scenario on an event loop of its own, in a thread (Playwright may own this thread's loop)."""
    from asgiref.sync import async_to_sync
    from channels.layers import channel_layers

    channel_layers.backends.clear()  # a layer from an earlier loop holds locks bound to that loop
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(async_to_sync(scenario)).result(timeout=60)
