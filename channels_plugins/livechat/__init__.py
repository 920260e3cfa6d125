"""Web livechat: one script tag puts an accessible chat on the municipality's website; agents answer from the inbox.

See docs/channels/livechat.md.
"""
