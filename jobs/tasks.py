"""Celery tasks of the jobs app: each receives an id; the database row is the truth."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import connections

from jobs.choices import DeploymentStatus, JobKind, JobStatus
from jobs.models import Deployment
from jobs.services import jobs as job_services

log = logging.getLogger(__name__)


def runner_for(job):
    from jobs.runners.deploy import DeployRunner, RemoveRunner, RestartRunner, StopRunner

    runners = {
        JobKind.DEPLOY: DeployRunner,
        JobKind.STOP: StopRunner,
        JobKind.RESTART: RestartRunner,
        JobKind.REMOVE: RemoveRunner,
    }
    try:
        from jobs.runners.build import BuildRunner, RemoveImageRunner

        runners[JobKind.BUILD] = BuildRunner
        runners[JobKind.REMOVE_IMAGE] = RemoveImageRunner
    except ImportError:
        pass
    return runners[job.kind](job)


@shared_task(acks_late=True, reject_on_worker_lost=False, ignore_result=True)
def run_job(job_id: int) -> str:
    """Claim the job (a redelivered message finds it taken and does nothing), then run it."""
    job = job_services.claim(job_id)
    if job is None:
        log.info("job %s: already claimed or cancelled, nothing to do", job_id)
        return "skipped"
    try:
        try:
            runner = runner_for(job)
        except Exception as exc:  # nothing ran: fail the job and close its steps
            log.exception("job %s: cannot start its runner", job_id)
            error = f"internal error: the job could not start ({type(exc).__name__}: {exc})"
            return job_services.finish(job, JobStatus.FAILED, error=error).status
        return runner.execute().status
    finally:
        connections.close_all()


@shared_task(ignore_result=True)
def follow_deployment(deployment_id: int) -> int:
    """Keep copying a running deployment's output into its log (on the `logs` queue)."""
    from jobs.follow import follow

    return follow(deployment_id)


@shared_task(ignore_result=True)
def cleanup_deployment(deployment_id: int) -> int:
    """Remove the container of a deployment whose job was lost, so its cards are free.

    A node that cannot be reached now is cleaned by the reconciler once it answers again.
    """
    from fleet.remote import RemoteError
    from jobs.services.reconcile import remove_orphans_on

    deployment = Deployment.objects.select_related("node").get(pk=deployment_id)
    try:
        return remove_orphans_on(deployment.node, {deployment_id})
    except RemoteError as exc:
        log.warning(
            "deployment %s: cannot remove its container yet (%s); the reconciler will",
            deployment_id,
            exc,
        )
        return 0


@shared_task(ignore_result=True)
def reconcile() -> dict:
    """Fail stale jobs, sync deployments, restart lost log followers, remove orphan containers."""
    from jobs.services import reconcile as reconciling

    failed = job_services.reconcile_stale()
    synced = reconciling.sync_deployments()
    followed = reconciling.resume_followers()
    orphans = reconciling.remove_orphans()
    return {
        "failed_jobs": failed,
        "synced": synced,
        "followers": followed,
        "orphans_removed": orphans,
        "live": Deployment.objects.filter(status=DeploymentStatus.RUNNING).count(),
    }
