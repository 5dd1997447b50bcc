"""Relabel the content types of the moved models (fleet -> booking).

Admin permissions (fleet.change_team becomes booking.change_team) and the admin log keep pointing
at the same rows. If a booking row already exists (the content types were created before this
ran), what points at the stale fleet row moves to it and the stale row goes.
"""

from django.conf import settings
from django.db import migrations

from fleet.migrations._content_types import relabel_operation

OLD, NEW = "fleet", "booking"
MODELS = ("team", "membership", "booking", "bookedcard", "notification", "auditentry")


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0001_initial"),
        ("fleet", "0009_booking_models_moved"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [relabel_operation(OLD, NEW, MODELS)]
