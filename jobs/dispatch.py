"""Enqueue the job engine's Celery work by task name, so services and runners never import tasks.

The names are the tasks' persisted names (`jobs/tasks.py` gives each one explicitly); queueing
goes through `fleet.dispatch`, which runs a registered task through its own `apply_async` (the
jobs app registers its tasks when it is ready, so Celery's eager mode runs them inline as before)
and sends an unknown name to the broker as it is.
"""

from __future__ import annotations

from django.conf import settings

from fleet.dispatch import enqueue, enqueue_on_commit

RUN_JOB = "jobs.tasks.run_job"
FOLLOW_DEPLOYMENT = "jobs.tasks.follow_deployment"
CLEANUP_DEPLOYMENT = "jobs.tasks.cleanup_deployment"
RECONCILE = "jobs.tasks.reconcile"


def run_job(job_id: int) -> None:
    """Hand a job to a worker once the transaction that created it has committed."""
    enqueue_on_commit(RUN_JOB, job_id)


def follow_deployment(deployment_id: int) -> None:
    """Start copying a running deployment's output into its log, on the `logs` queue."""
    enqueue(FOLLOW_DEPLOYMENT, deployment_id, queue=settings.JOBS_LOG_QUEUE)


def cleanup_deployment(deployment_id: int) -> None:
    """Remove a lost deployment's container once the transaction has committed."""
    enqueue_on_commit(CLEANUP_DEPLOYMENT, deployment_id)
