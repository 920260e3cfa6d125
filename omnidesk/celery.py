"""The Celery application; its settings come from Django settings prefixed CELERY_."""
import gc
import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnidesk.settings")

app = Celery("omnidesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
@worker_process_init.connect
def _freeze_loaded_objects(**_kwargs: Any) -> None:
    """What a worker loaded before its first task lives as long as the process: out of the cyclic collector's sight
    (as in omnidesk/wsgi.py)."""
    gc.freeze()
