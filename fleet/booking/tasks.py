"""Celery tasks of booking: the every-minute lifecycle tick and team webhooks.

Their names are persisted (beat schedules) and named by services through fleet.dispatch: keep them.
"""

from __future__ import annotations

from celery import shared_task

from fleet.booking.services.lifecycle import run_lifecycle
from fleet.booking.services.notify import send_webhook


@shared_task(name="fleet.booking.tasks.run_booking_lifecycle", ignore_result=True)
def run_booking_lifecycle() -> dict[str, int]:
    """Start, warn, release, end bookings and stop containers that outlived them."""
    report = run_lifecycle()
    return {
        "activated": len(report.activated),
        "warned": len(report.warned),
        "released": len(report.released),
        "ended": len(report.ended),
        "stopped": sum(len(v) for v in report.stopped.values()),
    }


@shared_task(
    name="fleet.booking.tasks.post_team_webhook",
    ignore_result=True,
    autoretry_for=(),
    max_retries=0,
)
def post_team_webhook(notification_id: int) -> str:
    """POST one notification to its team's webhook (one try; the outcome is stored)."""
    return send_webhook(notification_id)
