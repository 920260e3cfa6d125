"""Run the push-polling watchers (e.g. IMAP IDLE) until interrupted: mail shows up within seconds."""
from __future__ import annotations

import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from omnidesk.inbound.watching import watch_all


class Command(BaseCommand):
    help = "Wait for news on every channel account that can push (IMAP IDLE) and poll it at once."

    def add_arguments(self, parser: CommandParser) -> None:
        # IMAP servers end an IDLE after 30 minutes; re-issuing it well before keeps the connection alive.
        parser.add_argument("--wait-seconds", type=float, default=300, help="Longest single wait (IDLE) per round.")
        parser.add_argument("--refresh-seconds", type=float, default=60,
                            help="How often to look for accounts switched on or off.")

    def handle(self, *args: Any, wait_seconds: float, refresh_seconds: float, **options: Any) -> None:
        stop = threading.Event()
        try:
            watch_all(stop, wait_seconds=wait_seconds, refresh_seconds=refresh_seconds)
        except KeyboardInterrupt:
            stop.set()
