"""WhatsApp Business Cloud API (Meta Graph API): one channel account per business phone number.

Features: the webhook's GET subscribe handshake and POSTs verified with X-Hub-Signature-256 over the raw
body; batched entries, changes, messages and statuses; text, image, video, audio and voice, document,
sticker (media fetched later from the Graph API, size- and sha256-checked, an expired URL re-resolved once),
location, contact cards, interactive button and list replies, template quick replies, reactions (and their
removal), replies (`context`), forwarded messages, and a visible placeholder for `unsupported` and any
type this plugin does not know yet. Residents are keyed on their phone number (wa_id), or on their
business-scoped user id when Meta sends no phone number. Out: text (optionally quoting a message), one
file with a caption, approved templates with body parameters; read receipts; approved templates listed
for the composer; statuses sent/delivered/read/failed with Meta's code and a human explanation.

Config: `phone_number_id`, `business_account_id`, `access_token` (secret), `app_secret` (secret),
`verify_token` (secret), `graph_api_base_url` (default https://graph.facebook.com), `graph_api_version`
(default v21.0), `skip_read_receipts` (default off: read receipts are sent).

Limits: 4,096 characters of text; one file per message, up to 16 MB (images above 5 MB go as documents);
outside the 24-hour customer-service window only approved templates reach the resident (131047). The
send API has no idempotency key: see doc.md on the double-send risk after a timeout.
"""
