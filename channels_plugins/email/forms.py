"""The email account's config: the IMAP mailbox it reads, the SMTP server it sends through, and how it signs."""
from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from omnidesk.plugin_api import ChannelConfigForm, SecretField

SECURITY_CHOICES = [
    ("ssl", _("Implicit TLS (IMAP 993, SMTP 465)")),
    ("starttls", _("STARTTLS (IMAP 143, SMTP 587)")),
    ("none", _("None: unencrypted (only for a server on this machine or network)")),
]


class EmailConfigForm(ChannelConfigForm):
    # Incoming
    imap_host = forms.CharField(label=_("IMAP server"), help_text=_("e.g. outlook.office365.com or imap.gmail.com"))
    imap_port = forms.IntegerField(label=_("IMAP port"), min_value=1, max_value=65535, initial=993, required=False)
    imap_security = forms.ChoiceField(label=_("IMAP encryption"), choices=SECURITY_CHOICES, initial="ssl")
    imap_username = forms.CharField(label=_("IMAP user name"), help_text=_("Usually the mailbox's address."))
    imap_password = SecretField(label=_("IMAP password"), required=False,
                                help_text=_("For Microsoft 365 and Google: an app password (see the documentation)."))
    mailbox = forms.CharField(label=_("Folder"), initial="INBOX", required=False,
                              help_text=_("The folder Omnidesk reads; mail in it stays there, unread state untouched."))
    # Outgoing
    smtp_host = forms.CharField(label=_("SMTP server"), help_text=_("e.g. smtp.office365.com or smtp.gmail.com"))
    smtp_port = forms.IntegerField(label=_("SMTP port"), min_value=1, max_value=65535, initial=587, required=False)
    smtp_security = forms.ChoiceField(label=_("SMTP encryption"), choices=SECURITY_CHOICES, initial="starttls")
    smtp_username = forms.CharField(label=_("SMTP user name"), required=False,
                                    help_text=_("Leave empty to use the IMAP user name."))
    smtp_password = SecretField(label=_("SMTP password"), required=False,
                                help_text=_("Leave empty to use the IMAP password."))
    allow_insecure = forms.BooleanField(
        label=_("Allow unencrypted connections"), required=False,
        help_text=_("Only for a mail server on the same machine or a closed network: passwords and mail would "
                    "otherwise cross the network readable."),
    )
    # How replies look
    from_address = forms.EmailField(label=_("Sender address"), help_text=_("The address residents write to."))
    from_name = forms.CharField(label=_("Sender name"), max_length=100, help_text=_("e.g. Gemeente Voorbeeld"))
    plus_addressing = forms.BooleanField(
        label=_("Reply address with ticket code"), required=False,
        help_text=_("Replies ask residents to answer to info+t123.…@…, which keeps the thread even when a mail program "
                    "drops the thread headers. The mailbox must accept plus addresses (Microsoft 365 and Google do)."),
    )
    acknowledgement = forms.CharField(
        label=_("Automatic acknowledgement"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Sent to a resident whose mail opens a new ticket, at most once a day; never to automatic mail. "
                    "Leave empty to send none."),
    )
    # Fetching
    initial_import_days = forms.IntegerField(
        label=_("Import mail of the last days"), min_value=0, max_value=90, initial=3, required=False,
        help_text=_("When the account is added: how many days of earlier mail in the folder to import (0: only new)."),
    )
    max_message_mb = forms.IntegerField(
        label=_("Largest mail to fetch (MB)"), min_value=1, max_value=100, initial=30, required=False,
        help_text=_("Larger mail becomes a ticket with its headers only; open it in the mailbox."),
    )

    DEFAULT_PORTS = {"imap": {"ssl": 993, "starttls": 143, "none": 143}, "smtp": {"ssl": 465, "starttls": 587, "none": 25}}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for side in ("imap", "smtp"):
            security = cleaned.get(f"{side}_security")
            if security and not cleaned.get(f"{side}_port"):
                cleaned[f"{side}_port"] = self.DEFAULT_PORTS[side][security]
            if security == "none" and not cleaned.get("allow_insecure"):
                self.add_error(f"{side}_security", _("Unencrypted connections must be allowed explicitly."))
        if not cleaned.get("imap_password"):
            self.add_error("imap_password", _("Enter the IMAP password."))
        cleaned["mailbox"] = (cleaned.get("mailbox") or "INBOX").strip()
        if cleaned.get("initial_import_days") is None:
            cleaned["initial_import_days"] = 3
        if not cleaned.get("max_message_mb"):
            cleaned["max_message_mb"] = 30
        return cleaned
