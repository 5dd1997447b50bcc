"""Helpers of the reconcile and task tests: deployments whose container runs a given command.

The container is started on the simulated node over its sshd, labelled as the dashboard labels
its own, holding the deployment's cards; the deployment row is written directly, as a deploy
would have left it. What the job engine then does goes through its real Docker seam.
"""

from __future__ import annotations

import shlex
import uuid

import docker

from config.celery import app as celery_app
from devsim.client import DevsimFleet, wait_for
from devsim.image import IMAGE
from fleet.booking.models import Booking
from fleet.choices import MANAGED_LABEL
from fleet.models import Node
from jobs.catalog.models import RecipeVersion
from jobs.choices import (
    BOOKING_LABEL,
    DEPLOYMENT_LABEL,
    DeploymentStatus,
    JobKind,
    JobStatus,
)
from jobs.models import Deployment, Job


def unique_name(kind: str = "deploy") -> str:
    """A container name no other test (or earlier run) uses."""
    return f"npufleet-{kind}-t{uuid.uuid4().hex[:10]}"


def start_container(
    devsim: DevsimFleet,
    name: str,
    script: str,
    *,
    cards: list[int],
    labels: dict[str, str] | None = None,
) -> None:
    """`docker run -d` on node-a: `sh -c script`, with the cards' devices, as the dashboard would."""
    dev = devsim.node("node-a")
    label_args = [a for k, v in (labels or {}).items() for a in ("--label", f"{k}={v}")]
    cmd = [
        "docker", "run", "-d", "--name", name,
        "--label", f"{MANAGED_LABEL}=1", *label_args,
        *dev.docker_run_args(cards),
        IMAGE, "sh", "-c", script,
    ]  # fmt: skip
    result = devsim.ssh("node-a", shlex.join(cmd))
    assert result.ok, result.stderr


def running_deployment(
    devsim: DevsimFleet,
    *,
    node: Node,
    booking: Booking,
    version: RecipeVersion,
    script: str = "sleep 600",
    cards: list[int] | None = None,
    with_log_job: bool = False,
) -> Deployment:
    """A deployment marked running whose container runs `script` on the node."""
    cards = cards or [0]
    deployment = Deployment.objects.create(
        recipe_version=version,
        node=node,
        booking=booking,
        team=booking.team,
        created_by=booking.created_by,
        cards=cards,
        status=DeploymentStatus.RUNNING,
        container_name=unique_name(),
    )
    if with_log_job:
        job = Job.objects.create(
            kind=JobKind.DEPLOY,
            status=JobStatus.SUCCEEDED,
            team=booking.team,
            node=node,
            node_name=node.name,
            deployment=deployment,
            recipe_version=version,
        )
        Deployment.objects.filter(pk=deployment.pk).update(log_job=job)
        deployment.refresh_from_db()
    start_container(
        devsim,
        deployment.container_name,
        script,
        cards=cards,
        labels={DEPLOYMENT_LABEL: str(deployment.pk), BOOKING_LABEL: str(booking.pk)},
    )
    return deployment


def container_state(name: str) -> dict | None:
    """Docker's State of the named container on the engine the simulator uses, None if gone."""
    client = docker.from_env()
    try:
        return client.containers.get(name).attrs["State"]
    except docker.errors.NotFound:
        return None
    finally:
        client.close()


def wait_exited(name: str, timeout: float = 30) -> dict:
    """Until the container has stopped running; returns its State."""
    return wait_for(
        lambda: (s := container_state(name)) is not None and not s["Running"] and s,
        timeout=timeout,
    )


def remove_container(name: str) -> None:
    client = docker.from_env()
    try:
        client.containers.get(name).remove(force=True)
    except docker.errors.NotFound:
        pass
    finally:
        client.close()


def drain(queue: str) -> list[tuple[str, list]]:
    """Take every message off a Celery queue: (task name, args), oldest first."""
    taken = []
    with celery_app.connection_for_read() as conn:
        channel = conn.default_channel
        while (message := channel.basic_get(queue, no_ack=True)) is not None:
            args, _kwargs, _embed = message.decode()
            taken.append((message.headers["task"], list(args)))
    return taken
