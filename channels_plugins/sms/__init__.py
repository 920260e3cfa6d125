"""SMS: residents text a municipality's number; agents answer from the inbox. Twilio and Bird (MessageBird).

Features: inbound SMS and MMS (media fetched from the provider), delivery statuses with the provider's error
codes explained, opt-out and opt-in keywords (STOP/START …) reported as consent changes, replies up to 1,600
characters sent as concatenated SMS; the composer counts GSM-7/UCS-2 segments (`omnidesk.plugin_api.sms`).

Config: `provider` (twilio | bird). Twilio: `account_sid`, `auth_token` (secret), `from_number` (E.164 or an
alphanumeric sender id) or `messaging_service_sid`. Bird: `workspace_id`, `channel_id`, `access_key` (secret),
`signing_key` (secret). Both: `api_base_url` (default the provider's), `public_base_url` (the URL the provider
calls, when Omnidesk sits behind a proxy that changes it; used for signature checks and status callbacks).

Limits: text only outbound, 1,600 characters (Twilio's limit; Bird splits likewise). A new gateway is one
class in `providers/` registered in `providers/__init__.py`.
"""
