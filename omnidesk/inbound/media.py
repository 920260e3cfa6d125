"""Inbound media the provider only referenced: fetched by a task after the message is committed."""
from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.db import transaction

from omnidesk.channel_accounts.selectors import account_context
from omnidesk.plugin_api.errors import PermanentDeliveryError, TransientDeliveryError
from omnidesk.plugin_api.registry import UnknownPlugin, get_adapter
from omnidesk.tickets.models import Attachment
from omnidesk.tickets.services import attachment_mark_unavailable, attachment_store_fetched

logger = logging.getLogger(__name__)


class FetchLater(Exception):
    """The provider could not hand the file over now; try again later."""

    def __init__(self, retry_after: float | None) -> None:
        super().__init__("media fetch postponed")
        self.retry_after = retry_after


def enqueue_media_fetch(attachment: Attachment) -> None:
    from omnidesk.inbound.tasks import fetch_attachment

    attachment_id = attachment.pk
    transaction.on_commit(lambda: fetch_attachment.delay(attachment_id))


def fetch_and_store(attachment_id: int, *, last_attempt: bool = False) -> bool:
    """Fetch one attachment; True when stored. Raises FetchLater for a transient problem."""
    attachment = (
        Attachment.objects.select_related("message__channel_account__municipality", "message__ticket")
        .filter(pk=attachment_id)
        .first()
    )
    if attachment is None or attachment.file or not attachment.provider_media_id:
        return False
    account = attachment.message.channel_account
    max_bytes = settings.OMNIDESK["MAX_ATTACHMENT_BYTES"]
    try:
        media = get_adapter(account.plugin_key).fetch_media(account_context(account), attachment.provider_media_id, max_bytes)
    except UnknownPlugin:
        attachment_mark_unavailable(attachment=attachment, reason="The channel plugin is not installed.")
        return False
    except PermanentDeliveryError as exc:
        attachment_mark_unavailable(attachment=attachment, reason=exc.reason)
        return False
    except TransientDeliveryError as exc:
        if last_attempt:
            attachment_mark_unavailable(attachment=attachment, reason=exc.reason)
            return False
        raise FetchLater(exc.retry_after) from exc
    if len(media.content) > max_bytes:
        attachment_mark_unavailable(attachment=attachment, reason=f"The file is larger than {max_bytes} bytes.")
        return False
    logger.info("media fetched", extra={"attachment": attachment.pk, "sha256": hashlib.sha256(media.content).hexdigest()})
    with transaction.atomic():
        attachment_store_fetched(
            attachment=attachment, content=media.content, content_type=media.content_type, filename=media.filename
        )
    return True
