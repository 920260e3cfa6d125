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
        parser.add_argument("benchmark", choices=["inbox"], help="What to benchmark.")
        parser.add_argument("--tickets", type=int, default=100_000, help="Tickets in the large dataset.")
        parser.add_argument("--messages", type=int, default=1_000_000, help="Messages in the large dataset.")
        parser.add_argument("--small-tickets", type=int, default=1_000, help="Tickets in the baseline dataset.")
        parser.add_argument("--small-messages", type=int, default=10_000, help="Messages in the baseline dataset.")
        parser.add_argument("--repeat", type=int, default=30, help="Timed requests per page.")
        parser.add_argument("--warmup", type=int, default=3, help="Untimed requests per page first.")
        parser.add_argument("--seed", type=int, default=20261128, help="Random seed, for the same data every run.")
        parser.add_argument("--show-queries", action="store_true", help="Also print each page's slowest SQL.")

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
        from omnidesk.ops.benchmarks import inbox

        try:
            inbox.run(tickets=options["tickets"], messages=options["messages"], small_tickets=options["small_tickets"],
                      small_messages=options["small_messages"], repeat=options["repeat"], warmup=options["warmup"],
                      seed_value=options["seed"], out=self._write, show_queries=options["show_queries"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    def _write(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
