"""App configuration."""

from django.apps import AppConfig


class JobsConfig(AppConfig):
    """The jobs app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "jobs"
