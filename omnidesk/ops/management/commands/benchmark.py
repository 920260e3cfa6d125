"""`manage.py benchmark inbox`: the dashboard at municipal scale (docs/benchmarks.md).

It wipes and reseeds everything tenant-owned, so it refuses any database whose name lacks "bench".
"""
from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.utils import OperationalError

HOW = (
    "Run it on a database of its own, e.g.:\n"
    "  createdb -h 127.0.0.1 -U postgres omnidesk_bench\n"
    "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/omnidesk_bench python manage.py benchmark inbox\n"
    "or simply: make benchmark"
)


def _create_database_if_missing() -> bool:
    """Create the (bench) database when it does not exist yet; True when it was created."""
    import psycopg
    from psycopg import sql

    try:
        connection.ensure_connection()
        return False
    except OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    params = connection.settings_dict
    with psycopg.connect(dbname="postgres", user=params.get("USER") or None, password=params.get("PASSWORD") or None,
                         host=params.get("HOST") or None, port=params.get("PORT") or None, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(params["NAME"])))
    return True


class Command(BaseCommand):
    help = ("Benchmark the dashboard at municipal scale: seeds a small baseline and a large dataset (default 100,000 "
            "tickets, 1,000,000 messages) and prints page times and SQL queries per page. Replaces all tenant data: "
            "only runs on a database whose name contains 'bench'.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("benchmark", choices=["inbox", "pipeline"],
                            help="inbox: pages at scale; pipeline: ingest, dashboards and delivery against ceilings.")
        parser.add_argument("--scales", default="1000:10000,10000:100000,100000:1000000",
                            help="Inbox: datasets as TICKETS:MESSAGES, comma-separated (default 10k, 100k, 1M messages).")
        parser.add_argument("--repeat", type=int, default=30, help="Timed requests per page.")
        parser.add_argument("--warmup", type=int, default=3, help="Untimed requests per page first.")
        parser.add_argument("--seed", type=int, default=20261128, help="Random seed, for the same data every run.")
        parser.add_argument("--show-queries", action="store_true", help="Also print each page's slowest SQL.")
        pipeline = parser.add_argument_group("pipeline")
        pipeline.add_argument("--inbound", type=int, default=20_000, help="Webhooks in the full-speed run.")
        pipeline.add_argument("--concurrency", type=int, default=32, help="Concurrent webhook requests.")
        pipeline.add_argument("--residents", type=int, default=5_000, help="Distinct residents writing.")
        pipeline.add_argument("--dashboards", type=int, default=50, help="Connected dashboard websockets.")
        pipeline.add_argument("--paced-rate", type=float, default=100.0, help="Webhooks per second in the paced run.")
        pipeline.add_argument("--paced-seconds", type=float, default=30.0, help="Length of the paced run.")
        pipeline.add_argument("--outbound", type=int, default=5_000, help="Agent replies delivered.")
        pipeline.add_argument("--web-workers", type=int, default=2, help="gunicorn sync workers.")
        pipeline.add_argument("--ws-workers", type=int, default=1, help="uvicorn processes for websockets.")
        pipeline.add_argument("--worker-pool", choices=["threads", "prefork"], default="threads", help="Celery pool.")
        pipeline.add_argument("--worker-concurrency", type=int, default=16, help="Celery worker threads or processes.")
        pipeline.add_argument("--worker-processes", type=int, default=2,  # one per core here (stack.Shape)
                              help="Celery worker processes, each with that pool (like worker replicas).")

    def handle(self, *args: Any, **options: Any) -> None:
        name = str(connection.settings_dict.get("NAME") or "")
        if connection.vendor != "postgresql":
            raise CommandError(f"The benchmark needs PostgreSQL (it seeds with COPY), not {connection.vendor}.\n{HOW}")
        if "bench" not in name.lower():
            raise CommandError(f"Refusing to run on database {name!r}: the benchmark deletes every municipality and "
                               f"its data. The database name must contain 'bench'.\n{HOW}")
        if _create_database_if_missing():
            self.stdout.write(f"Created database {name}.")
        call_command("migrate", interactive=False, verbosity=0)
        if options["benchmark"] == "pipeline":
            self._pipeline(options)
            return
        from omnidesk.ops.benchmarks import inbox

        try:
            scales = [inbox.Scale(f"{int(m):,} messages", int(t), int(m))
                      for t, m in (part.split(":") for part in options["scales"].split(","))]
            inbox.run(scales=scales, repeat=options["repeat"], warmup=options["warmup"], seed_value=options["seed"],
                      out=self._write, show_queries=options["show_queries"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    def _pipeline(self, options: dict[str, Any]) -> None:
        from django.conf import settings

        from omnidesk.ops.benchmarks.pipeline import Plan, run
        from omnidesk.ops.benchmarks.stack import Shape

        if not settings.REDIS_URL:
            raise CommandError("The pipeline benchmark needs Redis: set REDIS_URL (make bench does).")
        plan = Plan(inbound=options["inbound"], concurrency=options["concurrency"], residents=options["residents"],
                    dashboards=options["dashboards"], paced_rate=options["paced_rate"],
                    paced_seconds=options["paced_seconds"], outbound=options["outbound"])
        shape = Shape(web_workers=options["web_workers"], ws_workers=options["ws_workers"],
                      worker_pool=options["worker_pool"], worker_concurrency=options["worker_concurrency"],
                      worker_processes=options["worker_processes"])
        run(plan=plan, shape=shape, out=self._write)

    def _write(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
