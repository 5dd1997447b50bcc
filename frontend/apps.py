"""App configuration."""

from django.apps import AppConfig


class FrontendConfig(AppConfig):
    """The frontend app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "frontend"
