from django.apps import AppConfig


class PluginApiConfig(AppConfig):
    name = "omnidesk.plugin_api"
    label = "plugin_api"
    verbose_name = "Channel plugins"

    def ready(self) -> None:
        from omnidesk.plugin_api import checks  # noqa: F401  (registers the system check)
