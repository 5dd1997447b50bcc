"""Queue Celery work by task name, so services never import the tasks that call them.

Each app imports its own tasks module in its AppConfig.ready(), so in every Django process the
named task is registered and is queued through the task itself (which honours Celery's eager
mode in tests, and the task's routes). A name this process does not know goes to the broker as
it is, for a worker that knows it.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.db import transaction

# Fleet's own task names (fleet/tasks.py); other apps keep theirs next to their services.
PROBE_NODE = "fleet.tasks.probe_node"


def enqueue(name: str, *args: Any, **options: Any) -> None:
    """Queue the task called `name` with positional `args` (ids); `options` go to apply_async."""
    task = current_app.tasks.get(name)
    if task is None:
        current_app.send_task(name, args=args, **options)
    elif options:
        task.apply_async(args, **options)
    else:
        task.delay(*args)


def enqueue_on_commit(name: str, *args: Any, **options: Any) -> None:
    """Queue the task once the current transaction has committed (at once outside one)."""
    transaction.on_commit(lambda: enqueue(name, *args, **options))
