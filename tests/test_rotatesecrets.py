"""Rotating the encryption key: new key first, old key kept, rotate, then the old key can go."""
from io import StringIO

from cryptography.fernet import Fernet
from django.core.management import call_command

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.selectors import account_context
from tests.factories import sandbox_account


def test_rotation_keeps_secrets_readable_under_the_new_key_only(municipality, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.OMNIDESK = {**settings.OMNIDESK, "ENCRYPTION_KEYS": [old]}
    account = sandbox_account(municipality)
    before = account.encrypted_secrets
    assert "s3cret-signing" not in before  # encrypted at rest

    settings.OMNIDESK = {**settings.OMNIDESK, "ENCRYPTION_KEYS": [new, old]}
    out = StringIO()
    call_command("rotatesecrets", stdout=out)
    assert "1 channel account" in out.getvalue()

    settings.OMNIDESK = {**settings.OMNIDESK, "ENCRYPTION_KEYS": [new]}
    account = ChannelAccount.objects.get(pk=account.pk)
    assert account.encrypted_secrets != before
    assert account_context(account).config["signing_secret"] == "s3cret-signing"
