"""Creating, claiming, finishing, cancelling and retrying jobs."""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from django.db import transaction
from django.utils import timezone

from fleet.booking import permissions
from fleet.booking.choices import AuditAction, AuditObject
from fleet.booking.permissions import Action
from fleet.booking.services import audit
from fleet.errors import Conflict
from jobs import dispatch
from jobs.choices import FINISHED_JOB_STATUSES, JobStatus
from jobs.models import Job
from jobs.streams import LogWriter, broadcast_status

log = logging.getLogger(__name__)
OPEN_STEP_STATUSES = ("pending", "running")


def close_steps(steps: list[dict[str, Any]], status: str, detail: str = "") -> list[dict[str, Any]]:
    """Give every step still pending or running a final status that says how the job ended.

    A failed job fails the step it was in and cancels the ones it never reached; a cancelled
    job cancels both. Nothing is left "running" on a job that is over.
    """
    now = timezone.now().isoformat()
    for step in steps:
        state = step.get("status")
        if state not in OPEN_STEP_STATUSES:
            continue
        if status == JobStatus.SUCCEEDED:
            step["status"] = "done"
        elif state == "running":
            step["status"] = "failed" if status == JobStatus.FAILED else "cancelled"
            if detail and not step.get("detail"):
                step["detail"] = detail[:300]
        else:
            step["status"] = "cancelled"
        step.setdefault("finished_at", now)
    return steps


def enqueue(job: Job) -> None:
    """Hand the job to a worker once the transaction that created it has committed."""
    dispatch.run_job(job.pk)


def create_job(*, kind: str, actor: Any, steps: list[tuple[str, str]], **fields: Any) -> Job:
    """A pending job with its planned steps; a worker picks it up after commit."""
    node = fields.get("node")
    job = Job.objects.create(
        kind=kind,
        requested_by=actor if actor is not None and actor.is_authenticated else None,
        node_name=node.name if node else "",
        steps=[{"name": name, "label": label, "status": "pending"} for name, label in steps],
        **fields,
    )
    enqueue(job)
    return job


def may_act(actor: Any, job: Job) -> bool:
    """Admins and the job team's current members (for a job without a team, its requester)."""
    return permissions.may(actor, Action.ACT, job)


def require_act(actor: Any, job: Job, verb: str) -> None:
    permissions.require(
        actor,
        Action.ACT,
        job,
        lambda: (
            f"only members of the job's team (or, without a team, its requester) and site "
            f"admins may {verb} job {job.pk}"
        ),
    )


def claim(job_id: int) -> Job | None:
    """Take a pending job for this worker; None if another delivery already took it."""
    now = timezone.now()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    taken = Job.objects.filter(pk=job_id, status=JobStatus.PENDING, cancel_requested=False).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, worker=worker
    )
    if not taken:
        return None
    job = Job.objects.get(pk=job_id)
    broadcast_status(job)
    return job


def heartbeat(job_id: int) -> bool:
    """Record that the job's worker is alive; returns whether a cancel was requested."""
    Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(heartbeat_at=timezone.now())
    return Job.objects.filter(pk=job_id, cancel_requested=True).exists()


def save_steps(job: Job) -> None:
    Job.objects.filter(pk=job.pk).update(steps=job.steps, heartbeat_at=timezone.now())
    broadcast_status(job)


def finish(job: Job, status: str, *, error: str = "", result: dict | None = None) -> Job:
    """Close a running job; only a running job can finish (a reconciled one stays failed)."""
    now = timezone.now()
    updates: dict[str, Any] = {"status": status, "finished_at": now, "error": error[:4000]}
    if result is not None:
        updates["result"] = result
    close_steps(job.steps, status, error)
    done = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        steps=job.steps, **updates
    )
    job.refresh_from_db()
    if done:
        broadcast_status(job)
    return job


def cancel_job(job: Job, *, actor: Any) -> Job:
    """Cancel: a pending job at once; a running one stops its remote work at the next check."""
    require_act(actor, job, "cancel")
    if job.status in FINISHED_JOB_STATUSES:
        raise Conflict(f"job {job.pk} has already {job.status}", field="status")
    with transaction.atomic():
        now = timezone.now()
        pending = Job.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
            status=JobStatus.CANCELLED,
            cancel_requested=True,
            finished_at=now,
            error=f"cancelled by {actor} before it started",
            steps=close_steps(list(job.steps), JobStatus.CANCELLED),
        )
        if not pending:
            Job.objects.filter(pk=job.pk).update(cancel_requested=True)
        record(AuditAction.CANCEL, actor, job, {"status": (job.status, JobStatus.CANCELLED)})
    job.refresh_from_db()
    LogWriter(job.pk).line(f"==> cancel requested by {actor}")
    broadcast_status(job)
    return job


def record(action: AuditAction, actor: Any, job: Job, changes: dict, *, label: str = "") -> None:
    """One audit entry about a job, with its team (so the team's admins see it) and node."""
    label = label or f"job {job.pk} ({job.get_kind_display()})"
    audit.record(
        action,
        actor,
        f"{label[:1].upper()}{label[1:]}: {AuditAction(action).label.lower()}",
        team=job.team,
        node=job.node,
        booking=job.booking,
        changes=changes,
        about=(AuditObject.JOB, job.pk, label),
    )
