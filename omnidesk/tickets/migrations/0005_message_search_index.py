"""Full-text search over messages (Dutch stemming): a GIN index on the same expression the inbox search uses.

PostgreSQL only; the embedded SQLite default searches by substring and needs no index.
"""
from django.db import migrations

INDEX = "message_text_search_nl"


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON tickets_message "
            "USING gin (to_tsvector('dutch'::regconfig, COALESCE(text, '')))"
        )


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0004_threads_and_poll_backoff")]
    operations = [migrations.RunPython(create, drop)]
