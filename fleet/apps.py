"""App configuration."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class FleetConfig(AppConfig):
    """The fleet app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "fleet"

    def ready(self) -> None:
        from fleet import tasks  # noqa: F401  registers the tasks that fleet.dispatch names
        from fleet.schedules import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="fleet-schedules")
