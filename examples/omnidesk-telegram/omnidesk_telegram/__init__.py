"""Telegram Bot API channel for Omnidesk.

Features: private chats with a bot; text, photos and documents in; text out.
Config: `bot_token` (secret), `webhook_secret_token` (secret), `api_base_url` (default Telegram's).
Limits: 4,096 characters per message; attachments up to 20 MB (the Bot API's download limit).
"""
