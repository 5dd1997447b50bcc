"""The jobs app's Celery tasks, run through Celery with real arguments against a simulated node."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from jobs.choices import DeploymentStatus, JobKind, JobStatus
from jobs.models import Deployment, Job
from jobs.services import deployments
from jobs.services.jobs import cancel_job
from jobs.tasks import cleanup_deployment, reconcile, run_job
from tests.jobs_engine.containers import (
    container_state,
    drain,
    wait_exited,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.devsim]


def test_run_job_claims_and_runs_a_pending_job_and_a_redelivery_does_nothing(make, member_user):
    deployment = make(cards=[0])
    job = deployments.stop(deployment, actor=member_user)
    assert job.status == JobStatus.PENDING

    assert run_job.apply(args=(job.pk,)).get() == JobStatus.SUCCEEDED
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.worker and job.started_at and job.finished_at
    assert [s["status"] for s in job.steps] == ["done"]
    state = container_state(deployment.container_name)
    assert state is not None and not state["Running"]
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.STOPPED
    assert deployment.exit_code == state["ExitCode"]

    # The broker delivers the same message again (a worker lost its ack): nothing changes.
    before = Job.objects.values().get(pk=job.pk)
    assert run_job.apply(args=(job.pk,)).get() == "skipped"
    assert Job.objects.values().get(pk=job.pk) == before


def test_run_job_leaves_a_job_cancelled_before_it_started(make, member_user):
    deployment = make(cards=[1])
    job = deployments.remove(deployment, actor=member_user)
    cancel_job(job, actor=member_user)

    assert run_job.apply(args=(job.pk,)).get() == "skipped"
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert job.started_at is None
    assert container_state(deployment.container_name)["Running"]
    assert Deployment.objects.get(pk=deployment.pk).status == DeploymentStatus.RUNNING


def test_cleanup_deployment_removes_the_container_of_a_failed_deployment_only(make):
    failed = make(cards=[0])
    Deployment.objects.filter(pk=failed.pk).update(
        status=DeploymentStatus.FAILED, error="the worker running it stopped responding"
    )
    alive = make(cards=[1])

    cleanup_deployment.apply(args=(failed.pk,)).get()
    assert container_state(failed.container_name) is None
    assert container_state(alive.container_name)["Running"]
    # Asked again (a redelivered message), there is nothing left to remove.
    cleanup_deployment.apply(args=(failed.pk,)).get()
    assert container_state(alive.container_name)["Running"]


def test_reconcile_fails_stale_jobs_syncs_deployments_and_queues_lost_followers(
    make, member_user, team
):
    drain(settings.JOBS_LOG_QUEUE)
    exited = make(script="echo done; exit 4", cards=[0])
    live = make(cards=[1], with_log_job=True)
    stale = Job.objects.create(
        kind=JobKind.BUILD,
        status=JobStatus.RUNNING,
        team=team,
        requested_by=member_user,
        worker="gone-host:123",
        heartbeat_at=timezone.now() - timedelta(seconds=settings.JOBS_HEARTBEAT_STALE_SECONDS + 30),
        steps=[
            {"name": "context", "label": "Context", "status": "done"},
            {"name": "build", "label": "Build", "status": "running"},
            {"name": "record", "label": "Record", "status": "pending"},
        ],
    )
    wait_exited(exited.container_name)

    counts = reconcile.apply().get()

    assert counts["failed_jobs"] == [stale.pk]
    stale.refresh_from_db()
    assert stale.status == JobStatus.FAILED
    assert "gone-host:123" in stale.error
    assert [s["status"] for s in stale.steps] == ["done", "failed", "cancelled"]
    assert counts["synced"] == 1
    exited.refresh_from_db()
    assert (exited.status, exited.exit_code) == (DeploymentStatus.EXITED, 4)
    assert counts["followers"] == 1
    assert counts["live"] == 1
    assert drain(settings.JOBS_LOG_QUEUE) == [("jobs.tasks.follow_deployment", [live.pk])]
