"""App configuration."""

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class BookingConfig(AppConfig):
    """Teams, bookings, quotas, cordons, audit and notifications."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "fleet.booking"
    label = "booking"

    def ready(self) -> None:
        from fleet import holders, signals
        from fleet.booking import receivers, tasks  # noqa: F401  tasks: registers them
        from fleet.booking.models import Membership
        from fleet.booking.pages.card_holders import label_cards
        from fleet.booking.pages.panels import node_delete_bookings
        from fleet.booking.permissions import membership_changed, redact_cards
        from fleet.pages.panels import register_delete_panel
        from fleet.schedules import register_schedule

        # Open websockets check access again when a membership goes or changes.
        post_save.connect(membership_changed, sender=Membership, dispatch_uid="fleet-member-saved")
        post_delete.connect(membership_changed, sender=Membership, dispatch_uid="fleet-member-gone")
        # Node changes go to the audit log; probes tell the teams of booked cards what changed.
        signals.node_changed.connect(receivers.record_node_change, dispatch_uid="booking-audit")
        signals.probe_recorded.connect(receivers.tell_teams_of_probe, dispatch_uid="booking-health")
        # Fleet pages and the API show card holders as the booking's team allows.
        holders.register(redactor=redact_cards, labeller=label_cards)
        register_delete_panel("booking-bookings", node_delete_bookings, order=10)
        # Every minute: start, warn, release, end bookings and stop what outlived them.
        register_schedule(
            "fleet: booking lifecycle", "fleet.booking.tasks.run_booking_lifecycle", 60
        )
