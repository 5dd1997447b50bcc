"""Enqueue the job engine's Celery work by task name, so services and runners never import tasks.

The names are the tasks' persisted names (`jobs/tasks.py` gives each one explicitly). A task that
is registered in this process (the jobs app registers its tasks when it is ready) goes through its
own `apply_async`, so Celery's eager mode runs it inline as before; an unknown name is sent to the
broker by name.
"""

from __future__ import annotations

from typing import Any

from celery import current_app, signature
from django.conf import settings
from django.db import transaction

RUN_JOB = "jobs.tasks.run_job"
FOLLOW_DEPLOYMENT = "jobs.tasks.follow_deployment"
CLEANUP_DEPLOYMENT = "jobs.tasks.cleanup_deployment"
RECONCILE = "jobs.tasks.reconcile"


def enqueue(name: str, *args: Any, **options: Any) -> None:
    """Queue the task called `name` with positional `args` (ids); `options` go to apply_async."""
    signature(name, args=args, app=current_app).apply_async(**options)


def enqueue_on_commit(name: str, *args: Any, **options: Any) -> None:
    """Queue the task once the current transaction has committed (at once outside one)."""
    transaction.on_commit(lambda: enqueue(name, *args, **options))


def run_job(job_id: int) -> None:
    """Hand a job to a worker once the transaction that created it has committed."""
    enqueue_on_commit(RUN_JOB, job_id)


def follow_deployment(deployment_id: int) -> None:
    """Start copying a running deployment's output into its log, on the `logs` queue."""
    enqueue(FOLLOW_DEPLOYMENT, deployment_id, queue=settings.JOBS_LOG_QUEUE)


def cleanup_deployment(deployment_id: int) -> None:
    """Remove a lost deployment's container once the transaction has committed."""
    enqueue_on_commit(CLEANUP_DEPLOYMENT, deployment_id)
