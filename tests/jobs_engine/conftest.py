"""Fixtures for the job engine: a simulated node, a booking, a recipe using the stand-in image."""

from __future__ import annotations

import threading
from datetime import timedelta

import docker
import pytest
from django.utils import timezone

from devsim.serving_image import IMAGE, ensure_serving_image
from fleet.booking.services.bookings import book_cards
from fleet.services import probing
from jobs.catalog.services.recipes import create_recipe
from tests.helpers import onboard


@pytest.fixture(scope="session")
def serving_image() -> str:
    ensure_serving_image()
    return IMAGE


@pytest.fixture
def fast_jobs(settings):
    settings.JOBS_READY_TIMEOUT = 60
    settings.JOBS_HEARTBEAT_SECONDS = 0.5
    settings.JOBS_STOP_TIMEOUT = 2
    settings.JOBS_HOST_PORTS = (31000 + (id(settings) % 500), 31999)
    return settings


@pytest.fixture
def engine_node(devsim, admin_user, fast_jobs):
    """node-a of the simulated fleet, onboarded and probed; publishes ports (bridge)."""
    node = onboard(admin_user, devsim.node("node-a"), network_mode="bridge")
    probing.probe_node(node.pk)
    node.refresh_from_db()
    yield node
    # Remove what this test deployed: containers holding this simulated node's devices (other
    # test runs or a demo may share the Docker engine).
    client = docker.from_env()
    for container in client.containers.list(all=True, filters={"label": "npufleet.managed=1"}):
        devices = container.attrs["HostConfig"].get("Devices") or []
        if any(d.get("PathOnHost", "").startswith(node.device_dir + "/") for d in devices):
            container.remove(force=True)


@pytest.fixture
def workspace(team):
    """A fresh folder in the team's workspace on the simulated node (the container policy's
    allowed root for builds and mounts); removed afterwards."""
    import shutil
    import uuid
    from pathlib import Path

    from fleet.choices import DEFAULT_WORKSPACE_ROOT

    folder = Path(DEFAULT_WORKSPACE_ROOT) / team.slug / f"test-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def make(devsim, engine_node, booking, recipe):
    """Makes running deployments on node-a; their containers are removed afterwards."""
    from tests.jobs_engine.containers import remove_container, running_deployment

    names: list[str] = []

    def make_one(**kwargs):
        deployment = running_deployment(
            devsim, node=engine_node, booking=booking, version=recipe.current_version, **kwargs
        )
        names.append(deployment.container_name)
        return deployment

    yield make_one
    for name in names:
        remove_container(name)


@pytest.fixture
def booking(engine_node, member_user, team):
    now = timezone.now()
    return book_cards(
        member_user,
        team=team,
        node=engine_node,
        start=now,
        end=now + timedelta(hours=2),
        purpose="serving test",
        devices=[0, 1],
    )


@pytest.fixture
def catalog(db):
    """The manuals' catalog, reloaded when a transactional test flushed it."""
    from jobs.catalog.services.catalog_edits import ensure_seed_catalog

    ensure_seed_catalog()


@pytest.fixture
def recipe(catalog, member_user, team, serving_image):
    return create_recipe(
        member_user,
        team=team,
        name="qwen2-7b-sim",
        values={
            "model": "qwen2-7b",
            "image": serving_image,
            "tensor_parallel_size": 2,
            "max_model_len": 4096,
            "max_num_batched_tokens": 4096,
            "weights_path": "/data/models/qwen2-7b",
            "served_model_name": "qwen2-7b",
            "env": {"USE_PFA_HIGH_PRECISION_MODE": "1", "VLLM_SIM_STARTUP_SECONDS": "1"},
        },
    )


def deploy_slow(member_user, recipe, booking, startup_seconds: int):
    """Deploy a version whose server takes its time to start; returns (deployment, job)."""
    from jobs.catalog.services.recipes import edit_recipe
    from jobs.services import deployments

    version = edit_recipe(
        member_user,
        recipe,
        values={
            "env": {
                "USE_PFA_HIGH_PRECISION_MODE": "1",
                "VLLM_SIM_STARTUP_SECONDS": str(startup_seconds),
            }
        },
    )
    deployment = deployments.deploy(actor=member_user, recipe_version=version, booking=booking)
    return deployment, deployment.jobs.get()


class JobThread(threading.Thread):
    """Runs a job as a worker would, on a thread; `join_status()` gives how it ended."""

    def __init__(self, job_id: int) -> None:
        super().__init__(daemon=True)
        self.job_id = job_id
        self.status: str | None = None
        self.start()

    def run(self) -> None:
        from django.db import connections

        from jobs.tasks import run_job

        try:
            self.status = run_job(self.job_id)
        finally:
            connections.close_all()

    def join_status(self, timeout: float) -> str | None:
        self.join(timeout=timeout)
        return self.status


def wait_for_step(job_id: int, index: int, status: str = "running", timeout: float = 60) -> None:
    """Until the job's step number `index` has the given status."""
    from devsim.client import wait_for
    from jobs.models import Job

    wait_for(lambda: Job.objects.get(pk=job_id).steps[index]["status"] == status, timeout=timeout)
