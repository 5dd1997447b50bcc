"""Periodic tasks kept in the database (django-celery-beat), matched to settings after migrate."""

from __future__ import annotations

from typing import Any

from django.conf import settings


def ensure_schedules(**_: Any) -> None:
    """Create or update the fleet's periodic tasks so they follow the current settings."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    wanted = {
        "fleet: probe every node": ("fleet.tasks.probe_fleet", settings.FLEET_PROBE_INTERVAL),
        "fleet: prune card samples": ("fleet.tasks.prune_samples", 3600),
        "fleet: booking lifecycle": ("fleet.booking.tasks.run_booking_lifecycle", 60),
        "jobs: reconcile jobs, deployments and log followers": ("jobs.tasks.reconcile", 30),
    }
    for name, (task, seconds) in wanted.items():
        every, _ = IntervalSchedule.objects.get_or_create(
            every=seconds, period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "interval": every, "enabled": True}
        )
