"""PostgreSQL guard against double booking.

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


class Migration(migrations.Migration):

    dependencies = [
        ("fleet", "0002_booking"),
    ]

    operations = [
        migrations.RunPython(add_exclusion_constraint, drop_exclusion_constraint),
    ]
