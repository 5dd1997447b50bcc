"""Periodic tasks kept in the database (django-celery-beat), matched to settings after migrate.

Each app registers its periodic tasks in its AppConfig.ready() (fleet's own are registered
here); `ensure_schedules` runs after migrate, when every app is ready.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings

# Seconds between runs, or a function that reads them from the settings at migrate.
Every = int | Callable[[], int]

_wanted: dict[str, tuple[str, Every]] = {}


def register_schedule(name: str, task: str, every: Every) -> None:
    """Run the Celery task called `task` every `every` seconds, as the periodic task `name`."""
    _wanted[name] = (task, every)


register_schedule(
    "fleet: probe every node", "fleet.tasks.probe_fleet", lambda: settings.FLEET_PROBE_INTERVAL
)
register_schedule("fleet: prune card samples", "fleet.tasks.prune_samples", 3600)


def ensure_schedules(**_: Any) -> None:
    """Create or update the registered periodic tasks so they follow the current settings."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for name, (task, every) in _wanted.items():
        seconds = every() if callable(every) else every
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=seconds, period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "interval": interval, "enabled": True}
        )
