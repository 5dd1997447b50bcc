"""PostgreSQL guard against double booking, and the every-minute booking lifecycle schedule.

The exclusion constraint refuses two unreleased rows of one card whose [start, end) windows
overlap. It needs btree_gist (for `card_id WITH =` in a GiST index) and exists only on
PostgreSQL; on SQLite (the local demo) the service-level check under a write lock is the guard.
"""

from django.db import migrations

CONSTRAINT = "booked_card_no_overlap"
TABLE = "fleet_bookedcard"


def add_exclusion_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        f'ALTER TABLE {TABLE} ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist '
        f'(card_id WITH =, tstzrange("start", "end", \'[)\') WITH &&) WHERE (NOT released)'
    )


def drop_exclusion_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


TASK_NAME = "Booking lifecycle"
TASK = "fleet.booking.tasks.run_booking_lifecycle"


def schedule_lifecycle(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME, defaults={"task": TASK, "interval": every_minute, "enabled": True}
    )


def unschedule_lifecycle(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("fleet", "0002_booking"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(add_exclusion_constraint, drop_exclusion_constraint),
        migrations.RunPython(schedule_lifecycle, unschedule_lifecycle),
    ]
