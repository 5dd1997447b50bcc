"""App configuration."""

from django.apps import AppConfig


class BookingConfig(AppConfig):
    """Teams, bookings, quotas, cordons, audit and notifications."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "fleet.booking"
    label = "booking"
