from omnidesk.tickets.models import Message, Ticket
from tests.conftest import new_resident_id, post_sandbox


def test_sandbox_webhook_creates_ticket_and_message(client, account):
    response = post_sandbox(client, account, {"id": "m1", "text": "Hallo, mijn container is niet geleegd", "name": "Piet"})
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "messages": 1, "duplicates": 0, "statuses": 0, "profiles": 0, "reactions": 0, "consents": 0}
    ticket = Ticket.objects.get()
    assert ticket.number == 1
    assert ticket.contact.display_name == "Piet"
    assert Message.objects.get().text.startswith("Hallo")
