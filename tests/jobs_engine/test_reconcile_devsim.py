"""The reconciler against a simulated node: container state to deployment rows, lost followers."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone

from config.celery import app as celery_app
from devsim.client import wait_for
from fleet.remote import pool
from jobs.choices import DeploymentStatus, JobKind, JobStatus
from jobs.models import Deployment, Job, LogChunk
from jobs.services.reconcile import resume_followers, sync_deployments
from tests.jobs_engine.containers import (
    container_state,
    drain,
    remove_container,
    wait_exited,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.devsim]


def fresh(deployment: Deployment) -> Deployment:
    return Deployment.objects.get(pk=deployment.pk)


def test_sync_marks_exited_and_vanished_containers_and_leaves_running_and_busy_ones(
    make, member_user
):
    exited = make(
        script="echo loading weights; echo 'RuntimeError: NPU out of memory' >&2; exit 3",
        cards=[0],
    )
    running = make(cards=[1])
    gone = make(cards=[0])
    remove_container(gone.container_name)
    # A restart is in progress for this one: its job owns the row, the reconciler keeps off.
    busy = make(cards=[1])
    remove_container(busy.container_name)
    Job.objects.create(
        kind=JobKind.RESTART,
        status=JobStatus.RUNNING,
        deployment=busy,
        team=busy.team,
        heartbeat_at=timezone.now(),
    )
    state = wait_exited(exited.container_name)
    assert state["ExitCode"] == 3

    assert sync_deployments() == 2

    row = fresh(exited)
    assert row.status == DeploymentStatus.EXITED
    assert row.exit_code == 3
    assert row.error == "the container exited with code 3"
    assert "loading weights" in row.last_log_lines
    assert "RuntimeError: NPU out of memory" in row.last_log_lines
    row = fresh(gone)
    assert row.status == DeploymentStatus.FAILED
    assert row.error == "the container disappeared from the node"
    assert (fresh(running).status, fresh(running).error) == (DeploymentStatus.RUNNING, "")
    assert fresh(busy).status == DeploymentStatus.RUNNING
    assert container_state(running.container_name)["Running"]
    # What was marked is not marked again.
    assert sync_deployments() == 0


def test_sync_waits_for_an_unreachable_node_and_catches_up_when_it_returns(make, devsim):
    deployment = make(script="echo bye; exit 2")
    wait_exited(deployment.container_name)
    devsim.fault_down("node-a")
    pool.close_all()
    try:
        assert sync_deployments() == 0
        assert fresh(deployment).status == DeploymentStatus.RUNNING
    finally:
        devsim.fault_up("node-a")
    wait_for(lambda: sync_deployments() == 1, timeout=30, interval=0.5)
    row = fresh(deployment)
    assert (row.status, row.exit_code) == (DeploymentStatus.EXITED, 2)
    assert "bye" in row.last_log_lines


def test_a_running_deployment_without_a_follower_gets_one_queued_after_a_worker_restart(make):
    queue = settings.JOBS_LOG_QUEUE
    drain(queue)
    script = "for i in 1 2 3; do echo line $i; done; sleep 600"
    deployment = make(script=script, with_log_job=True)
    stopped = make(with_log_job=True)
    Deployment.objects.filter(pk=stopped.pk).update(status=DeploymentStatus.STOPPED)

    # The worker that followed it is gone (nothing reports alive): one follower is queued.
    assert resume_followers() == 1
    queued = drain(queue)
    assert queued == [("jobs.tasks.follow_deployment", [deployment.pk])]

    # The logs worker runs what was queued; it copies the container's output into the log.
    name, args = queued[0]
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["kept"] = celery_app.tasks[name].apply(args=args).get()
        finally:
            connections.close_all()

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    log_job = deployment.log_job

    def logged() -> str:
        return "".join(
            LogChunk.objects.filter(job=log_job).order_by("seq").values_list("text", flat=True)
        )

    wait_for(lambda: "line 3" in logged(), timeout=30)
    # While it follows, the next cycle queues nobody.
    assert resume_followers() == 0
    assert drain(queue) == []

    remove_container(deployment.container_name)
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert outcome["kept"] == 3
    assert logged() == "line 1\nline 2\nline 3\n"
