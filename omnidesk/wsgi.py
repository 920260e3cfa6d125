"""WSGI entry point: plain HTTP (pages, webhooks, API) where speed matters."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnidesk.settings")
application = get_wsgi_application()
