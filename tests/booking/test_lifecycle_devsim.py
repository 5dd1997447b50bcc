"""No-show release and end-of-booking stop against the simulator's real sshd and containers."""

from __future__ import annotations

import shlex
import uuid
from datetime import timedelta

import docker
import pytest
from django.utils import timezone

from devsim.image import IMAGE
from fleet.booking import hooks
from fleet.booking.choices import AuditAction, BookingStatus, EndReason
from fleet.booking.models import AuditEntry
from fleet.booking.services.bookings import book_cards
from fleet.booking.services.lifecycle import run_lifecycle
from fleet.choices import MANAGED_LABEL
from fleet.services import probing
from jobs.services import booking_hooks
from tests.helpers import onboard

pytestmark = [pytest.mark.devsim, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def started(devsim):
    """Start containers on node-a as the dashboard would (managed label, booked devices)."""
    names: list[str] = []

    def start(cards: list[int], *, managed: bool = True) -> str:
        name = f"npufleet-job-test-{uuid.uuid4().hex[:8]}"
        names.append(name)
        dev = devsim.node("node-a")
        label = ["--label", f"{MANAGED_LABEL}=1"] if managed else []
        cmd = [
            "docker", "run", "-d", "--net=host", "--name", name, *label,
            *dev.docker_run_args(cards),
            IMAGE, "sh", "-c", "sleep 600",
        ]  # fmt: skip
        result = devsim.ssh("node-a", shlex.join(cmd))
        assert result.ok, result.stderr
        return name

    yield start
    if names:
        devsim.ssh("node-a", shlex.join(["docker", "rm", "-f", *names]))


def running(name: str) -> bool:
    client = docker.from_env()
    try:
        return client.containers.get(name).attrs["State"]["Running"]
    finally:
        client.close()


def probed(node):
    result = probing.probe_node(node.pk)
    assert result is not None
    return result


def test_a_booking_with_nothing_deployed_is_released_after_the_no_show_time(
    devsim, admin_user, member_user, team
):
    node = probed(onboard(admin_user, devsim.node("node-a")))
    start = timezone.now()
    booking = book_cards(
        member_user,
        team=team,
        node=node,
        start=start,
        end=start + timedelta(hours=2),
        purpose="forgot to deploy",
        devices=[0, 1],
    )
    probed(node)
    assert run_lifecycle(start + timedelta(minutes=29)).released == []
    assert run_lifecycle(start + timedelta(minutes=31)).released == [booking.pk]
    booking.refresh_from_db()
    assert booking.end_reason == EndReason.NO_SHOW


def test_at_the_end_the_dashboards_containers_on_the_cards_are_stopped(
    devsim, admin_user, member_user, team, started, settings, monkeypatch
):
    settings.FLEET_BOOKING_STOP_GRACE_MINUTES = 5
    settings.JOBS_STOP_TIMEOUT = 2  # `sleep` as PID 1 ignores SIGTERM
    # The job engine's hook stops them over the node's Docker seam (booking has no stopper).
    assert hooks.registered()[1] is booking_hooks.stop_containers
    node = probed(onboard(admin_user, devsim.node("node-a")))
    start = timezone.now()
    booking = book_cards(
        member_user,
        team=team,
        node=node,
        start=start,
        end=start + timedelta(hours=1),
        purpose="serving",
        devices=[4, 5],
    )
    ours = started([4, 5])
    elsewhere = started([0])  # managed, but on cards this booking does not hold
    foreign = started([6], managed=False)
    node = probed(node)
    card4 = node.cards.get(device=4)
    assert any(c["name"] == ours and c["managed"] for c in card4.containers), card4.containers

    run_lifecycle(start + timedelta(minutes=40))
    booking.refresh_from_db()
    assert booking.deployment_seen_at is not None
    assert booking.status == BookingStatus.ACTIVE

    run_lifecycle(booking.end + timedelta(minutes=1))
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ENDED
    assert running(ours), "stopped before the grace period was over"

    report = run_lifecycle(booking.end + timedelta(minutes=6))
    assert report.stopped == {booking.pk: [ours]}
    assert not running(ours)
    assert running(elsewhere)
    assert running(foreign)
    entry = AuditEntry.objects.get(booking=booking, action=AuditAction.STOP)
    assert ours in entry.summary
