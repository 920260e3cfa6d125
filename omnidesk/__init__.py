"""Omnidesk: one inbox for every channel a municipality answers on."""
from omnidesk.celery import app as celery_app

__all__ = ["celery_app"]
