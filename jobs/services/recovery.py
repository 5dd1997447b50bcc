"""Retrying a job, and failing the jobs whose worker stopped; a deployment's job goes through
its deployment."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fleet.booking.choices import AuditAction
from fleet.errors import Conflict
from jobs.choices import JobStatus
from jobs.models import Job
from jobs.services import deployments, jobs
from jobs.streams import LogWriter, broadcast_status


def retry_job(job: Job, *, actor: Any) -> Job:
    """A new job with the same work, linked to the one it retries."""
    jobs.require_act(actor, job, "retry")
    if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        raise Conflict(
            f"job {job.pk} is {job.status}; only failed or cancelled jobs are retried",
            field="status",
        )
    if job.deployment_id is not None:
        return deployments.retry(job, actor=actor)
    steps = [(s["name"], s["label"]) for s in job.steps]
    with transaction.atomic():
        new = jobs.create_job(
            kind=job.kind,
            actor=actor,
            steps=steps,
            params=job.params,
            node=job.node,
            team=job.team,
            booking=job.booking,
            recipe_version=job.recipe_version,
            retry_of=job,
        )
        jobs.record(AuditAction.RETRY, actor, job, {"retried_by_job": (None, new.pk)})
    return new


def reconcile_stale(now: datetime | None = None) -> list[int]:
    """Fail running jobs whose worker stopped sending heartbeats; returns their ids."""
    now = now or timezone.now()
    limit = timedelta(seconds=settings.JOBS_HEARTBEAT_STALE_SECONDS)
    stale = list(
        Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=now - limit).values_list(
            "pk", "worker", "heartbeat_at", "steps"
        )
    )
    failed = []
    for pk, worker, beat, steps in stale:
        assert beat is not None  # the filter compared it
        age = int((now - beat).total_seconds())
        reason = (
            f"the worker running it ({worker or 'unknown'}) stopped responding: no "
            f"heartbeat for {age} s; the job was failed so its cards are released"
        )
        # The step the worker was in failed with it; the ones it never reached are cancelled.
        done = Job.objects.filter(pk=pk, status=JobStatus.RUNNING, heartbeat_at=beat).update(
            status=JobStatus.FAILED,
            finished_at=now,
            error=reason,
            steps=jobs.close_steps(
                list(steps or []), JobStatus.FAILED, "the worker stopped responding"
            ),
        )
        if done:
            failed.append(pk)
            job = Job.objects.get(pk=pk)
            LogWriter(pk).line(f"==> failed: {reason}")
            broadcast_status(job)
            deployments.after_job_lost(job)
    return failed
