"""App configuration."""

from django.apps import AppConfig


class FleetConfig(AppConfig):
    """The fleet app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "fleet"
