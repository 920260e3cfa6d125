"""Every text the widget shows, translated on the server (Dutch default, English)."""
from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

LANGUAGES = ("nl", "en")


def language_of(value: str | None) -> str:
    value = (value or "").lower()
    return value[:2] if value[:2] in LANGUAGES else "nl"


def widget_labels(language: str) -> dict[str, str]:
    with translation.override(language):
        return {
            "title": _("Chat with us"),
            "open": _("Open the chat"),
            "close": _("Close the chat"),
            "you": _("You"),
            "team": _("Municipality"),
            "placeholder": _("Type your message"),
            "message_label": _("Your message"),
            "send": _("Send"),
            "attach": _("Add a file"),
            "file_label": _("File (image or PDF)"),
            "connecting": _("Connecting…"),
            "offline_retrying": _("No connection. Your messages will be sent as soon as it is back."),
            "connected": _("Connected"),
            "typing": _("%(name)s is typing…"),
            "read": _("Read"),
            "sent": _("Sent"),
            "pending": _("Waiting to be sent"),
            "failed": _("Not sent"),
            "error_session": _("The chat cannot start right now. We keep trying."),
            "file_too_large": _("This file is too large."),
            "file_type": _("Only images (PNG, JPEG, GIF, WebP) and PDF files can be sent."),
            "away_heading": _("We are not available right now"),
            "away_intro": _("Leave your question and how we can reach you; we will answer by email or text message."),
            "offline_name": _("Name (optional)"),
            "offline_email": _("Email address"),
            "offline_phone": _("Phone number"),
            "offline_question": _("Your question"),
            "offline_submit": _("Send question"),
            "offline_need_contact": _("Enter an email address or a phone number, so we can answer you."),
            "offline_thanks": _("Thank you. We have received your question."),
            "conversation": _("Conversation"),
            "new_message_hidden": _("New message"),
            "new_messages": _("new messages"),
            "offline_question_required": _("Please enter your question."),
            "offline_email_invalid": _("Enter a valid email address, like name@example.nl."),
            "offline_phone_invalid": _("Enter a valid phone number."),
            "error_generic": _("Something went wrong. Please try again."),
            "next_opening": _("We are there again from %(when)s."),
            "closed_heading": _("This chat is no longer in use"),
            "closed_default": _("Please contact the municipality in another way."),
            "closed_status": _("Chat closed"),
            "crisis_heading": _("Important"),
        }
