"""WSGI entry point: plain HTTP (pages, webhooks, API) where speed matters."""
import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnidesk.settings")
application = get_wsgi_application()
# What is loaded by now (settings, apps, URL patterns, models) lives as long as the process: kept out of the cyclic
# collector's sight, its full collections no longer scan it again and again under load.
gc.freeze()
