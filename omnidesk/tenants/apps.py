from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "omnidesk.tenants"
    label = "tenants"
