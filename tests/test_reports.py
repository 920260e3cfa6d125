"""Supervisors' reports: per role, right figures on a hand-built month (days in Europe/Amsterdam, across the switch to
summer time), never another municipality's data, the CSV equal to the page, and a query count that does not grow."""
from __future__ import annotations

import csv
import io
import itertools
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.contacts.services import identity_for
from omnidesk.plugin_api.events import IdentityKind, IdentityRef
from omnidesk.reports import selectors
from omnidesk.reports.selectors import Period, percentile, report
from omnidesk.sunset.models import SunsetContact
from omnidesk.tenants.models import Municipality, Role
from omnidesk.tickets.models import DeliveryStatus, Direction, Kind, Message, Status, Ticket
from tests.factories import MembershipFactory, MunicipalityFactory, sandbox_account

MARCH = "period=dates&since=2026-03-01&until=2026-03-31"
_numbers = itertools.count(1000)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ticket(account: ChannelAccount, created: str, *, status: str = Status.OPEN, response_minutes: float | None = None,
           resolved: str | None = None) -> Ticket:
    """A ticket created at a known instant (UTC), answered `response_minutes` later."""
    identity = identity_for(municipality=account.municipality,
                            identity=IdentityRef(IdentityKind.VISITOR, f"sandbox-{uuid.uuid4().hex}"))
    created_at = utc(created)
    made = Ticket.objects.create(municipality=account.municipality, number=next(_numbers), contact=identity.contact,
                                 identity=identity, channel_account=account, status=status, last_activity_at=created_at)
    Ticket.objects.filter(pk=made.pk).update(
        created_at=created_at,
        first_response_at=None if response_minutes is None else created_at + timedelta(minutes=response_minutes),
        resolved_at=utc(resolved) if resolved else None)
    return made


def message(on: Ticket, at: str, direction: str, *, kind: str = Kind.MESSAGE, status: str = "") -> None:
    made = Message.objects.create(municipality=on.municipality, ticket=on, channel_account=on.channel_account,
                                  direction=direction, kind=kind, text="…", delivery_status=status)
    Message.objects.filter(pk=made.pk).update(created_at=utc(at))


def sunset_contact(account: ChannelAccount, at: str) -> None:
    made = SunsetContact.objects.create(municipality=account.municipality, channel_account=account,
                                        identity_kind="phone", identity_value="+31612345678")
    SunsetContact.objects.filter(pk=made.pk).update(received_at=utc(at))


@pytest.fixture
def month(municipality: Municipality) -> dict[str, ChannelAccount]:
    """March 2026 in Amsterdam: 1 March 00:00 is 28 Feb 23:00 UTC; 1 April 00:00 (summer time) is 31 March 22:00."""
    balie = sandbox_account(municipality, name="Balie")
    sms = sandbox_account(municipality, name="Oud nummer")
    quiet = sandbox_account(municipality, name="Stil")
    ChannelAccount.objects.filter(pk=sms.pk).update(enabled=False, disabled_at=utc("2026-03-04T00:00:00"))

    first = ticket(balie, "2026-02-28T23:30:00", status=Status.RESOLVED, response_minutes=10,
                   resolved="2026-03-02T10:00:00")  # 1 March 00:30 here: in
    second = ticket(balie, "2026-03-10T09:00:00", status=Status.OPEN, response_minutes=30)
    ticket(balie, "2026-03-20T09:00:00", status=Status.PENDING, response_minutes=120)
    ticket(balie, "2026-03-31T21:30:00", status=Status.NEW)  # 31 March 23:30 summer time: in, not answered
    ticket(balie, "2026-03-31T22:30:00", status=Status.NEW)  # 1 April 00:30: out, but open now
    ticket(balie, "2026-02-28T22:59:00", status=Status.RESOLVED, response_minutes=1,
           resolved="2026-03-05T12:00:00")  # 28 Feb 23:59: not new, but resolved in March
    ticket(balie, "2026-02-10T10:00:00", status=Status.CLOSED, response_minutes=5, resolved="2026-02-20T10:00:00")
    old = ticket(sms, "2026-03-05T08:00:00", status=Status.RESOLVED, response_minutes=60,
                 resolved="2026-03-06T08:00:00")

    message(first, "2026-02-28T23:30:00", Direction.INBOUND)
    message(first, "2026-02-28T23:40:00", Direction.OUTBOUND, status=DeliveryStatus.DELIVERED)
    message(second, "2026-03-10T09:00:00", Direction.INBOUND)
    message(second, "2026-03-10T09:30:00", Direction.OUTBOUND, status=DeliveryStatus.SENT)
    message(second, "2026-03-10T09:31:00", Direction.OUTBOUND, status=DeliveryStatus.FAILED)  # not counted
    message(second, "2026-03-10T09:32:00", Direction.OUTBOUND, kind=Kind.NOTE)  # not counted
    message(second, "2026-03-31T21:59:59", Direction.INBOUND)
    message(second, "2026-03-31T22:00:00", Direction.INBOUND)  # 1 April: out
    message(second, "2026-02-28T22:59:59", Direction.INBOUND)  # 28 February: out
    message(old, "2026-03-05T08:00:00", Direction.INBOUND)
    message(old, "2026-03-05T09:00:00", Direction.OUTBOUND, status=DeliveryStatus.READ)

    for at in ("2026-02-28T23:00:00", "2026-03-15T12:00:00", "2026-03-31T21:59:00"):  # in
        sunset_contact(sms, at)
    for at in ("2026-03-31T22:00:00", "2026-02-28T22:59:59"):  # out
        sunset_contact(sms, at)

    # Another municipality's busy month is never counted.
    other = sandbox_account(MunicipalityFactory(), name="Balie")
    theirs = ticket(other, "2026-03-10T09:00:00", status=Status.OPEN, response_minutes=1)
    message(theirs, "2026-03-10T09:00:00", Direction.INBOUND)
    sunset_contact(other, "2026-03-10T09:00:00")
    return {"balie": balie, "sms": sms, "quiet": quiet}


def client_for(municipality: Municipality, role: str) -> Client:
    client = Client()
    client.force_login(MembershipFactory(municipality=municipality, role=role).user)
    return client


# --- who may see it ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("role", "status"), [(Role.AGENT, 403), (Role.SUPERVISOR, 200), (Role.ADMIN, 200)])
def test_reports_are_for_supervisors_and_admins(municipality, role, status):
    client = client_for(municipality, role)
    assert client.get("/reports/").status_code == status
    assert client.get("/reports/export.csv").status_code == status
    assert client.post("/reports/").status_code == (405 if status == 200 else 403)


def test_reports_need_a_login(db):
    assert Client().get("/reports/").status_code == 302
    assert Client().get("/reports/export.csv").status_code == 302


# --- the figures ---------------------------------------------------------------------------------------------
class TableParser(HTMLParser):
    """{row's data-account: {field: data-value or data-seconds}} from the report table."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self.row: str | None = None
        self.table: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("id") == "report-table":
            self.table = {k: v or "" for k, v in found.items()}
        elif tag == "tr" and "data-account" in found:
            self.row = found["data-account"]
            self.rows[self.row] = {}
        elif tag == "td" and self.row and "data-field" in found:
            self.rows[self.row][found["data-field"]] = found.get("data-value", found.get("data-seconds", "")) or ""


def table(content: bytes) -> TableParser:
    parser = TableParser()
    parser.feed(content.decode())
    return parser


EXPECTED = {  # per account: new, in, out, resolved, median s, p90 s, open now, sunset
    "balie": ("4", "3", "2", "2", "1800", "6120", "4", "0"),  # waits 10, 30, 120 min: p90 = 30 + 0.8 × 90 min
    "sms": ("1", "1", "1", "1", "3600", "3600", "0", "3"),
    "quiet": ("0", "0", "0", "0", "", "", "0", "0"),
    "total": ("5", "4", "3", "3", "2700", "6120", "4", "3"),  # waits 10, 30, 60, 120: p90 = 60 + 0.7 × 60 min
}
FIELDS = ("new_tickets", "inbound", "outbound", "resolved", "first_response_median", "first_response_p90", "backlog",
          "sunset_contacts")


def test_the_figures_of_a_month_in_amsterdam(municipality, month):
    page = client_for(municipality, Role.SUPERVISOR).get(f"/reports/?{MARCH}")

    assert page.status_code == 200
    parsed = table(page.content)
    assert (parsed.table["data-first"], parsed.table["data-last"]) == ("2026-03-01", "2026-03-31")
    ids = {str(account.pk): name for name, account in month.items()} | {"total": "total"}
    assert set(parsed.rows) == set(ids), "every account of ours, and only ours, plus the total"
    for key, cells in parsed.rows.items():
        assert tuple(cells[field] for field in FIELDS) == EXPECTED[ids[key]], ids[key]
    # The switched-off account says so; names are shown as entered.
    html = page.content.decode()
    assert "data-switched-off" in html.split(f'data-account="{month["sms"].pk}"')[1].split("</tr>")[0]
    assert "<caption>" in html and 'scope="row"' in html and 'scope="col"' in html


def test_one_day_boundaries_follow_the_local_day(municipality, month):
    """31 March (23 hours after the clocks went forward on the 29th) holds what arrived until 22:00 UTC."""
    result = report(municipality, Period(first=date(2026, 3, 31), last=date(2026, 3, 31)))
    balie = next(row.figures for row in result.rows if row.account == month["balie"])
    sms = next(row.figures for row in result.rows if row.account == month["sms"])
    assert (balie.new_tickets, balie.inbound, sms.sunset_contacts) == (1, 1, 1)
    result = report(municipality, Period(first=date(2026, 3, 1), last=date(2026, 3, 1)))
    balie = next(row.figures for row in result.rows if row.account == month["balie"])
    sms = next(row.figures for row in result.rows if row.account == month["sms"])
    assert (balie.new_tickets, balie.inbound, balie.outbound, sms.sunset_contacts) == (1, 1, 1, 1)
    assert balie.first_response_median == balie.first_response_p90 == timedelta(minutes=10)


def test_the_csv_matches_the_page(municipality, month):
    client = client_for(municipality, Role.SUPERVISOR)
    parsed = table(client.get(f"/reports/?{MARCH}").content)
    response = client.get(f"/reports/export.csv?{MARCH}")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "2026-03-01-2026-03-31" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    columns = ("new_tickets", "inbound_messages", "outbound_messages", "resolved_tickets",
               "first_response_median_seconds", "first_response_p90_seconds", "open_backlog", "sunset_contacts")
    from_csv = {row["channel_id"] or "total": tuple(row[c] for c in columns) for row in rows}
    from_page = {key: tuple(cells[f] for f in FIELDS) for key, cells in parsed.rows.items()}
    assert from_csv == from_page
    assert [row["channel"] for row in rows] == ["Balie", "Oud nummer", "Stil", "total"]
    assert [row["switched_off"] for row in rows[:3]] == ["0", "1", "0"]


def test_a_name_a_spreadsheet_would_run_is_written_as_text(municipality):
    sandbox_account(municipality, name="=HYPERLINK(\"https://evil.example\")")
    response = client_for(municipality, Role.SUPERVISOR).get("/reports/export.csv")
    [row, _total] = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert row["channel"].startswith("'=")


def test_the_last_7_days_count_from_today_here(municipality, account):
    sunset_contact(account, timezone.now().astimezone(UTC).replace(tzinfo=None).isoformat())
    today = timezone.localdate()
    parsed = table(client_for(municipality, Role.SUPERVISOR).get("/reports/?period=7").content)
    assert parsed.table["data-first"] == (today - timedelta(days=6)).isoformat()
    assert parsed.table["data-last"] == today.isoformat()
    assert parsed.rows[str(account.pk)]["sunset_contacts"] == "1"
    assert table(client_for(municipality, Role.SUPERVISOR).get("/reports/").content).table["data-first"] == (
        today - timedelta(days=29)).isoformat(), "the last 30 days by default"


@pytest.mark.parametrize("query", ["period=dates&since=2026-03-31&until=2026-03-01", "period=dates&since=nonsense",
                                   "period=dates", "period=dates&since=1066-10-14", "period=dates&until=2026-03-01"])
def test_a_period_that_does_not_parse_is_said_so(municipality, query):
    client = client_for(municipality, Role.SUPERVISOR)
    page = client.get(f"/reports/?{query}")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="report-period-fallback"' in html and re.search(r'aria-describedby="[^"]*-error"', html)
    assert client.get(f"/reports/export.csv?{query}").status_code == 400


def test_the_response_times_in_python_equal_postgresql(municipality, month, monkeypatch):
    """SQLite (the embedded default) has no percentile_cont: the fallback computes the same from one query."""
    period = Period(first=date(2026, 3, 1), last=date(2026, 3, 31))
    in_database = report(municipality, period)
    assert connection.vendor == "postgresql"
    monkeypatch.setattr(selectors, "connection", SimpleNamespace(vendor="sqlite"))
    in_python = report(municipality, period)
    assert in_python == in_database
    assert percentile([], 0.5) is None
    assert percentile([timedelta(minutes=m) for m in (10, 30, 60, 120)], 0.9) == timedelta(minutes=102)


# --- cost ----------------------------------------------------------------------------------------------------
def busy_account(municipality: Municipality, name: str) -> None:
    account = sandbox_account(municipality, name=name)
    now = timezone.now().astimezone(UTC).replace(tzinfo=None)
    for minutes in (5, 50, 500):
        made = ticket(account, (now - timedelta(days=1)).isoformat(), response_minutes=minutes)
        message(made, (now - timedelta(hours=20)).isoformat(), Direction.INBOUND)
        message(made, (now - timedelta(hours=19)).isoformat(), Direction.OUTBOUND, status=DeliveryStatus.SENT)
    sunset_contact(account, (now - timedelta(hours=2)).isoformat())


def test_the_query_count_does_not_grow_with_accounts_or_tickets(municipality, django_assert_max_num_queries):
    client = client_for(municipality, Role.SUPERVISOR)
    busy_account(municipality, "Eerste")
    client.get("/reports/")  # first-request work (sessions, caches) is not what is compared
    with CaptureQueriesContext(connection) as one:
        assert client.get("/reports/").status_code == 200
    for n in range(6):
        busy_account(municipality, f"Kanaal {n}")
    with CaptureQueriesContext(connection) as seven:
        assert client.get("/reports/").status_code == 200
    assert len(seven) == len(one)
    assert len(table(client.get("/reports/").content).rows) == 8
    # Today 10: session, user, membership (twice), the bell's count, and the report's five.
    with django_assert_max_num_queries(12):
        client.get("/reports/?period=90")
    with django_assert_max_num_queries(12):
        client.get("/reports/export.csv?period=90")
