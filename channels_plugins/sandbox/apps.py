from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "channels_plugins.sandbox"
    label = "channels_sandbox"
    verbose_name = "Sandbox channel"
