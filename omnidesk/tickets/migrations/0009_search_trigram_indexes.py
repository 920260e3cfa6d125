"""Trigram indexes for the substring parts of the inbox search (subject, resident's name, address), on the same
UPPER(…) expressions Django's `icontains` compares, so a search reads only the matching rows instead of every ticket
and resident (docs/benchmarks.md). PostgreSQL only (pg_trgm, a trusted extension the database owner may create);
the embedded SQLite default searches by scanning.
"""
from django.db import migrations

INDEXES = {
    "ticket_subject_trgm": "tickets_ticket (UPPER(subject::text) gin_trgm_ops)",
    "contact_name_trgm": "contacts_contact (UPPER(display_name::text) gin_trgm_ops)",
    "identity_value_trgm": "contacts_contactidentity (UPPER(value::text) gin_trgm_ops)",
}


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, target in INDEXES.items():
            table, expression = target.split(" ", 1)
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin {expression}")


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0008_deliveryevent_delivery_event_unadopted"), ("contacts", "0002_opt_out")]
    operations = [migrations.RunPython(create, drop)]
