"""Real mail servers for the email channel tests (see servers.py)."""
from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from channels_plugins.email.tests.servers import Dovecot, SmtpSink


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A fresh private Dovecot per test: it starts in well under a second, and fresh mailboxes beat cleanup."""
    with Dovecot() as server:
        yield server


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A fresh SMTP sink per test, with AUTH (PLAIN/LOGIN, no TLS needed) as a provider's submission port has."""
    with SmtpSink(username="info@gemeente-voorbeeld.nl", password=secrets.token_urlsafe(12)) as sink:
        yield sink
