from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "omnidesk.contacts"
    label = "contacts"
