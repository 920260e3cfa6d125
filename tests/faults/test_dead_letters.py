"""Dead letters in the Django admin: platform staff see the outbound messages that failed for good, with the reason,
and send them again (the same service as an agent's "send again", plus an audit entry)."""
from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission

from omnidesk.audit.models import AuditEntry
from omnidesk.tickets.models import Message, Ticket
from omnidesk.tickets.services import outbound_mark_failed, outbound_mark_sent, reply_create
from tests.conftest import new_resident_id, post_sandbox
from tests.factories import UserFactory, sandbox_account

LIST = "/admin/tickets/message/"


@pytest.fixture
def letters(db, municipality, client, agent) -> dict[str, Message]:
    account = sandbox_account(municipality, delivery_url="http://127.0.0.1:9/never")
    assert post_sandbox(client, account, {"id": "in-1", "text": "Hallo"}, new_resident_id()).status_code == 200
    ticket = Ticket.objects.get(channel_account=account)
    refused, exhausted, sent, queued = (reply_create(ticket=ticket, author=agent, text=f"Antwoord {n}") for n in range(4))
    outbound_mark_failed(message=refused, code="131026", reason="The number does not use WhatsApp.")
    Message.objects.filter(pk=exhausted.pk).update(attempts=8)
    outbound_mark_failed(message=Message.objects.get(pk=exhausted.pk), code="503", reason="The endpoint answered HTTP 503.")
    outbound_mark_sent(message=sent, provider_message_id="peer-1", status="sent")
    inbound = Message.objects.get(ticket=ticket, direction="inbound")
    return {"refused": refused, "exhausted": exhausted, "sent": sent, "queued": queued, "inbound": inbound}


def _listed_ids(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'name="_selected_action" value="(\d+)"', html)}


def test_staff_see_only_dead_letters_with_their_reason_and_attempts(client, letters):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(LIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert _listed_ids(html) == {letters["refused"].pk, letters["exhausted"].pk}
    assert "The number does not use WhatsApp." in html and "131026" in html
    detail = client.get(f"{LIST}{letters['exhausted'].pk}/change/")
    assert detail.status_code == 200
    assert "The endpoint answered HTTP 503." in detail.content.decode()
    assert client.get(f"{LIST}{letters['sent'].pk}/change/").status_code == 302, "not a dead letter: not found here"


def test_send_again_queues_the_dead_letters_through_the_service_and_audits_it(client, letters,
                                                                            django_capture_on_commit_callbacks):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    chosen = [letters["refused"].pk, letters["exhausted"].pk]
    with django_capture_on_commit_callbacks() as scheduled:
        response = client.post(LIST, {"action": "retry", "_selected_action": chosen})
    assert response.status_code == 302
    for pk in chosen:
        message = Message.objects.get(pk=pk)
        assert (message.delivery_status, message.attempts, message.error_code) == ("queued", 0, "")
        entry = AuditEntry.objects.get(action="message.requeued", target_id=str(pk))
        assert entry.actor == staff and entry.municipality_id == message.municipality_id
        assert entry.changes["delivery_status"] == ["failed", "queued"]
    # One delivery task per message (and the dashboards' events), scheduled for after the commit.
    assert len(scheduled) >= 2
    assert _listed_ids(client.get(LIST).content.decode()) == set()


def test_the_action_needs_the_change_permission_and_the_page_is_staff_only(client, letters):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_message"))
    client.force_login(viewer)
    page = client.get(LIST)
    assert page.status_code == 200 and 'value="retry"' not in page.content.decode()
    client.post(LIST, {"action": "retry", "_selected_action": [letters["refused"].pk]})
    assert Message.objects.get(pk=letters["refused"].pk).delivery_status == "failed"

    client.force_login(UserFactory(is_staff=False))
    assert client.get(LIST).status_code == 302  # to the admin login
