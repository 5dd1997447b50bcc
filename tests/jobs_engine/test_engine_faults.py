"""Faults during a deploy: a worker killed mid-way, a node that goes away."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
from django.conf import settings
from django.db import connection

from devsim.client import wait_for
from jobs.catalog.services.recipes import edit_recipe
from jobs.choices import DeploymentStatus, JobStatus
from jobs.models import Deployment, Job
from jobs.services import deployments
from jobs.services.recovery import reconcile_stale
from tests.conftest import TEST_PREFIX
from tests.jobs_engine.conftest import JobThread, deploy_slow, wait_for_step

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.devsim]
ROOT = Path(__file__).resolve().parents[2]


def containers(name: str) -> list:
    return docker.from_env().containers.list(all=True, filters={"name": name})


def database_url() -> str:
    db = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def start_worker(tmp_path: Path, name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_KEY_PREFIX": f"{TEST_PREFIX}:",
        "CELERY_VISIBILITY_TIMEOUT": "5",
        "JOBS_HEARTBEAT_SECONDS": "0.5",
        "JOBS_READY_TIMEOUT": "60",
        # the stand-in images pass the container policy in the worker as in this process
        "JOBS_ALLOWED_IMAGE_PREFIXES": ",".join(settings.JOBS_ALLOWED_IMAGE_PREFIXES),
        "NPUFLEET_ENV_FILE": "",
        "LOG_LEVEL": "INFO",
    }
    log = (tmp_path / f"{name}.log").open("w")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--without-mingle",
            "--without-gossip",
            "--hostname",
            f"{name}@test",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_worker_killed_mid_deploy_fails_cleanly_without_a_second_container(
    booking, recipe, member_user, tmp_path, settings
):
    version = edit_recipe(
        member_user,
        recipe,
        values={"env": {"USE_PFA_HIGH_PRECISION_MODE": "1", "VLLM_SIM_STARTUP_SECONDS": "30"}},
    )
    worker = start_worker(tmp_path, "first")
    try:
        deployment = deployments.deploy(actor=member_user, recipe_version=version, booking=booking)
        job = deployment.jobs.get()
        # the worker claims it (conditional update) and gets as far as waiting for readiness
        wait_for(lambda: Job.objects.get(pk=job.pk).steps[3]["status"] == "running", timeout=60)
        assert len(containers(deployment.container_name)) == 1
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    # the heartbeat goes stale; the reconciler fails the job and says why
    settings.JOBS_HEARTBEAT_STALE_SECONDS = 2
    time.sleep(2.5)
    assert job.pk in reconcile_stale()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "stopped responding" in job.error and "no heartbeat" in job.error
    # the step it was in failed with it; the ones it never reached are cancelled
    assert [s["status"] for s in job.steps] == ["done", "done", "done", "failed", "cancelled"]
    # a restarted worker gets the redelivered message and the cleanup: it must not run the
    # deploy a second time, and must remove the half-started container
    second = start_worker(tmp_path, "second")
    try:
        wait_for(lambda: not containers(deployment.container_name), timeout=60)
        time.sleep(7)  # past the visibility timeout: the redelivered run_job has come and gone
        assert not containers(deployment.container_name)
        job.refresh_from_db()
        assert job.status == JobStatus.FAILED
    finally:
        os.killpg(second.pid, signal.SIGKILL)
        second.wait(timeout=10)
    log = (tmp_path / "second.log").read_text()
    assert "already claimed or cancelled" in log or "run_job" not in log
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.FAILED
    # the cards are free again: a new deployment on them is accepted
    again = deployments.deploy(actor=member_user, recipe_version=version, booking=booking)
    assert again.pk != deployment.pk


def test_node_unreachable_during_deploy_fails_naming_the_node_and_is_cleaned_when_it_returns(
    booking, recipe, member_user, devsim
):
    from fleet.remote import pool
    from jobs.tasks import reconcile

    deployment, job = deploy_slow(member_user, recipe, booking, 30)
    worker = JobThread(job.pk)
    wait_for_step(job.pk, 3)
    devsim.fault_down("node-a")
    pool.close_all()
    assert worker.join_status(90) == JobStatus.FAILED
    job.refresh_from_db()
    assert job.error.startswith("node-a: unreachable:"), job.error
    # every step is final: the one it was in failed, the one it never reached is cancelled
    assert [s["status"] for s in job.steps] == ["done", "done", "done", "failed", "cancelled"]
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.FAILED
    # the container could not be removed while the node was down, and a reconcile cycle then
    # cannot reach it either: it stays, and nothing is marked clean
    assert len(containers(deployment.container_name)) == 1
    assert reconcile()["orphans_removed"] == 0
    assert len(containers(deployment.container_name)) == 1
    # once the node is back, the next reconcile cycle removes it, so the cards are really free
    devsim.fault_up("node-a")
    wait_for(lambda: reconcile()["orphans_removed"] == 1, timeout=30, interval=0.5)
    assert not containers(deployment.container_name)
    assert Deployment.objects.get(pk=deployment.pk).container_id == ""
    # a later cycle has nothing left to do
    assert reconcile()["orphans_removed"] == 0
