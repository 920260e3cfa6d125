"""Routing rules on new tickets, through a real inbound webhook: keywords, channel, order, team, tags, priority."""
from __future__ import annotations

import uuid

import pytest

from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.realtime.presence import mark_present
from omnidesk.tenants.models import Municipality, Role, Team
from omnidesk.tickets.models import Kind, Priority, RoutingRule, Tag, Ticket
from omnidesk.tickets.routing_rules import fold, keyword_lines, keyword_pattern
from omnidesk.tickets.rules_services import rule_create, tag_for_name
from tests.conftest import new_resident_id, post_sandbox
from tests.factories import MembershipFactory, MunicipalityFactory, sandbox_account


@pytest.fixture
def write(client):  # type: ignore[no-untyped-def]
    """A new resident writes `text` to `account`; returns the new ticket."""

    def send(account: ChannelAccount, text: str) -> Ticket:
        before = set(Ticket.objects.values_list("pk", flat=True))
        response = post_sandbox(client, account, {"id": uuid.uuid4().hex, "text": text}, new_resident_id())
        assert response.status_code == 200, response.content
        return Ticket.objects.exclude(pk__in=before).get()

    return send


@pytest.fixture
def burgerzaken(municipality):  # type: ignore[no-untyped-def]
    return Team.objects.create(municipality=municipality, name="Burgerzaken")


@pytest.fixture
def afval(municipality):  # type: ignore[no-untyped-def]
    return Team.objects.create(municipality=municipality, name="Afval")


def rule(municipality, name: str = "Regel", **fields):  # type: ignore[no-untyped-def]
    tag = fields.pop("tag", None)
    if isinstance(tag, str):
        tag = tag_for_name(municipality=municipality, name=tag)
    return rule_create(municipality=municipality, actor=None, name=name, tag=tag, **fields)


def tags_of(ticket: Ticket) -> set[str]:
    return set(ticket.tags.values_list("name", flat=True))


def test_a_keyword_routes_to_a_team_and_adds_a_tag_and_priority(municipality, account, burgerzaken, write):
    rule(municipality, keywords="paspoort\nidentiteitskaart", team=burgerzaken, tag="reisdocument",
         priority=Priority.HIGH)
    ticket = write(account, "Goedemorgen, ik ben mijn paspoort kwijt.")
    ticket.refresh_from_db()
    assert ticket.team == burgerzaken
    assert tags_of(ticket) == {"reisdocument"}
    assert ticket.priority == Priority.HIGH
    # Like an agent's triage, each change shows in the ticket's history, made by the system.
    events = {m.metadata["event"]: m.metadata for m in ticket.messages.filter(kind=Kind.EVENT)}
    assert set(events) == {"team", "tags", "priority"}
    assert events["team"]["team"] == "Burgerzaken" and events["team"]["actor"] == ""
    assert events["tags"]["tags"] == "reisdocument" and events["priority"]["priority"] == "high"


def test_a_message_without_a_keyword_is_left_alone(municipality, account, burgerzaken, write):
    rule(municipality, keywords="paspoort", team=burgerzaken, tag="reisdocument", priority=Priority.HIGH)
    ticket = write(account, "Wanneer wordt de groene container geleegd?")
    ticket.refresh_from_db()
    assert ticket.team is None and tags_of(ticket) == set() and ticket.priority == Priority.NORMAL
    assert not ticket.messages.filter(kind=Kind.EVENT).exists()


@pytest.mark.parametrize("text, matches", [
    ("mijn paspoort kwijt", True),
    ("Paspoort kwijt!", True),
    ("PASPOORT.", True),
    ("(paspoort)", True),
    ("mijn pàspoort", True),  # accents do not matter
    ("paspoortfoto maken", False),  # a longer word is another word
    ("reispaspoort", False),
    ("", False),
])
def test_keywords_match_whole_words_only(municipality, account, burgerzaken, write, text, matches):
    rule(municipality, keywords="paspoort", team=burgerzaken)
    ticket = write(account, text or "…")
    ticket.refresh_from_db()
    assert (ticket.team == burgerzaken) is matches


def test_a_longer_word_matches_when_it_is_a_keyword_itself(municipality, account, burgerzaken, write):
    rule(municipality, keywords="paspoort\npaspoortfoto", team=burgerzaken)
    ticket = write(account, "Waar kan ik een paspoortfoto laten maken?")
    ticket.refresh_from_db()
    assert ticket.team == burgerzaken


def test_a_phrase_matches_across_any_white_space(municipality, account, burgerzaken, write):
    rule(municipality, keywords="  verhuizing   doorgeven ", team=burgerzaken)
    ticket = write(account, "Ik wil mijn Verhuizing\ndoorgeven.")
    ticket.refresh_from_db()
    assert ticket.team == burgerzaken
    assert write(account, "verhuizing, doorgeven").team is None  # a comma is not white space


def test_a_channel_limited_rule_does_not_match_another_channel(municipality, account, burgerzaken, write):
    other = sandbox_account(municipality, name="Tweede sandbox")
    rule(municipality, keywords="paspoort", channel_account=other, team=burgerzaken, tag="reisdocument")
    on_account = write(account, "paspoort kwijt")
    on_other = write(other, "paspoort kwijt")
    assert Ticket.objects.get(pk=on_account.pk).team is None and tags_of(on_account) == set()
    assert Ticket.objects.get(pk=on_other.pk).team == burgerzaken and tags_of(on_other) == {"reisdocument"}


def test_a_channel_rule_without_keywords_matches_every_message_of_that_channel(municipality, account, afval, write):
    rule(municipality, channel_account=account, team=afval)
    assert Ticket.objects.get(pk=write(account, "Hallo").pk).team == afval


def test_the_first_matching_rule_with_a_team_decides_the_team(municipality, account, burgerzaken, afval, write):
    rule(municipality, "Alleen een tag", keywords="kwijt", tag="kwijt")
    rule(municipality, "Afval eerst", keywords="container", team=afval)
    rule(municipality, "Burgerzaken", keywords="paspoort", team=burgerzaken)
    ticket = write(account, "Mijn paspoort lag in de container, nu is het kwijt")
    ticket.refresh_from_db()
    assert ticket.team == afval
    assert tags_of(ticket) == {"kwijt"}


def test_tags_add_up_and_the_highest_priority_wins(municipality, account, write):
    rule(municipality, "Laag", keywords="vraag", tag="vraag", priority=Priority.LOW)
    rule(municipality, "Dringend", keywords="spoed", tag="spoed", priority=Priority.URGENT)
    rule(municipality, "Hoog", keywords="vraag", priority=Priority.HIGH)
    ticket = write(account, "Spoed: een vraag")
    ticket.refresh_from_db()
    assert tags_of(ticket) == {"vraag", "spoed"}
    assert ticket.priority == Priority.URGENT
    low = write(account, "Een vraag zonder haast, vraag ik")
    low.refresh_from_db()
    assert low.priority == Priority.HIGH  # both "vraag" rules match: high beats low


def test_a_rule_may_set_a_lower_priority(municipality, account, write):
    rule(municipality, keywords="nieuwsbrief", priority=Priority.LOW)
    ticket = write(account, "Graag uitschrijven voor de nieuwsbrief")
    assert Ticket.objects.get(pk=ticket.pk).priority == Priority.LOW


def test_moving_a_rule_changes_which_team_wins(municipality, account, burgerzaken, afval, write):
    from omnidesk.tickets.rules_services import rule_move

    rule(municipality, "Afval", keywords="container", team=afval)
    second = rule(municipality, "Burgerzaken", keywords="paspoort", team=burgerzaken)
    assert Ticket.objects.get(pk=write(account, "paspoort in de container").pk).team == afval
    assert rule_move(rule=second, actor=None, direction="up")
    assert Ticket.objects.get(pk=write(account, "paspoort in de container").pk).team == burgerzaken


def test_inactive_rules_are_ignored(municipality, account, burgerzaken, write):
    rule(municipality, keywords="paspoort", team=burgerzaken, tag="reisdocument", active=False)
    ticket = write(account, "paspoort kwijt")
    ticket.refresh_from_db()
    assert ticket.team is None and tags_of(ticket) == set()


def test_the_accounts_team_applies_when_no_rule_matches_and_a_rule_overrides_it(
    municipality, account, burgerzaken, afval, write
):
    ChannelAccount.objects.filter(pk=account.pk).update(team=afval)
    account.refresh_from_db()
    rule(municipality, keywords="paspoort", team=burgerzaken)
    plain = write(account, "Wanneer komt de vuilniswagen?")
    plain.refresh_from_db()
    assert plain.team == afval
    assert not plain.messages.filter(kind=Kind.EVENT).exists()  # the channel's own team, silently as before
    routed = write(account, "paspoort kwijt")
    routed.refresh_from_db()
    assert routed.team == burgerzaken
    # A rule without a team keeps the account's team, and still tags.
    rule(municipality, keywords="grofvuil", tag="grofvuil")
    tagged = write(account, "grofvuil ophalen")
    tagged.refresh_from_db()
    assert tagged.team == afval and tags_of(tagged) == {"grofvuil"}


def test_another_municipalitys_rules_never_apply(municipality, account, write):
    elsewhere = MunicipalityFactory()
    team = Team.objects.create(municipality=elsewhere, name="Elders")
    rule(elsewhere, keywords="paspoort", team=team, tag="elders")
    ticket = write(account, "paspoort kwijt")
    ticket.refresh_from_db()
    assert ticket.team is None and tags_of(ticket) == set()
    assert not Tag.objects.filter(municipality=municipality).exists()


def test_a_rules_team_restricts_automatic_assignment_to_its_members(municipality, account, burgerzaken, write):
    Municipality.objects.filter(pk=municipality.pk).update(auto_assign=True)
    # Without routing, round robin would pick `outsider`: no tickets yet and the lowest id.
    outsider = MembershipFactory(municipality=municipality, role=Role.AGENT).user
    member = MembershipFactory(municipality=municipality, role=Role.AGENT).user
    burgerzaken.members.add(member)
    for user in (outsider, member):
        mark_present(municipality.pk, user.pk)
    rule(municipality, keywords="paspoort", team=burgerzaken)
    assert write(account, "Ik ben mijn paspoort kwijt").assignee == member
    assert write(account, "Een andere vraag").assignee == outsider


def test_routing_costs_one_query_for_any_number_of_rules_that_do_not_match(municipality, account, burgerzaken, write):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    write(account, "opwarmen")  # first use of the account and the municipality: caches filled
    with CaptureQueriesContext(connection) as without_rules:
        write(account, "niets bijzonders")
    for n in range(30):
        rule(municipality, f"Regel {n}", keywords=f"woord{n}\nzin nummer {n}", team=burgerzaken, tag=f"tag{n}")
    with CaptureQueriesContext(connection) as with_rules:
        write(account, "niets bijzonders")
    assert len(with_rules) == len(without_rules)  # the rules query replaces nothing, and there is only one
    assert sum("tickets_routingrule" in q["sql"] for q in with_rules.captured_queries) == 1
    ticket = write(account, "woord7 en woord12")
    assert tags_of(ticket) == {"tag7", "tag12"}


# --- the matcher itself ----------------------------------------------------------------------------------------
def test_fold_drops_case_and_accents():
    assert fold("Één ÄRGERLIJKE Café") == "een argerlijke cafe"


def test_keyword_lines_drop_blanks_and_repeats():
    assert keyword_lines("paspoort\n\n  Paspoort \nrijbewijs\n  id  kaart ") == ["paspoort", "rijbewijs", "id kaart"]


def test_keyword_pattern_escapes_what_a_resident_could_type():
    pattern = keyword_pattern("14 020\nc++\n(spoed)")
    assert pattern is not None
    assert pattern.search(fold("Bel 14 020 graag"))
    assert pattern.search(fold("ik programmeer c++ hoor"))
    assert pattern.search(fold("dit is (spoed)"))
    assert not pattern.search(fold("bel 140200"))
    assert keyword_pattern("\n  \n") is None


def test_rules_are_kept_in_order_and_their_keywords_cleaned(municipality):
    first = rule(municipality, "Een", keywords="a")
    second = rule(municipality, "Twee", keywords=" b \n\nB\nc")
    assert (first.position, second.position) == (0, 1)
    assert RoutingRule.objects.get(pk=second.pk).keywords == "b\nc"
