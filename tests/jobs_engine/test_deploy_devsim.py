"""Deploying a recipe on booked cards of a simulated node, with the real Docker engine."""

from __future__ import annotations

import docker
import pytest

from devsim.client import wait_for
from fleet.errors import Conflict
from fleet.services import probing
from jobs.choices import DeploymentStatus, JobStatus
from jobs.models import Job, LogChunk
from jobs.services import deployments
from jobs.tasks import run_job
from tests.jobs_engine.conftest import JobThread, deploy_slow, wait_for_step

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.devsim]


def log_text(job: Job) -> str:
    return "".join(LogChunk.objects.filter(job=job).order_by("seq").values_list("text", flat=True))


def test_deploy_reaches_readiness_records_latencies_and_shows_on_the_cards(
    booking, recipe, member_user, engine_node, devsim
):
    deployment = deployments.deploy(
        actor=member_user, recipe_version=recipe.current_version, booking=booking
    )
    job = deployment.jobs.get()
    assert job.status == JobStatus.PENDING
    assert run_job(job.pk) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error
    job.refresh_from_db()
    deployment.refresh_from_db()
    assert [s["status"] for s in job.steps] == ["done"] * 5
    assert deployment.status == DeploymentStatus.RUNNING
    assert set(deployment.latencies) == {
        "prefill_latency",
        "model_prefill_latency",
        "avg_decode_latency",
        "time_in_queue",
        "request_latency",
    }
    assert deployment.docker_run[:3] == ["docker", "run", "-itd"]
    assert f"--device={engine_node.device_dir}/davinci0:/dev/davinci0" in deployment.docker_run
    text = log_text(job)
    assert "Application startup complete." in text
    assert "$ docker run -itd" in text
    # the container's process shows on the booked cards in npu-smi info, and the probe sees it
    wait_for(lambda: devsim.card_processes("node-a", 0), timeout=10)
    node = probing.probe_node(engine_node.pk)
    card0 = node.cards.get(device=0)
    assert card0.processes and card0.processes[0]["container"] == deployment.container_name
    assert card0.processes[0]["managed"] is True
    assert node.cards.get(device=2).processes == []
    # a second run of the same message does nothing (redelivery)
    assert run_job(job.pk) == "skipped"
    names = [
        c.name for c in docker.from_env().containers.list() if c.name == deployment.container_name
    ]
    assert len(names) == 1
    # stop
    stop_job = deployments.stop(deployment, actor=member_user)
    assert run_job(stop_job.pk) == JobStatus.SUCCEEDED
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.STOPPED


def test_deploy_refused_on_cards_not_booked(booking, recipe, member_user):
    with pytest.raises(Conflict, match=r"cards \[2, 3\] are not in booking"):
        deployments.deploy(
            actor=member_user, recipe_version=recipe.current_version, booking=booking, cards=[2, 3]
        )
    assert not Job.objects.exists()


def test_deploy_refused_when_another_container_holds_the_card(
    booking, recipe, member_user, engine_node, devsim
):
    dev = devsim.node("node-a")
    stranger = docker.from_env().containers.run(
        "npufleet/busybox:local",
        ["sleep", "120"],
        detach=True,
        remove=True,
        network_mode="host",
        labels={"npufleet.devsim": "1"},
        devices=[f"{dev.device(1)}:/dev/davinci1:rwm"],
    )
    try:
        wait_for(lambda: devsim.card_processes("node-a", 1), timeout=10)
        probing.probe_node(engine_node.pk)
        with pytest.raises(Conflict, match="davinci1 on node-a is held by"):
            deployments.deploy(
                actor=member_user, recipe_version=recipe.current_version, booking=booking
            )
        assert not Job.objects.exists()
    finally:
        stranger.remove(force=True)


def test_failing_server_fails_the_job_with_exit_code_and_frees_the_cards(
    booking, recipe, member_user, team
):
    from jobs.catalog.services.recipes import edit_recipe

    version = edit_recipe(
        member_user,
        recipe,
        values={"env": {"USE_PFA_HIGH_PRECISION_MODE": "1", "VLLM_SIM_FAIL_STARTUP": "1"}},
    )
    deployment = deployments.deploy(actor=member_user, recipe_version=version, booking=booking)
    job = deployment.jobs.get()
    assert run_job(job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    deployment.refresh_from_db()
    assert "exited with code 1" in job.error
    assert deployment.status == DeploymentStatus.FAILED
    assert deployment.exit_code == 1
    assert [s["status"] for s in job.steps][:4] == ["done", "done", "done", "failed"]
    assert (
        docker.from_env().containers.list(all=True, filters={"name": deployment.container_name})
        == []
    )
    # the cards are free again: a new deployment is accepted
    again = deployments.retry(job, actor=member_user)
    assert again.retry_of == job


def test_cancel_stops_the_remote_work(booking, recipe, member_user):
    from jobs.services.jobs import cancel_job

    deployment, job = deploy_slow(member_user, recipe, booking, 60)
    worker = JobThread(job.pk)
    wait_for_step(job.pk, 3, timeout=30)
    cancel_job(Job.objects.get(pk=job.pk), actor=member_user)
    assert worker.join_status(30) == JobStatus.CANCELLED
    assert (
        docker.from_env().containers.list(all=True, filters={"name": deployment.container_name})
        == []
    )
