"""The inbox: views with counts, filters, full-text search (Dutch), sorting by waiting time; always one municipality."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from omnidesk.tenants.models import Team
from omnidesk.tickets.models import Priority, Status, Tag, Ticket
from omnidesk.tickets.services import reply_create, ticket_assign, ticket_set_status
from tests.conftest import new_resident_id, post_sandbox
from tests.factories import MembershipFactory, MunicipalityFactory, sandbox_account


@pytest.fixture
def write(client, account):  # type: ignore[no-untyped-def]
    counter = iter(range(10_000))

    def send(text: str, name: str = "", resident: str | None = None) -> Ticket:
        payload = {"id": f"m{next(counter)}", "text": text, **({"name": name} if name else {})}
        response = post_sandbox(client, account, payload, resident or new_resident_id())
        assert response.status_code == 200, response.content
        return Ticket.objects.order_by("-last_activity_at", "-id").first()

    return send


def numbers(response) -> list[int]:  # type: ignore[no-untyped-def]
    return [row.number for row in response.context["page"]]


def test_views_and_their_counts(agent_client, agent, municipality, write):
    colleague = MembershipFactory(municipality=municipality).user
    mine, theirs, nobodys, done = write("a"), write("b"), write("c"), write("d")
    ticket_assign(ticket=mine, assignee=agent, actor=agent)
    ticket_assign(ticket=theirs, assignee=colleague, actor=agent)
    ticket_set_status(ticket=done, status=Status.RESOLVED, actor=agent)
    team = Team.objects.create(municipality=municipality, name="Burgerzaken")
    team.members.add(agent)
    Ticket.objects.filter(pk=theirs.pk).update(team=team)

    assert set(numbers(agent_client.get("/?view=mine"))) == {mine.number}
    assert set(numbers(agent_client.get("/?view=unassigned"))) == {nobodys.number, done.number}
    assert set(numbers(agent_client.get("/?view=team"))) == {theirs.number}
    counts = agent_client.get("/counts/").json()
    # Counts are of active tickets (the resolved one is not waiting for anyone).
    assert counts["views"] == {"all": 3, "unassigned": 1, "mine": 1, "team": 1}
    page = agent_client.get("/").content.decode()
    assert 'data-count-view="unassigned">1<' in page


def test_full_text_search_understands_dutch_and_finds_names_and_numbers(agent_client, write):
    permit = write("Ik wil graag twee parkeervergunningen aanvragen voor de Dorpsstraat.", name="Fatima el Amrani")
    bins = write("De containers zijn niet geleegd.", name="Piet de Boer")
    assert numbers(agent_client.get("/?q=parkeervergunning")) == [permit.number]  # stemmed: -en
    assert numbers(agent_client.get("/?q=container")) == [bins.number]
    assert numbers(agent_client.get("/?q=amrani")) == [permit.number]
    assert numbers(agent_client.get(f"/?q=%23{bins.number}")) == [bins.number]
    assert numbers(agent_client.get("/?q=paspoort")) == []
    assert numbers(agent_client.get("/?q=%22niet+geleegd%22")) == [bins.number]  # web search syntax: phrases


def test_search_never_crosses_municipalities(agent_client, write):
    other = MunicipalityFactory()
    other_account = sandbox_account(other)
    from django.test import Client

    post_sandbox(Client(), other_account, {"id": "x1", "text": "Geheime klacht over de buren"}, new_resident_id())
    assert numbers(agent_client.get("/?q=buren")) == []


def test_filters_on_priority_tag_team_and_dates(agent_client, municipality, write):
    urgent, plain = write("Gaslucht in de straat!"), write("Vraag over de bibliotheek")
    Ticket.objects.filter(pk=urgent.pk).update(priority=Priority.URGENT)
    tag = Tag.objects.create(municipality=municipality, name="afval")
    plain.tags.add(tag)
    assert numbers(agent_client.get("/?priority=urgent")) == [urgent.number]
    assert numbers(agent_client.get(f"/?tag={tag.pk}")) == [plain.number]
    today = timezone.localdate()
    assert set(numbers(agent_client.get(f"/?created_after={today}"))) == {urgent.number, plain.number}
    assert numbers(agent_client.get(f"/?created_before={today - timedelta(days=1)}")) == []
    other_tag = Tag.objects.create(municipality=MunicipalityFactory(), name="afval")
    assert agent_client.get(f"/?tag={other_tag.pk}").context["filter"].form.errors  # not a choice here


def test_sorting_by_waiting_time_puts_the_longest_waiting_resident_first(agent_client, agent, write):
    first, answered, last = write("eerste"), write("beantwoord"), write("laatste")
    now = timezone.now()
    Ticket.objects.filter(pk=first.pk).update(last_inbound_at=now - timedelta(hours=5), last_activity_at=now - timedelta(hours=5))
    Ticket.objects.filter(pk=last.pk).update(last_inbound_at=now - timedelta(hours=1), last_activity_at=now - timedelta(hours=1))
    reply_create(ticket=answered, author=agent, text="Antwoord")
    assert numbers(agent_client.get("/?sort=waiting")) == [first.number, last.number, answered.number]
    assert numbers(agent_client.get("/"))[0] == answered.number  # latest activity first


def test_counts_need_a_member(client, db):
    response = client.get("/counts/")
    assert response.status_code in (302, 403)


def test_priority_tags_and_team_are_edited_in_place_with_events(agent_client, municipality, write):
    ticket = write("Vraag")
    team = Team.objects.create(municipality=municipality, name="Burgerzaken")
    headers = {"Accept": "application/json"}
    assert agent_client.post(f"/tickets/{ticket.number}/priority/", {"priority": "high"}, headers=headers).json()["ok"]
    tagged = agent_client.post(f"/tickets/{ticket.number}/tags/", {"tags": "Afval, grofvuil ,afval"}, headers=headers)
    assert tagged.json()["tags"] == ["afval", "grofvuil"]
    assert agent_client.post(f"/tickets/{ticket.number}/team/", {"team": team.pk}, headers=headers).json()["ok"]
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.team, sorted(ticket.tags.values_list("name", flat=True))) == (
        "high", team, ["afval", "grofvuil"])
    events = [m.metadata["event"] for m in ticket.messages.filter(kind="event").order_by("id")]
    assert events == ["priority", "tags", "team"]
    page = agent_client.get(f"/tickets/{ticket.number}/").content.decode()
    assert "heeft de prioriteit gewijzigd naar Hoog" in page  # Dutch, the default
    other_team = Team.objects.create(municipality=MunicipalityFactory(), name="Elders")
    assert agent_client.post(f"/tickets/{ticket.number}/team/", {"team": other_team.pk}, headers=headers).status_code == 400


def test_bulk_changes_apply_to_the_selected_tickets_of_this_municipality_only(agent_client, agent, municipality, write):
    a, b, c = write("a"), write("b"), write("c")
    foreign = Ticket.objects.create(municipality=MunicipalityFactory(), number=a.number + 100, contact=a.contact,
                                    identity=a.identity, channel_account=a.channel_account,
                                    last_activity_at=timezone.now())
    headers = {"Accept": "application/json"}
    numbers = f"{a.number},{b.number},{foreign.number}"
    assert agent_client.post("/bulk/", {"tickets": numbers, "action": "assign", "assignee": "me"},
                             headers=headers).json() == {"ok": True, "changed": 2}
    assert agent_client.post("/bulk/", {"tickets": numbers, "action": "tag", "tag": "Spoed"}, headers=headers).json()["ok"]
    assert agent_client.post("/bulk/", {"tickets": numbers, "action": "status", "status": "resolved"},
                             headers=headers).json()["ok"]
    for ticket in (a, b):
        ticket.refresh_from_db()
        assert (ticket.assignee, ticket.status, list(ticket.tags.values_list("name", flat=True))) == (
            agent, "resolved", ["spoed"])
    c.refresh_from_db()
    foreign.refresh_from_db()
    assert c.assignee is None and c.status == "new" and foreign.assignee is None
    assert agent_client.post("/bulk/", {"tickets": numbers, "action": "tag", "tag": ""}, headers=headers).status_code == 400


def test_images_are_previewed_in_the_thread_and_other_files_are_links(agent_client, account):
    from datetime import datetime, timezone as tz

    from omnidesk.inbound.services import ingest_events
    from omnidesk.plugin_api import IdentityKind, IdentityRef, InboundAttachment, InboundMessage

    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc000"
                        "00030101001805d8a70000000049454e44ae426082")
    ingest_events(account=account, events=(InboundMessage(
        provider_message_id="photo-1", sender=IdentityRef(IdentityKind.VISITOR, "sandbox-" + "a" * 32),
        sent_at=datetime(2026, 11, 29, tzinfo=tz.utc), text="Kijk",
        attachments=(InboundAttachment(filename="lantaarnpaal.png", content_type="image/png", content=png),
                     InboundAttachment(filename="brief.pdf", content_type="application/pdf", content=b"%PDF-1.4"))),))
    ticket = Ticket.objects.get()
    html = agent_client.get(f"/tickets/{ticket.number}/").content.decode()
    assert html.count('<img class="preview"') == 1 and 'alt="lantaarnpaal.png"' in html and "brief.pdf" in html


def test_the_kind_of_channel_filter(agent_client, municipality, write):
    from omnidesk.channel_accounts.services import channel_account_create
    from omnidesk.inbound.services import ingest_events
    from omnidesk.plugin_api import IdentityKind, IdentityRef, InboundMessage
    from datetime import datetime, timezone as tz

    sandbox_ticket = write("Via de proefomgeving")
    chat = channel_account_create(municipality=municipality, plugin_key="livechat", name="Website", config={})
    ingest_events(account=chat, events=(InboundMessage(
        provider_message_id="lc-1", sender=IdentityRef(IdentityKind.VISITOR, "livechat-" + "b" * 32), text="Via de chat",
        sent_at=datetime(2026, 11, 29, tzinfo=tz.utc)),))
    chat_ticket = Ticket.objects.get(channel_account=chat)
    assert numbers(agent_client.get("/?channel=livechat")) == [chat_ticket.number]
    assert numbers(agent_client.get("/?channel=sandbox")) == [sandbox_ticket.number]
    choices = dict(agent_client.get("/").context["filter"].filters["channel"].extra["choices"])
    assert set(choices) == {"livechat", "sandbox"}
