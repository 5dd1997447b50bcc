"""Celery tasks of the jobs app: each receives an id; the database row is the truth."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from celery import shared_task
from celery.signals import worker_ready, worker_shutting_down
from django.db import connections

from fleet.remote import RemoteError
from jobs import dispatch
from jobs.choices import DeploymentStatus, JobKind, JobStatus
from jobs.follow import close_all, follow_task
from jobs.models import Deployment, Job
from jobs.runners.base import Runner
from jobs.runners.build import BuildRunner, RemoveImageRunner
from jobs.runners.deploy import DeployRunner, RemoveRunner, RestartRunner, StopRunner
from jobs.services import jobs as job_services
from jobs.services import reconcile as reconciling
from jobs.services import recovery

log = logging.getLogger(__name__)


RUNNERS: dict[str, type[Runner]] = {
    JobKind.DEPLOY: DeployRunner,
    JobKind.STOP: StopRunner,
    JobKind.RESTART: RestartRunner,
    JobKind.REMOVE: RemoveRunner,
    JobKind.BUILD: BuildRunner,
    JobKind.REMOVE_IMAGE: RemoveImageRunner,
}


def runner_for(job: Job) -> Runner:
    return RUNNERS[job.kind](job)


@shared_task(name=dispatch.RUN_JOB, acks_late=True, reject_on_worker_lost=False, ignore_result=True)
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


@shared_task(name=dispatch.FOLLOW_DEPLOYMENT, ignore_result=True)
def follow_deployment(deployment_id: int) -> int:
    """Keep copying a running deployment's output into its log (on the `logs` queue)."""
    return follow_task(deployment_id)


FOLLOWERS_CLOSE_SECONDS = 10.0


@worker_ready.connect
def close_followers_before_a_cold_shutdown(**_: object) -> None:
    """SIGQUIT (and a second Ctrl-C) make Celery cancel running tasks, which its thread pool
    cannot do: it dies with a traceback, its threads still blocked on the followers' streams.
    Close the followers first, wait until their tasks have ended, then let Celery go on."""
    from celery.worker import state

    def ended() -> bool:
        return not any(r.name == follow_deployment.name for r in list(state.active_requests))

    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers belong to the main thread
    for signum in (signal.SIGQUIT, signal.SIGINT):
        previous = signal.getsignal(signum)
        if not callable(previous):
            continue

        def handler(
            number: int,
            frame: FrameType | None,
            previous: Callable[[int, FrameType | None], Any] = previous,
        ) -> None:
            close_all(wait=FOLLOWERS_CLOSE_SECONDS)
            deadline = time.monotonic() + FOLLOWERS_CLOSE_SECONDS
            while not ended() and time.monotonic() < deadline:
                time.sleep(0.02)
            previous(number, frame)

        signal.signal(signum, handler)


@worker_shutting_down.connect
def close_followers(**_: object) -> None:
    """A stopping worker (SIGTERM, SIGINT or SIGQUIT) closes its log followers first.

    Followers run until their container stops, so without this a warm shutdown would wait on
    them forever and a cold one would leave the pool's threads blocked at exit. Runs from the
    signal handler: the closing (network I/O) happens on a thread of its own.
    """
    threading.Thread(target=close_all, name="close-log-followers", daemon=True).start()


@shared_task(name=dispatch.CLEANUP_DEPLOYMENT, ignore_result=True)
def cleanup_deployment(deployment_id: int) -> int:
    """Remove the container of a deployment whose job was lost, so its cards are free.

    A node that cannot be reached now is cleaned by the reconciler once it answers again.
    """
    deployment = Deployment.objects.select_related("node").get(pk=deployment_id)
    try:
        return reconciling.remove_orphans_on(deployment.node, {deployment_id})
    except RemoteError as exc:
        log.warning(
            "deployment %s: cannot remove its container yet (%s); the reconciler will",
            deployment_id,
            exc,
        )
        return 0


@shared_task(name=dispatch.RECONCILE, ignore_result=True)
def reconcile() -> dict:
    """Fail stale jobs, sync deployments, restart lost log followers, remove orphan containers."""
    failed = recovery.reconcile_stale()
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
