"""Per-municipality event numbers (Event.seq) and the stream counter; existing events are numbered in id order."""
from django.db import migrations, models
import django.db.models.deletion


def number_existing(apps, schema_editor):  # type: ignore[no-untyped-def]
    Event = apps.get_model("realtime", "Event")
    Stream = apps.get_model("realtime", "Stream")
    municipality_ids = Event.objects.values_list("municipality_id", flat=True).distinct()
    for municipality_id in municipality_ids:
        seq = 0
        ids = Event.objects.filter(municipality_id=municipality_id).order_by("id").values_list("id", flat=True)
        batch = []
        for event_id in ids.iterator(chunk_size=2000):
            seq += 1
            batch.append(Event(id=event_id, seq=seq))
            if len(batch) == 2000:
                Event.objects.bulk_update(batch, ["seq"])
                batch = []
        Event.objects.bulk_update(batch, ["seq"])
        Stream.objects.create(municipality_id=municipality_id, head=seq)


class Migration(migrations.Migration):

    dependencies = [
        ("realtime", "0001_initial"),
        ("tenants", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="seq",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="Stream",
            fields=[
                ("municipality", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True,
                                                      related_name="+", serialize=False, to="tenants.municipality")),
                ("head", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(number_existing, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(condition=models.Q(("seq__isnull", True)), fields=["municipality", "id"],
                               name="event_unnumbered_idx"),
        ),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.UniqueConstraint(fields=("municipality", "seq"), name="event_seq_unique"),
        ),
    ]
