"""Sandbox: a resident simulator, so anyone can try Omnidesk without a provider account.

Features: a page where you play the resident (`/channels/sandbox/<public id>/`); text messages both
ways; replies pushed live to that page; history kept across reloads. The smallest complete plugin.

Config: `signing_secret` (secret; generated when left empty), `delivery_url` (optional: POST replies
as JSON to this HTTP endpoint instead of the page, for integration tests), `welcome_text`.

Limits: text only, 4,096 characters.
"""
