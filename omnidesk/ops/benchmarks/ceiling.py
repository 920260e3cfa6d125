"""The ceiling the ingest is compared with: a minimal view doing one INSERT, in the same Django with the same
middleware, served by the same HTTP server and worker count (DJANGO_SETTINGS_MODULE=omnidesk.ops.benchmarks.ceiling)."""
from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from omnidesk.settings import *  # noqa: F401,F403  (this module is also the ceiling server's settings)

ROOT_URLCONF = "omnidesk.ops.benchmarks.ceiling"
TABLE = "bench_ceiling"


def create_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, body text NOT NULL)")
        cursor.execute(f"TRUNCATE {TABLE}")


@csrf_exempt
def insert(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} (body) VALUES (%s)", [request.body[:500].decode(errors="replace")])
    return JsonResponse({"status": "ok"})


urlpatterns = [path("insert", insert)]
