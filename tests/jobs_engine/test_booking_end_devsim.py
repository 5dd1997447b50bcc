"""A booking that ends under a running deployment: the lifecycle task stops it over the Docker seam.

The production path end to end: a real deployment on a simulated node, the booking's end moved
to now through the booking service, the Celery lifecycle task run as a worker runs it, and the
container stopped by the job engine's registered hook through `jobs.docker_api` (booking's
`fleet.booking.hooks` has no stopper of its own).
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import docker
import pytest
from django.utils import timezone

from devsim.client import wait_for
from fleet.booking import hooks
from fleet.booking.choices import AuditAction, BookingStatus, EndReason
from fleet.booking.models import AuditEntry, Booking
from fleet.booking.services.bookings import change_booking
from fleet.booking.tasks import run_booking_lifecycle
from fleet.services import probing
from jobs import docker_api
from jobs.choices import DeploymentStatus, JobStatus
from jobs.models import Job
from jobs.services import booking_hooks, deployments
from jobs.tasks import run_job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.devsim]


def container_running(name: str) -> bool:
    client = docker.from_env()
    try:
        return bool(client.containers.get(name).attrs["State"]["Running"])
    finally:
        client.close()


def test_the_lifecycle_task_stops_a_deployment_whose_booking_ended_through_the_docker_seam(
    booking, recipe, member_user, engine_node, devsim, settings, monkeypatch
):
    settings.FLEET_BOOKING_STOP_GRACE_MINUTES = 0
    settings.JOBS_STOP_TIMEOUT = 2
    assert hooks.registered() == (booking_hooks.has_deployment, booking_hooks.stop_containers)

    seam_nodes: list[str] = []
    real_docker_on = docker_api.docker_on

    @contextlib.contextmanager
    def recording_docker_on(node, *args, **kwargs):
        seam_nodes.append(node.name)
        with real_docker_on(node, *args, **kwargs) as client:
            yield client

    monkeypatch.setattr(docker_api, "docker_on", recording_docker_on)

    deployment = deployments.deploy(
        actor=member_user, recipe_version=recipe.current_version, booking=booking
    )
    job = deployment.jobs.get()
    assert run_job(job.pk) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.RUNNING
    assert container_running(deployment.container_name)

    # The probe shows the deployment's process on the booked cards, as the fleet's probe would.
    wait_for(lambda: devsim.card_processes("node-a", 0), timeout=10)
    probing.probe_node(engine_node.pk)

    # Nothing happens while the booking lasts.
    counts = run_booking_lifecycle.apply().get()
    assert counts["stopped"] == 0
    booking.refresh_from_db()
    assert booking.deployment_seen_at is not None
    assert container_running(deployment.container_name)

    # The team shortens the booking to end in a moment; once it is over, a tick stops the container.
    ends = timezone.now() + timedelta(seconds=2)
    change_booking(member_user, booking, end=ends)
    wait_for(lambda: timezone.now() > ends, timeout=10)
    seam_nodes.clear()
    counts = run_booking_lifecycle.apply().get()
    assert counts["ended"] == 1
    assert counts["stopped"] == 1

    booking = Booking.objects.get(pk=booking.pk)
    assert booking.status == BookingStatus.ENDED
    assert booking.end_reason == EndReason.COMPLETED
    assert booking.containers_stopped_at is not None
    assert not container_running(deployment.container_name)
    assert seam_nodes == [engine_node.name]
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.STOPPED
    assert deployment.error == "stopped at the end of its booking"
    entry = AuditEntry.objects.get(booking=booking, action=AuditAction.STOP)
    assert deployment.container_name in entry.summary

    # The next tick has nothing left to do.
    assert run_booking_lifecycle.apply().get()["stopped"] == 0
