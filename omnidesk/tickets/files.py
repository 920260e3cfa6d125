"""Short-lived signed addresses for attachments, so a plugin (or a provider) can fetch a reply's file without a login."""
from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from omnidesk.tickets.models import Attachment

SALT = "omnidesk.attachment.download"
MAX_AGE_SECONDS = 3600


def signed_url(attachment: Attachment) -> str:
    token = signing.TimestampSigner(salt=SALT).sign(str(attachment.uuid))
    return settings.PUBLIC_URL + reverse("signed-file", kwargs={"token": token})


def token_of_url(url: str) -> str:
    """The token in a signed_url (last path segment)."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def attachment_for_token(token: str) -> Attachment | None:
    try:
        uuid = signing.TimestampSigner(salt=SALT).unsign(token, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    return Attachment.objects.filter(uuid=uuid).exclude(file="").first()
