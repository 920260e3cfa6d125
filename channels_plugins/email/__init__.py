"""Email: residents write to a municipality's mailbox; agents answer from the inbox. IMAP in, SMTP out.

See docs/channels/email.md.
"""
