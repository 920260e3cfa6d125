"""A NOTIFY for every statement that appends to the inbound journal, so listeners drain at once and appending costs
no statement more (inbound/listener.py). PostgreSQL only; elsewhere beat's drain finds the entries."""
from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION inbound_journal_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('omnidesk_inbound_journal', '');
    RETURN NULL;
END $$;
CREATE TRIGGER inbound_journal_notify AFTER INSERT ON inbound_journalentry
    FOR EACH STATEMENT EXECUTE FUNCTION inbound_journal_notify();
"""
DROP = """
DROP TRIGGER IF EXISTS inbound_journal_notify ON inbound_journalentry;
DROP FUNCTION IF EXISTS inbound_journal_notify();
"""


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("inbound", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
