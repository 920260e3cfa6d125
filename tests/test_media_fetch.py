"""Inbound media that the provider only references is fetched after commit, checked, and stored."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest
import requests

from omnidesk.channel_accounts.services import channel_account_create
from omnidesk.inbound.media import FetchLater, fetch_and_store
from omnidesk.inbound.services import ingest_events
from omnidesk.plugin_api import (
    AccountContext,
    Capabilities,
    ChannelAdapter,
    FetchedMedia,
    IdentityKind,
    IdentityRef,
    InboundAttachment,
    InboundMessage,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from omnidesk.plugin_api.testing import registered
from omnidesk.tickets.models import Attachment

JPEG = b"\xff\xd8\xff\xe0" + b"fake-jpeg-bytes" * 100


class MediaAdapter(ChannelAdapter):
    key = "testmedia"
    verbose_name = "Media test channel"
    capabilities = Capabilities(identity_kind=IdentityKind.PHONE, attachments=True)

    def fetch_media(self, account: AccountContext, media_id: str, max_bytes: int) -> FetchedMedia:
        response = requests.get(f"{account.config['base_url']}/media/{media_id}", timeout=5)
        if response.status_code >= 500:
            raise TransientDeliveryError(f"HTTP {response.status_code}", code=str(response.status_code))
        if response.status_code >= 400:
            raise PermanentDeliveryError("media expired", code=str(response.status_code))
        return FetchedMedia(content=response.content, content_type=response.headers["Content-Type"], filename="foto.jpg")


@pytest.fixture
def media_account(municipality, httpserver):
    with registered(MediaAdapter):
        account = channel_account_create(municipality=municipality, plugin_key="testmedia", name="Media", config={})
        # The base form has no fields; the peer's address goes straight into the stored config.
        account.config = {"base_url": httpserver.url_for("").rstrip("/")}
        account.save()
        yield account


def _receive_photo(account, media_id: str = "m-1") -> Attachment:
    ingest_events(
        account=account,
        events=(
            InboundMessage(
                provider_message_id=f"msg-{media_id}",
                sender=IdentityRef(IdentityKind.PHONE, "0612345678"),
                text="Zie foto van de losliggende stoeptegel",
                sent_at=datetime(2026, 11, 28, 12, tzinfo=timezone.utc),
                attachments=(InboundAttachment(filename="photo", content_type="image/jpeg", provider_media_id=media_id),),
            ),
        ),
    )
    return Attachment.objects.get(provider_media_id=media_id)


def test_fetch_is_enqueued_on_commit_and_stores_checked_file(media_account, httpserver, django_capture_on_commit_callbacks):
    httpserver.expect_request("/media/m-1").respond_with_data(JPEG, content_type="image/jpeg")
    with django_capture_on_commit_callbacks() as callbacks:
        attachment = _receive_photo(media_account)
    assert not attachment.file
    assert callbacks, "a fetch must be scheduled after the commit"

    assert fetch_and_store(attachment.pk) is True
    attachment.refresh_from_db()
    assert attachment.file.read() == JPEG
    assert attachment.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert attachment.size == len(JPEG)
    assert attachment.filename == "foto.jpg"
    # A second run does nothing: the file is there.
    assert fetch_and_store(attachment.pk) is False


def test_transient_failure_is_retried_then_given_up(media_account, httpserver):
    httpserver.expect_request("/media/m-2").respond_with_data("busy", status=503)
    attachment = _receive_photo(media_account, "m-2")
    with pytest.raises(FetchLater):
        fetch_and_store(attachment.pk)
    attachment.refresh_from_db()
    assert not attachment.file and attachment.fetch_error == ""
    assert fetch_and_store(attachment.pk, last_attempt=True) is False
    attachment.refresh_from_db()
    assert attachment.fetch_error == "HTTP 503"


def test_permanent_failure_is_shown(media_account, httpserver, agent_client):
    httpserver.expect_request("/media/m-3").respond_with_data("gone", status=404)
    attachment = _receive_photo(media_account, "m-3")
    assert fetch_and_store(attachment.pk) is False
    attachment.refresh_from_db()
    assert attachment.fetch_error == "media expired"
    page = agent_client.get(f"/tickets/{attachment.message.ticket.number}/").content.decode()
    assert "media expired" in page


def test_oversize_file_is_refused(media_account, httpserver, settings):
    settings.OMNIDESK = {**settings.OMNIDESK, "MAX_ATTACHMENT_BYTES": 100}
    httpserver.expect_request("/media/m-4").respond_with_data(JPEG, content_type="image/jpeg")
    attachment = _receive_photo(media_account, "m-4")
    assert fetch_and_store(attachment.pk) is False
    attachment.refresh_from_db()
    assert not attachment.file
    assert "larger than 100 bytes" in attachment.fetch_error
