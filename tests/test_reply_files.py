"""Files on a reply: refused before storing when the channel cannot carry them; served to the sending plugin
only through a signed, expiring address."""
from __future__ import annotations

from datetime import datetime, timezone

from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile

from omnidesk.inbound.services import ingest_events
from omnidesk.plugin_api import IdentityKind, IdentityRef, InboundAttachment, InboundMessage
from omnidesk.tickets import files
from omnidesk.tickets.models import Attachment, Message, Ticket


def test_a_channel_without_attachments_refuses_a_file_before_storing(agent_client, account):
    ingest_events(account=account, events=(InboundMessage(
        provider_message_id="f-1", sender=IdentityRef(IdentityKind.VISITOR, "v-1"), text="Hoi",
        sent_at=datetime(2026, 11, 28, tzinfo=timezone.utc)),))
    ticket = Ticket.objects.get()
    response = agent_client.post(f"/tickets/{ticket.number}/reply/",
                                 {"text": "Zie bijlage", "attachments": SimpleUploadedFile("a.pdf", b"%PDF", "application/pdf")},
                                 headers={"Accept": "application/json", "Accept-Language": "en"})
    assert response.status_code == 400
    assert response.json()["errors"] == "This channel cannot send attachments."
    assert not Message.objects.filter(direction="outbound").exists() and Attachment.objects.count() == 0


def test_signed_addresses_work_without_login_and_only_while_valid(client, account, settings):
    ingest_events(account=account, events=(InboundMessage(
        provider_message_id="f-2", sender=IdentityRef(IdentityKind.VISITOR, "v-2"), text="Foto",
        sent_at=datetime(2026, 11, 28, tzinfo=timezone.utc),
        attachments=(InboundAttachment(filename="foto.jpg", content_type="image/jpeg", content=b"\xff\xd8jpeg"),)),))
    attachment = Attachment.objects.get()
    url = files.signed_url(attachment)
    assert url.startswith(settings.PUBLIC_URL + "/files/")
    response = client.get(url.removeprefix(settings.PUBLIC_URL))
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"\xff\xd8jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"

    assert client.get(f"/files/{attachment.uuid}/").status_code == 404  # unsigned
    forged = signing.TimestampSigner(salt="another-salt").sign(str(attachment.uuid))
    assert client.get(f"/files/{forged}/").status_code == 404
    old = signing.TimestampSigner(salt=files.SALT).sign(str(attachment.uuid))
    files_max_age, files.MAX_AGE_SECONDS = files.MAX_AGE_SECONDS, -1  # every signature is now too old
    try:
        assert client.get(f"/files/{old}/").status_code == 404
    finally:
        files.MAX_AGE_SECONDS = files_max_age
