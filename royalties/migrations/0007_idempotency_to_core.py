"""Idempotency records move to the ground floor (core), keyed by owner rather than brand."""

from django.db import migrations


def copy_records(apps, schema_editor):
    old = apps.get_model("royalties", "IdempotencyRecord")
    new = apps.get_model("core", "IdempotencyRecord")
    new.objects.bulk_create(
        (
            new(
                owner=f"brand:{record.brand_id}",
                key=record.key,
                request_sha256=record.request_sha256,
                status_code=record.status_code,
                response=record.response,
                created_at=record.created_at,
            )
            for record in old.objects.iterator()
        ),
        batch_size=1000,
    )


def copy_back(apps, schema_editor):
    old = apps.get_model("royalties", "IdempotencyRecord")
    new = apps.get_model("core", "IdempotencyRecord")
    for record in new.objects.filter(owner__startswith="brand:").iterator():
        old.objects.create(
            brand_id=int(record.owner.split(":", 1)[1]),
            key=record.key,
            request_sha256=record.request_sha256,
            status_code=record.status_code,
            response=record.response,
            created_at=record.created_at,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("royalties", "0006_work_stamp"),
    ]

    operations = [
        migrations.RunPython(copy_records, copy_back),
        migrations.RemoveConstraint(model_name="idempotencyrecord", name="idempotency_once"),
        migrations.DeleteModel(name="IdempotencyRecord"),
    ]
