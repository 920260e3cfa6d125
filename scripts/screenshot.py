"""Regenerate docs/screenshot.png: the dashboard with a few Dutch demo conversations, at 1440x900.

    .venv/bin/python scripts/screenshot.py [--out docs/screenshot.png] [--language nl]

Runs the embedded default (SQLite, in-memory layer, eager tasks) in a temporary data directory, seeds the demo
municipality and some conversations, and photographs the dashboard in Debian's Chromium. Leaves nothing running.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "demo-wachtwoord-lindeboom"

# (name, [(minutes ago, who, text)], assignee, final status); who is "resident", "anna", "bram" or "note:<agent>".
CONVERSATIONS = [
    ("Henk Visser", [(150, "resident", "Hoe vraag ik een parkeervergunning voor bewoners aan? Ik ben net verhuisd naar de Havenstraat."),
                     (141, "bram", "Dag meneer Visser, dat kan via Mijn Demodam met DigiD. Na de aanvraag krijgt u binnen vijf werkdagen bericht."),
                     (139, "resident", "Gelukt, bedankt!")], "bram", "resolved"),
    ("Priya Ramdin", [(95, "resident", "Wanneer kan ik mijn nieuwe paspoort ophalen? Ik heb het op 2 mei aangevraagd."),
                      (80, "bram", "Goedemiddag mevrouw Ramdin, uw paspoort ligt vanaf donderdag klaar. Vergeet u niet een afspraak te maken?")],
     "bram", "pending"),
    ("Fatima el Amrani", [(48, "resident", "Goedemorgen, mijn groene container is vanochtend niet geleegd. Wij wonen aan de Lindelaan 14."),
                          (41, "assign:anna", ""),
                          (39, "anna", "Goedemorgen mevrouw El Amrani, excuses daarvoor. De wagen komt morgen vóór 12:00 uur alsnog langs. "
                                       "Wilt u de container aan de straat laten staan?"),
                          (37, "note:anna", "Route 7 had vanochtend pech met de wagen; planning is ingelicht."),
                          (12, "resident", "Dank u wel! Moet ik hem vanavond dan weer buiten zetten, of mag hij gewoon blijven staan?")],
     "anna", None),
    ("Jan de Boer", [(26, "resident", "De lantaarnpaal voor Molenweg 3 is al een week kapot. Het is 's avonds erg donker op de stoep.")], None, None),
    ("Sevda Yılmaz", [(9, "resident", "Er ligt al drie dagen grofvuil naast de ondergrondse container bij de Kerkstraat. Kan dat worden opgehaald?")],
     None, None),
    ("Marco Bos", [(3, "resident", "Is het Stadskantoor op Koningsdag open?")], None, None),
]
OPEN_TICKET = "Fatima el Amrani"


def seed() -> int:
    """Run inside Django: create the conversations; print the number of the ticket to show."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from omnidesk.channel_accounts.models import ChannelAccount
    from omnidesk.inbound.services import ingest_events
    from omnidesk.plugin_api import IdentityKind, IdentityRef, InboundMessage
    from omnidesk.realtime.models import Event
    from omnidesk.tickets.models import Message, Status, Ticket
    from omnidesk.tickets.services import note_create, reply_create, ticket_assign, ticket_set_status

    account = ChannelAccount.objects.get(municipality__slug="demo", plugin_key="sandbox")
    users = {u.username: u for u in get_user_model().objects.filter(username__in=["anna", "bram"])}
    now = timezone.now()
    shown = 0
    for name, lines, assignee, status in CONVERSATIONS:
        resident = uuid.uuid4().hex
        ticket = None
        for minutes, who, text in lines:
            at = now - timedelta(minutes=minutes)
            before = set(Message.objects.values_list("pk", flat=True))
            if who == "resident":
                ingest_events(account=account, events=(InboundMessage(
                    provider_message_id=f"{resident}:{uuid.uuid4().hex}", sender=IdentityRef(IdentityKind.VISITOR, f"sandbox-{resident}"),
                    sent_at=at, text=text, sender_name=name),))
                ticket = Ticket.objects.get(identity__value=f"sandbox-{resident}")
            elif who.startswith("assign:"):
                user = users[who.partition(":")[2]]
                ticket_assign(ticket=ticket, assignee=user, actor=user)
            elif who.startswith("note:"):
                note_create(ticket=ticket, author=users[who.partition(":")[2]], text=text)
            else:
                reply_create(ticket=ticket, author=users[who], text=text)
            Message.objects.exclude(pk__in=before).update(created_at=at)
            Ticket.objects.filter(pk=ticket.pk).update(last_activity_at=at)
            ticket.refresh_from_db()
        if assignee and ticket.assignee_id is None:
            ticket_assign(ticket=ticket, assignee=users[assignee], actor=users[assignee])
            Message.objects.filter(ticket=ticket, kind="event").update(created_at=now - timedelta(minutes=lines[0][0] - 2))
        if status:
            ticket_set_status(ticket=ticket, status=Status(status), actor=users[assignee])
            Message.objects.filter(ticket=ticket, kind="event", metadata__event="status").update(
                created_at=now - timedelta(minutes=lines[-1][0] - 1))
        Ticket.objects.filter(pk=ticket.pk).update(last_activity_at=now - timedelta(minutes=lines[-1][0]))
        if name == OPEN_TICKET:
            shown = ticket.number
    # The timestamps above were moved back in time; events kept for catch-up still carry the real ones.
    Event.objects.all().delete()
    print(shown)
    return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    parser.add_argument("--language", default="nl")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    python = sys.executable
    data_dir = tempfile.mkdtemp(prefix="omnidesk-screenshot-")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(OMNIDESK_DATA_DIR=data_dir, OMNIDESK_PUBLIC_URL=base, DJANGO_SETTINGS_MODULE="omnidesk.settings",
               OMNIDESK_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    run = lambda *cmd: subprocess.run([python, *cmd], cwd=ROOT, env=env, check=True, capture_output=True, text=True)  # noqa: E731
    server = None
    try:
        run("manage.py", "migrate", "--noinput")
        run("manage.py", "seeddemo", "--password", PASSWORD)
        number = int(run(__file__, "--seed").stdout.strip().splitlines()[-1])
        server = subprocess.Popen([python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"])
            page = browser.new_page(viewport={"width": 1440, "height": 900}, locale=args.language, base_url=base)
            page.goto("/login/")
            page.fill("#id_username", "anna")
            page.fill("#id_password", PASSWORD)
            page.click("form button[type=submit]")
            page.wait_for_url(base + "/")
            page.goto(f"/tickets/{number}/")
            page.wait_for_selector("#live-status.online")
            page.locator("#composer-text").fill("Hij mag blijven staan, dan nemen we hem morgenochtend mee.")
            page.locator("#composer-text").blur()
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.out)
            browser.close()
        print(args.out)
        return 0
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=15)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(seed() if sys.argv[1:] == ["--seed"] else main())
