"""The agents' dashboard at municipal scale: seed a year of tickets and messages, then time the inbox and ticket pages.

The run seeds a small dataset (the baseline), measures, then seeds the large one in the same database and measures
the same pages again, and prints medians, 95th percentiles, SQL queries per page and the large/small ratios. Absolute
times depend on the machine; the ratios, measured in one run on one machine, are what to compare.

Seeding writes with PostgreSQL COPY and replaces everything tenant-owned in the database: run it only on a
database of its own (`manage.py benchmark` refuses one whose name lacks "bench").
"""
from __future__ import annotations

import json
import math
import os
import random
import re
import statistics
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import connection, reset_queries, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from omnidesk.channel_accounts.services import channel_account_create
from omnidesk.tenants.models import Municipality, Role, Team
from omnidesk.tenants.services import agent_create
from omnidesk.tickets.intake import preview
from omnidesk.tickets.models import Tag

Out = Callable[[str], None]

SHORT_THREAD = 3  # messages in the "short thread" ticket page probe
LONG_THREAD = 200  # ... and in the "long thread" one; the same in both datasets, so only the table sizes differ
YEAR = 365 * 24 * 3600.0
AGENTS = [  # (username suffix, full name); the first is the one the pages are opened as
    ("anna", "Anna de Vries"), ("bram", "Bram Jansen"), ("sanne", "Sanne Bakker"), ("daan", "Daan Visser"),
    ("fleur", "Fleur Smit"), ("jeroen", "Jeroen Meijer"), ("lotte", "Lotte de Boer"), ("mohamed", "Mohamed El Idrissi"),
    ("noor", "Noor Mulder"), ("pieter", "Pieter de Groot"), ("roos", "Roos Bos"), ("thijs", "Thijs Vos"),
    ("yara", "Yara Peters"), ("wouter", "Wouter Hendriks"), ("esra", "Esra Yilmaz"),
]
CHANNELS = ["WhatsApp (sandbox)", "Website-chat (sandbox)", "SMS (sandbox)"]
TEAMS = ["Burgerzaken", "Afval en openbare ruimte", "Vergunningen"]
TAGS = ["paspoort", "rijbewijs", "afval", "parkeren", "verhuizing", "klacht", "belasting", "subsidie"]
FIRST_NAMES = ["Jan", "Kees", "Fatima", "Mohammed", "Sophie", "Emma", "Lucas", "Julia", "Ahmed", "Ingrid", "Henk",
               "Priya", "Milan", "Zoë", "Willem", "Lieke", "Joost", "Ayşe", "Ruben", "Marieke", "Youssef", "Femke",
               "Gerrit", "Sara", "Koen", "Anouk", "Dirk", "Nadia", "Bas", "Iris"]
LAST_NAMES = ["de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit",
              "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker",
              "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer", "El Amrani", "Öztürk", "Kramer"]
RESIDENT_SENTENCES = [
    "Goedemiddag, ik heb een vraag over mijn paspoort.",
    "Mijn paspoort verloopt volgende maand, kan ik online een afspraak maken?",
    "De container in de Dorpsstraat is al twee weken niet geleegd.",
    "Ik wil graag een parkeervergunning aanvragen voor mijn nieuwe auto.",
    "Wanneer wordt het grofvuil bij ons in de wijk opgehaald?",
    "Er ligt een losse stoeptegel voor huisnummer 14, iemand is er al over gestruikeld.",
    "Ik ben verhuisd en wil mijn nieuwe adres doorgeven.",
    "Hoe lang duurt het voordat mijn omgevingsvergunning is behandeld?",
    "Kunt u mij vertellen welke documenten ik mee moet nemen naar de afspraak?",
    "Mijn aanslag gemeentelijke belastingen klopt niet, de WOZ-waarde is veel te hoog.",
    "De straatverlichting in de Kerklaan doet het al een week niet.",
    "Ik heb gisteren gebeld maar nog niets gehoord.",
    "Is het gemeentehuis op Koningsdag geopend?",
    "Kan ik kwijtschelding aanvragen voor de afvalstoffenheffing?",
    "Bedankt voor de snelle reactie!",
    "Dat is goed, dan kom ik dinsdag langs.",
    "Er staat al dagen een fiets zonder eigenaar tegen ons hek.",
    "Wij hebben overlast van een buurman die 's nachts harde muziek draait.",
    "Mijn rijbewijs is gestolen, wat moet ik nu doen?",
    "Ik wil bezwaar maken tegen de boete die ik heb gekregen.",
    "Hoe kan ik een uittreksel uit de basisregistratie personen krijgen?",
    "Graag ontvang ik een bevestiging per e-mail.",
    "Ok, dank u wel.",
    "Ik heb de foto's van de schade bijgevoegd.",
]
AGENT_SENTENCES = [
    "Dank u wel voor uw bericht.",
    "U kunt een afspraak maken via onze website onder 'Afspraak maken'.",
    "Ik heb uw melding doorgezet naar de buitendienst; zij komen deze week langs.",
    "Neemt u alstublieft uw oude paspoort en een recente pasfoto mee.",
    "De behandeltermijn voor een omgevingsvergunning is acht weken.",
    "Ik heb uw adreswijziging verwerkt; u ontvangt binnen vijf werkdagen een bevestiging.",
    "Het grofvuil wordt in uw wijk op de eerste maandag van de maand opgehaald.",
    "Kunt u mij het huisnummer en de postcode doorgeven?",
    "U kunt bezwaar maken binnen zes weken na de datum op de beschikking.",
    "Het gemeentehuis is op feestdagen gesloten.",
    "Heeft u verder nog vragen, dan hoor ik het graag.",
    "Met vriendelijke groet, team Klantcontact.",
]
# A hundred streets: residents often give their address, so a street is a realistic rare search term.
STREETS = [tree + kind for tree in ("Linden", "Eiken", "Beuken", "Kastanje", "Wilgen", "Berken", "Populieren", "Esdoorn",
                                    "Hazelaar", "Meidoorn")
           for kind in ("laan", "straat", "weg", "plein", "hof", "singel", "kade", "dreef", "park", "gracht")]
COMMON_WORD, RARE_WORD = "paspoort", "Meidoornhof"  # in about one message in six, and one in a thousand
NOTES = ["Doorgezet naar team Vergunningen.", "Bewoner heeft eerder gebeld over hetzelfde onderwerp.",
         "Let op: klacht over de afhandeling, graag met voorrang oppakken.", "Wacht op foto's van de bewoner.",
         "Afgestemd met de buitendienst, melding staat ingepland."]


@dataclass(frozen=True)
class Scale:
    label: str
    tickets: int
    messages: int


@dataclass
class Dataset:
    scale: Scale
    municipality: Municipality
    agent: AbstractUser
    short_number: int
    long_number: int
    contacts: int = 0
    attachments: int = 0
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    label: str
    path: str


@dataclass(frozen=True)
class PageResult:
    page: Page
    rows: int  # inbox rows plus thread messages shown
    queries: int
    db_ms: float  # SQL time of the counted request, as Django measured it
    median_ms: float
    p95_ms: float
    slowest_sql: tuple[tuple[float, str], ...] = ()


# --- seeding ------------------------------------------------------------------------------------
@contextmanager
def _timed(timings: dict[str, float], key: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[key] = timings.get(key, 0.0) + time.perf_counter() - start


def reset() -> None:
    """Remove every municipality and all it owns (tickets, messages, contacts, accounts …), ids restarting at 1."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tenants_municipality RESTART IDENTITY CASCADE")


def _reserve_ids(cursor: Any, table: str, count: int) -> int:
    """The first of `count` consecutive ids taken from the table's identity sequence, so COPY can set ids itself."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = cursor.fetchone()[0]
    cursor.execute("SELECT nextval(%s)", [sequence])
    first = int(cursor.fetchone()[0])
    cursor.execute("SELECT setval(%s, %s)", [sequence, first + max(count, 1) - 1])
    return first


def _ticket_sizes(rng: random.Random, tickets: int, messages: int, fixed: dict[int, int]) -> list[int]:
    """Messages per ticket: at least one, exponentially spread (most threads short, a few long), summing exactly."""
    mean_extra = max(messages / tickets - 1, 0.0)
    sizes = [1 + int(rng.expovariate(1 / (mean_extra + 0.5))) if mean_extra else 1 for _ in range(tickets)]
    for index, size in fixed.items():
        sizes[index] = size
    diff = messages - sum(sizes)
    while diff:
        index = rng.randrange(tickets)
        if index in fixed:
            continue
        if diff > 0:
            sizes[index] += 1
            diff -= 1
        elif sizes[index] > 1:
            sizes[index] -= 1
            diff += 1
    return sizes


def _texts(rng: random.Random, sentences: Sequence[str], count: int) -> list[str]:
    """A pool of message texts of realistic, varying length: mostly a sentence or two, sometimes a long story."""
    lengths, weights = [1, 2, 3, 5, 8, 20], [40, 25, 15, 10, 7, 3]
    pool = []
    for _ in range(count):
        n = rng.choices(lengths, weights)[0]
        pool.append(" ".join(rng.choice(sentences) for _ in range(n)))
    return pool


def _status(rng: random.Random, age_days: float) -> str:
    """Recent tickets are mostly still being worked on; older ones resolved or closed."""
    if age_days < 3:
        return rng.choices(["new", "open", "pending", "resolved"], [35, 40, 15, 10])[0]
    if age_days < 14:
        return rng.choices(["new", "open", "pending", "resolved"], [5, 35, 25, 35])[0]
    return rng.choices(["open", "pending", "resolved", "closed"], [1, 1, 23, 75])[0]


def _setup(scale: Scale) -> tuple[Municipality, list[AbstractUser], list[int], list[int], list[int]]:
    """The municipality, its channel accounts, agents, teams and tags, made through the services as in production."""
    municipality = Municipality.objects.create(slug=f"bench-{scale.label}", name=f"Gemeente Benchmark ({scale.label})")
    accounts = [
        channel_account_create(municipality=municipality, plugin_key="sandbox", name=name,
                               config={"signing_secret": f"bench-secret-{i}"}).pk
        for i, name in enumerate(CHANNELS)
    ]
    agents = []
    for i, (username, full_name) in enumerate(AGENTS):
        # The same users serve every run (memberships go with the municipality), so passwords are hashed only once.
        user, _password = agent_create(municipality=municipality, username=f"bench-{username}", full_name=full_name,
                                       role=Role.SUPERVISOR if i == len(AGENTS) - 1 else Role.AGENT)
        agents.append(user)
    teams = []
    for i, name in enumerate(TEAMS):
        team = Team.objects.create(municipality=municipality, name=name)
        team.members.add(*agents[i::len(TEAMS)])
        teams.append(team.pk)
    tags = [Tag.objects.create(municipality=municipality, name=name).pk for name in TAGS]
    return municipality, agents, accounts, teams, tags


def _copy(cursor: Any, table: str, columns: Sequence[str], rows: Iterator[Sequence[Any]] | Sequence[Sequence[Any]],
          ) -> int:
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def seed(scale: Scale, *, seed: int, out: Out) -> Dataset:
    """Seed one municipality with `scale.tickets` tickets and `scale.messages` messages spread over the past year."""
    rng = random.Random(seed)
    timings: dict[str, float] = {}
    with _timed(timings, "setup"):
        municipality, agents, accounts, teams, tags = _setup(scale)
    agent_ids = [a.pk for a in agents]
    agent_names = {a.pk: a.get_full_name() for a in agents}
    inbound_texts = [
        text + f" Mijn adres is {rng.choice(STREETS)} {rng.randint(1, 180)}." if rng.random() < 0.3 else text
        for text in _texts(rng, RESIDENT_SENTENCES, 3000)
    ]
    outbound_texts = _texts(rng, AGENT_SENTENCES, 1500)
    now = timezone.now().timestamp()
    m_id = municipality.pk

    tickets, messages = scale.tickets, scale.messages
    # The two ticket-page probes are among the latest tickets, so they are in the first inbox page's time range.
    short_index, long_index = tickets - 7, tickets - 13
    sizes = _ticket_sizes(rng, tickets, messages, {short_index: SHORT_THREAD, long_index: LONG_THREAD})
    n_contacts = max(1, int(tickets * 0.6))  # residents come back: fewer residents than tickets

    with _timed(timings, "copy"), transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # psycopg's own cursor, for COPY
        if _is_superuser(cursor):
            # Generated rows are consistent by construction: skip the per-row foreign key triggers (a bulk load's
            # usual trick; it needs a superuser, and holds for this transaction only).
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SET LOCAL synchronous_commit = off")

        contact_base = _reserve_ids(cursor, "contacts_contact", n_contacts)
        identity_base = _reserve_ids(cursor, "contacts_contactidentity", n_contacts)
        since = datetime.fromtimestamp(now - YEAR, tz=UTC)
        _copy(cursor, "contacts_contact", ["id", "municipality_id", "display_name", "created_at"], (
            (contact_base + i, m_id,
             "" if rng.random() < 0.1 else f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", since)
            for i in range(n_contacts)))
        _copy(cursor, "contacts_contactidentity", ["id", "municipality_id", "contact_id", "kind", "value", "created_at"], (
            (identity_base + i, m_id, contact_base + i, "visitor",
             f"sandbox-{scale.label}-{i:07d}-{rng.getrandbits(32):08x}", since)
            for i in range(n_contacts)))

        # Each ticket's last activity falls somewhere in the past year; its messages lead up to it.
        last_activity = [now - YEAR * rng.random() for _ in range(tickets)]
        last_activity[short_index] = now - 600
        last_activity[long_index] = now - 900
        gaps: list[list[float]] = []
        for i in range(tickets):
            mean_gap = min(4 * 3600.0, 30 * 86400.0 / sizes[i])  # a long thread still spans at most about a month
            gaps.append([rng.expovariate(1 / mean_gap) + 1 for _ in range(sizes[i] - 1)])
        created = [last_activity[i] - sum(gaps[i]) for i in range(tickets)]
        order = sorted(range(tickets), key=created.__getitem__)  # numbers and ids follow creation, as in production
        ticket_base = _reserve_ids(cursor, "tickets_ticket", tickets)
        message_base = _reserve_ids(cursor, "tickets_message", messages)
        ticket_rows: list[tuple[Any, ...]] = []
        attachment_rows: list[tuple[Any, ...]] = []
        tag_rows: list[tuple[int, int]] = []
        next_message = message_base
        short_number = long_number = 0

        def message_rows() -> Iterator[tuple[Any, ...]]:
            nonlocal next_message, short_number, long_number
            for number, index in enumerate(order, start=1):
                ticket_id = ticket_base + number - 1
                if index == short_index:
                    short_number = number
                elif index == long_index:
                    long_number = number
                contact = rng.randrange(n_contacts)
                contact_id, identity_id = contact_base + contact, identity_base + contact
                account = rng.choice(accounts)
                age_days = (now - last_activity[index]) / 86400
                status = _status(rng, age_days)
                unassigned = (status == "new" and rng.random() < 0.8) or rng.random() < 0.1
                assignee = None if unassigned else rng.choice(agent_ids)
                helper = assignee or rng.choice(agent_ids)
                t = created[index]
                last_in = last_out = first_response = None
                last_text = ""
                last_outbound_ref = ""
                previous_direction = ""
                for position in range(sizes[index]):
                    if position:
                        t += gaps[index][position - 1]
                    message_id = next_message
                    next_message += 1
                    at = datetime.fromtimestamp(t, tz=UTC)
                    roll = rng.random()
                    if position == 0 or (previous_direction == "outbound" and roll < 0.7) or (
                            previous_direction == "inbound" and roll < 0.3):
                        kind, direction = "message", "inbound"
                    elif roll < 0.8:
                        kind, direction = "message", "outbound"
                    elif roll < 0.9:
                        kind, direction = "note", "outbound"
                    else:
                        kind, direction = "event", "outbound"
                    text = metadata = provider_id = in_reply_to = status_value = error_code = error_message = ""
                    author_contact = author_user = sent_at = None
                    attempts = 0
                    if kind == "message" and direction == "inbound":
                        text = rng.choice(inbound_texts)
                        author_contact, provider_id, sent_at = contact_id, f"bench-in-{message_id}", at
                        if last_outbound_ref and rng.random() < 0.05:
                            in_reply_to = last_outbound_ref  # the resident quotes our last reply
                        if rng.random() < 0.03:
                            attachment_rows.append((
                                m_id, message_id, str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                                f"attachments/{m_id}/bench-{message_id}", f"foto-{message_id}.jpg", "image/jpeg",
                                rng.randint(40_000, 4_000_000), "", "", "", at))
                        last_in, last_text = at, text
                    elif kind == "message":
                        text = rng.choice(outbound_texts)
                        author_user = helper
                        status_value = rng.choices(["read", "delivered", "sent", "failed"], [50, 30, 15, 5])[0]
                        attempts = 1
                        if status_value == "failed":
                            error_code = "131047"
                            error_message = "More than 24 hours have passed since the customer last replied."
                        else:
                            provider_id = last_outbound_ref = f"bench-out-{message_id}"
                        last_out, last_text = at, text
                        first_response = first_response or at
                    elif kind == "note":
                        text, author_user = rng.choice(NOTES), rng.choice(agent_ids)
                    else:
                        author_user = helper
                        metadata = json.dumps({"event": "took", "actor": agent_names[helper],
                                               "assignee": agent_names[helper]})
                    previous_direction = direction if kind == "message" else previous_direction
                    yield (message_id, m_id, ticket_id, account, direction, kind, text, "", "", "", author_contact,
                           author_user, provider_id, in_reply_to, status_value, error_code, error_message, attempts,
                           metadata or "{}", sent_at, at)
                end = datetime.fromtimestamp(t, tz=UTC)
                resolved_at = None
                if status in ("resolved", "closed"):
                    resolved_at = datetime.fromtimestamp(min(now, t + rng.uniform(60, 86400)), tz=UTC)
                team = rng.choice(teams) if rng.random() < 0.3 else None
                priority = rng.choices(["normal", "low", "high", "urgent"], [80, 5, 12, 3])[0]
                ticket_rows.append((
                    ticket_id, m_id, number, contact_id, identity_id, account, status, priority, assignee, team, "",
                    preview(last_text), datetime.fromtimestamp(created[index], tz=UTC), end, end, last_in, last_out,
                    first_response, resolved_at))
                if rng.random() < 0.1:
                    for tag in rng.sample(tags, rng.randint(1, 2)):
                        tag_rows.append((ticket_id, tag))

        _copy(cursor, "tickets_message", [
            "id", "municipality_id", "ticket_id", "channel_account_id", "direction", "kind", "text", "html", "quoted_text",
            "subject", "author_contact_id", "author_user_id", "provider_message_id", "in_reply_to", "delivery_status",
            "error_code", "error_message", "attempts", "metadata", "sent_at", "created_at"], message_rows())
        _copy(cursor, "tickets_ticket", [
            "id", "municipality_id", "number", "contact_id", "identity_id", "channel_account_id", "status", "priority",
            "assignee_id", "team_id", "subject", "preview", "created_at", "updated_at", "last_activity_at",
            "last_inbound_at", "last_outbound_at", "first_response_at", "resolved_at"], ticket_rows)
        attachment_base = _reserve_ids(cursor, "tickets_attachment", len(attachment_rows))
        _copy(cursor, "tickets_attachment", [
            "id", "municipality_id", "message_id", "uuid", "file", "filename", "content_type", "size", "sha256",
            "provider_media_id", "fetch_error", "created_at"],
            ((attachment_base + i, *row) for i, row in enumerate(attachment_rows)))
        tag_base = _reserve_ids(cursor, "tickets_ticket_tags", len(tag_rows))
        _copy(cursor, "tickets_ticket_tags", ["id", "ticket_id", "tag_id"],
              ((tag_base + i, *row) for i, row in enumerate(tag_rows)))
        cursor.execute("UPDATE tenants_municipality SET last_ticket_number = %s WHERE id = %s", [tickets, m_id])

    with _timed(timings, "vacuum_analyze"), connection.cursor() as cursor:
        # A live database is vacuumed and analysed by autovacuum; measure that steady state, not a fresh load.
        for table in ("contacts_contact", "contacts_contactidentity", "tickets_ticket", "tickets_message",
                      "tickets_attachment", "tickets_ticket_tags"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    out(f"  seeded {scale.label}: {tickets:,} tickets, {messages:,} messages, {n_contacts:,} residents, "
        f"{len(attachment_rows):,} attachments in {sum(timings.values()):.1f} s "
        f"(setup {timings['setup']:.1f} s, COPY {timings['copy']:.1f} s, vacuum+analyze {timings['vacuum_analyze']:.1f} s)")
    return Dataset(scale=scale, municipality=municipality, agent=agents[0], short_number=short_number,
                   long_number=long_number, contacts=n_contacts, attachments=len(attachment_rows), timings=timings)


def _is_superuser(cursor: Any) -> bool:
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    row = cursor.fetchone()
    return bool(row and row[0])


# --- measuring ----------------------------------------------------------------------------------
def pages_of(dataset: Dataset) -> list[Page]:
    return [
        Page("inbox /", "/"),
        Page("inbox ?status=open", "/?status=open"),
        Page("inbox ?assignee=me", "/?assignee=me"),
        Page("inbox, last page", "/?page=999999"),  # OFFSET pagination: the deepest page is the costliest
        Page(f"search, common ?q={COMMON_WORD}", f"/?q={COMMON_WORD}"),
        Page(f"search, rare ?q={RARE_WORD}", f"/?q={RARE_WORD}"),
        Page(f"ticket, {SHORT_THREAD} messages", f"/tickets/{dataset.short_number}/"),
        Page(f"ticket, {LONG_THREAD} messages", f"/tickets/{dataset.long_number}/"),
    ]


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


# Rendered rows only: the page also holds empty <template>s of both for live updates.
TICKET_ROW = re.compile(r'<li class="ticket-row[^"]*" data-ticket-id="\d+"')
MESSAGE_ROW = re.compile(r'<li class="msg [^"]*" id="message-\d+"')


def _rows_shown(html: str) -> int:
    return len(TICKET_ROW.findall(html)) + len(MESSAGE_ROW.findall(html))


def measure(dataset: Dataset, *, repeat: int, warmup: int) -> list[PageResult]:
    """Each page in-process through Django's test client, logged in as an agent: warm-ups, one counted request,
    then `repeat` timed ones (timed without query capture, which would add its own cost)."""
    results = []
    # The test client's host is "testserver"; DEBUG stays as configured (with DEBUG on, Django keeps every query).
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        client = Client()
        client.force_login(dataset.agent)
        for page in pages_of(dataset):
            for _ in range(warmup):
                client.get(page.path)
            # Start from an empty query log: with DEBUG on it may be at its cap, where the capture's slice fails.
            reset_queries()
            with CaptureQueriesContext(connection) as captured:
                response = client.get(page.path)
            queries = list(captured.captured_queries)  # read now: the next request empties the log it slices
            if response.status_code != 200:
                raise RuntimeError(f"{page.path} answered {response.status_code}")
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                client.get(page.path)
                times.append((time.perf_counter() - start) * 1000)
            sql = sorted(((float(q["time"]) * 1000, q["sql"]) for q in queries), reverse=True)
            results.append(PageResult(
                page=page, rows=_rows_shown(response.content.decode()), queries=len(queries),
                db_ms=sum(ms for ms, _sql in sql), median_ms=statistics.median(times), p95_ms=_percentile(times, 0.95),
                slowest_sql=tuple(sql[:3])))
    return results


# --- reporting ----------------------------------------------------------------------------------
def database_size() -> tuple[int, dict[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        total = int(cursor.fetchone()[0])
        tables = {}
        for table in ("tickets_message", "tickets_ticket", "tickets_attachment", "contacts_contact",
                      "contacts_contactidentity"):
            cursor.execute("SELECT pg_total_relation_size(%s)", [table])
            tables[table] = int(cursor.fetchone()[0])
    return total, tables


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:,.0f} MB"


def report(datasets: Sequence[Dataset], results: Sequence[list[PageResult]], *, repeat: int, warmup: int, out: Out,
           show_queries: bool = False) -> None:
    """One row per page: queries, then median and p95 at each scale, then largest/smallest ratios."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    out("")
    max_age = connection.settings_dict.get("CONN_MAX_AGE")
    out(f"Inbox benchmark: PostgreSQL {server}, {os.cpu_count()} CPUs, CONN_MAX_AGE={max_age}, DEBUG={settings.DEBUG}; "
        f"{repeat} requests per page after {warmup} warm-ups, in-process (Django test client)")
    out("")
    scale_columns = "".join(f" {_short(d.scale.messages) + ' med':>10} {'p95':>6}" for d in datasets)
    header = f"{'page':<32} {'rows':>5} {'queries':>9}{scale_columns} {'x med':>6} {'x p95':>6}"
    out(header)
    out("-" * len(header))
    small_results, large_results = results[0], results[-1]
    for index, big in enumerate(large_results):
        row = [r[index] for r in results]
        counts = sorted({r.queries for r in row})
        queries = f"{counts[0]}" if len(counts) == 1 else "->".join(str(r.queries) for r in row) + "!"
        times = "".join(f" {r.median_ms:>10.1f} {r.p95_ms:>6.1f}" for r in row)
        s = small_results[index]
        out(f"{big.page.label:<32} {big.rows:>5} {queries:>9}{times} {big.median_ms / s.median_ms:>5.2f}x "
            f"{big.p95_ms / s.p95_ms:>5.2f}x")
    out("(times in ms, per scale in messages; rows = inbox rows + thread messages shown; x = largest/smallest)")
    out("")
    same = all(len({r[i].queries for r in results}) == 1 for i in range(len(large_results)))
    by_label = {r.page.label: r for r in large_results}
    short, long = by_label[f"ticket, {SHORT_THREAD} messages"], by_label[f"ticket, {LONG_THREAD} messages"]
    out("Queries per page equal at every scale (" + ", ".join(f"{d.scale.messages:,}" for d in datasets)
        + f" messages): {'yes' if same else 'NO'}")
    out(f"Queries for a thread of {SHORT_THREAD} vs {LONG_THREAD} messages: {short.queries} vs {long.queries} "
        f"({'does not grow' if short.queries == long.queries else 'GROWS with the rows shown'})")
    total, tables = database_size()
    out(f"Database size after the largest seed: {_mb(total)} ("
        + ", ".join(f"{name} {_mb(size)}" for name, size in tables.items()) + ")")
    for dataset in datasets:
        t = dataset.timings
        out(f"Seed {dataset.scale.label}: {dataset.scale.tickets:,} tickets, {dataset.scale.messages:,} messages, "
            f"{dataset.contacts:,} residents, {dataset.attachments:,} attachments in {sum(t.values()):.1f} s "
            f"(setup {t['setup']:.1f} s, COPY {t['copy']:.1f} s, vacuum+analyze {t['vacuum_analyze']:.1f} s)")
    if show_queries:
        out("")
        out("Slowest SQL of each page (largest dataset, counted request):")
        for result in large_results:
            out(f"  {result.page.label}:")
            for ms, sql in result.slowest_sql:
                out(f"    {ms:7.1f} ms  {sql[:300]}")


def _short(count: int) -> str:
    if count >= 1_000_000 and count % 1_000_000 == 0:
        return f"{count // 1_000_000}M"
    return f"{count // 1000}k" if count >= 1000 and count % 1000 == 0 else str(count)


def run(*, scales: Sequence[Scale], repeat: int, warmup: int, seed_value: int, out: Out,
        show_queries: bool = False) -> list[list[PageResult]]:
    """Each scale in turn, smallest first, in the same database (reseeded each time); prints the comparison."""
    minimum = SHORT_THREAD + LONG_THREAD
    for scale in scales:
        if scale.tickets < 20 or scale.messages < scale.tickets + minimum:
            raise ValueError(f"The {scale.label} dataset needs at least 20 tickets and {minimum} messages more than "
                             f"tickets.")
    datasets, results = [], []
    for scale in sorted(scales, key=lambda s: s.messages):
        out(f"Seeding {scale.label}: {scale.tickets:,} tickets, {scale.messages:,} messages …")
        reset()
        dataset = seed(scale, seed=seed_value, out=out)
        out(f"Measuring {scale.label} …")
        datasets.append(dataset)
        results.append(measure(dataset, repeat=repeat, warmup=warmup))
    report(datasets, results, repeat=repeat, warmup=warmup, out=out, show_queries=show_queries)
    return results
