"""Omnidesk's built-in channel plugins. Each package here is registered through the `omnidesk.channels`
entry-point group, exactly like a third-party plugin, and never imports core models."""
