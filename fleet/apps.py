"""App configuration."""

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class FleetConfig(AppConfig):
    """The fleet app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "fleet"

    def ready(self) -> None:
        from fleet.booking.models import Membership
        from fleet.permissions import membership_changed
        from fleet.schedules import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="fleet-schedules")
        # Open websockets check access again when a membership goes or changes.
        post_save.connect(membership_changed, sender=Membership, dispatch_uid="fleet-member-saved")
        post_delete.connect(membership_changed, sender=Membership, dispatch_uid="fleet-member-gone")
