"""App configuration."""

from django.apps import AppConfig


class JobsConfig(AppConfig):
    """The jobs app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "jobs"

    def ready(self) -> None:
        from fleet.booking import hooks
        from jobs.services import booking_hooks

        # Bookings ask the job engine whether something is deployed, and have it stop containers.
        hooks.register(
            deployment_check=booking_hooks.has_deployment,
            container_stopper=booking_hooks.stop_containers,
        )
