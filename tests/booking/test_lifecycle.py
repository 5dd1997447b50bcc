"""The lifecycle tick: start, warnings (app + webhook), no-show release, end, container stop."""

from __future__ import annotations

import ipaddress
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from fleet.booking import hooks
from fleet.booking.choices import AuditAction, BookingStatus, EndReason, NotificationKind
from fleet.booking.models import AuditEntry, BookedCard, Notification
from fleet.booking.services.bookings import book_cards, cancel_booking
from fleet.booking.services.lifecycle import run_lifecycle
from jobs.services import booking_hooks
from tests.booking.conftest import hours, set_card

MIN = timedelta(minutes=1)
# What jobs.apps registers at start-up; every test here must leave exactly these in place.
JOB_ENGINE_HOOKS = (booking_hooks.has_deployment, booking_hooks.stop_containers)


@pytest.fixture(autouse=True)
def job_engine_hooks_stay_registered():
    """Fails the test that leaves booking's hooks changed, so later tests run the real path."""
    assert hooks.registered() == JOB_ENGINE_HOOKS, "a test before this one left the hooks changed"
    yield
    assert hooks.registered() == JOB_ENGINE_HOOKS, (
        "this test left booking's hooks changed: use hooks.overridden(...) as a with-block"
    )


TWO_HOURS = hours(2)


def book(user, team, node, start, length=TWO_HOURS, devices=(0, 1)):
    return book_cards(
        user,
        team=team,
        node=node,
        start=start,
        end=start + length,
        purpose="serving",
        devices=list(devices),
        now=start,
    )


def managed(name: str, booking_id: int | None = None) -> list[dict]:
    entry = {"pid": 4100, "name": "python3", "container": name, "managed": True}
    if booking_id is not None:
        entry["booking"] = booking_id
    return [entry]


class Recorder:
    """A fake container stopper that remembers its calls."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.fail = fail

    def __call__(self, node, names):
        self.calls.append((node.name, list(names)))
        if self.fail:
            raise RuntimeError("docker daemon went away")
        return list(names)


@pytest.fixture
def start():
    return timezone.now().replace(second=0, microsecond=0)


def test_upcoming_becomes_active_at_its_start(member_user, team, node, start):
    booking = book_cards(
        member_user,
        team=team,
        node=node,
        start=start + hours(1),
        end=start + hours(2),
        purpose="x",
        devices=[0],
        now=start,
    )
    assert run_lifecycle(start + 30 * MIN).activated == []
    assert run_lifecycle(start + hours(1)).activated == [booking.pk]
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE


def test_warnings_come_once_each_at_30_and_5_minutes(member_user, team, node, start):
    booking = book(member_user, team, node, start)
    set_card(node, 0, processes=managed("npufleet-job-1"))
    end = booking.end
    assert run_lifecycle(end - 40 * MIN).warned == []
    assert run_lifecycle(end - 29 * MIN).warned == [booking.pk]
    assert run_lifecycle(end - 28 * MIN).warned == []
    assert run_lifecycle(end - 4 * MIN).warned == [booking.pk]
    assert run_lifecycle(end - 3 * MIN).warned == []
    texts = list(
        Notification.objects.filter(booking=booking, kind=NotificationKind.WARNING)
        .order_by("pk")
        .values_list("text", flat=True)
    )
    assert len(texts) == 2
    assert "ends in 29 min" in texts[0]
    assert "ends in 4 min" in texts[1]


def test_warning_minutes_are_configurable(settings, member_user, team, node, start):
    settings.FLEET_BOOKING_WARNING_MINUTES = [60]
    booking = book(member_user, team, node, start)
    set_card(node, 0, processes=managed("npufleet-job-1"))
    assert run_lifecycle(booking.end - 59 * MIN).warned == [booking.pk]
    assert run_lifecycle(booking.end - 4 * MIN).warned == []


def test_a_late_first_tick_sends_one_warning_not_two(member_user, team, node, start):
    booking = book(member_user, team, node, start)
    set_card(node, 0, processes=managed("npufleet-job-1"))
    run_lifecycle(booking.end - 3 * MIN)
    assert Notification.objects.filter(kind=NotificationKind.WARNING).count() == 1
    assert run_lifecycle(booking.end - 2 * MIN).warned == []


class Hook(BaseHTTPRequestHandler):
    bodies: list[dict] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        Hook.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def eager_celery():
    """Run Celery tasks inline, as a worker would, for one test."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture
def webhook_server(settings):
    # A hook on loopback: allowed on purpose, as an operator would for an internal network.
    settings.FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]
    Hook.bodies = []
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", Hook.bodies
    server.shutdown()
    server.server_close()


def test_warnings_are_posted_to_the_team_webhook(
    member_user, team, node, start, webhook_server, eager_celery, django_capture_on_commit_callbacks
):
    url, bodies = webhook_server
    team.webhook_url = url
    team.save()
    booking = book(member_user, team, node, start)
    set_card(node, 0, processes=managed("npufleet-job-1"))
    with django_capture_on_commit_callbacks(execute=True):
        run_lifecycle(booking.end - 29 * MIN)
    assert len(bodies) == 1
    body = bodies[0]
    assert body["team"] == "vision"
    assert body["kind"] == "warning"
    assert body["booking"]["id"] == booking.pk
    assert body["booking"]["cards"] == [0, 1]
    assert "ends in 29 min" in body["text"]
    note = Notification.objects.get(booking=booking, kind=NotificationKind.WARNING)
    assert note.webhook_status == "HTTP 204"


def test_an_unreachable_webhook_is_recorded_not_raised(member_user, team, node, start, settings):
    from fleet.booking.services.notify import notify_team, send_webhook

    settings.FLEET_BOOKING_WEBHOOK_ALLOWED_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]
    team.webhook_url = "http://127.0.0.1:9/nothing-listens"
    team.save()
    note = notify_team(team, NotificationKind.WARNING, "ends soon")
    assert send_webhook(note.pk).startswith("failed:")
    note.refresh_from_db()
    assert note.webhook_status.startswith("failed:")


def test_no_show_is_released_after_30_minutes_and_the_team_told(
    member_user, admin_user, team, other_team, node, start
):
    booking = book(member_user, team, node, start)
    assert run_lifecycle(start + 29 * MIN).released == []
    report = run_lifecycle(start + 31 * MIN)
    assert report.released == [booking.pk]
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ENDED
    assert booking.end_reason == EndReason.NO_SHOW
    assert booking.ended_at == start + 31 * MIN
    assert not BookedCard.objects.filter(booking=booking, released=False).exists()
    entry = AuditEntry.objects.get(booking=booking, action=AuditAction.RELEASE)
    assert entry.actor is None
    assert entry.reason == "no deployment after 30 min"
    note = Notification.objects.get(booking=booking, kind=NotificationKind.RELEASED)
    assert "was released" in note.text
    # The cards are free again for the rest of the window.
    theirs = book_cards(
        admin_user,
        team=other_team,
        node=node,
        start=start + 32 * MIN,
        end=start + hours(1),
        purpose="y",
        devices=[0, 1],
        now=start + 32 * MIN,
    )
    assert theirs.devices == [0, 1]


def test_a_booking_with_a_deployment_is_kept_even_after_it_stops(member_user, team, node, start):
    booking = book(member_user, team, node, start)
    set_card(node, 1, containers=[{"id": "abc", "name": "npufleet-job-9", "managed": True}])
    run_lifecycle(start + 10 * MIN)
    booking.refresh_from_db()
    assert booking.deployment_seen_at == start + 10 * MIN
    set_card(node, 1, containers=[])
    assert run_lifecycle(start + 45 * MIN).released == []
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE


def test_foreign_processes_are_not_a_deployment(member_user, team, node, start):
    booking = book(member_user, team, node, start)
    set_card(node, 0, processes=[{"pid": 7, "name": "python", "container": "", "managed": False}])
    assert run_lifecycle(start + 31 * MIN).released == [booking.pk]


def test_no_show_minutes_are_configurable(settings, member_user, team, node, start):
    settings.FLEET_BOOKING_NO_SHOW_MINUTES = 10
    booking = book(member_user, team, node, start)
    assert run_lifecycle(start + 11 * MIN).released == [booking.pk]


def test_at_the_end_containers_are_stopped_after_the_grace_period(
    settings, member_user, team, node, start
):
    settings.FLEET_BOOKING_STOP_GRACE_MINUTES = 5
    booking = book(member_user, team, node, start)
    set_card(node, 0, processes=managed("npufleet-job-3"))
    set_card(node, 4, processes=managed("npufleet-job-other"))  # not on the booked cards
    stopper = Recorder()
    run_lifecycle(start + 20 * MIN, stopper=stopper)
    report = run_lifecycle(booking.end + 1 * MIN, stopper=stopper)
    assert report.ended == [booking.pk]
    assert stopper.calls == []
    report = run_lifecycle(booking.end + 6 * MIN, stopper=stopper)
    assert stopper.calls == [("node-a", ["npufleet-job-3"])]
    assert report.stopped == {booking.pk: ["npufleet-job-3"]}
    entry = AuditEntry.objects.get(booking=booking, action=AuditAction.STOP)
    assert "npufleet-job-3" in entry.summary
    assert entry.changes == {"containers": [["npufleet-job-3"], []]}
    run_lifecycle(booking.end + 7 * MIN, stopper=stopper)
    assert len(stopper.calls) == 1


def test_the_next_teams_containers_are_not_stopped(
    member_user, admin_user, team, other_team, node, start
):
    mine = book(member_user, team, node, start)
    set_card(node, 0, processes=managed("npufleet-job-3", mine.pk))
    run_lifecycle(start + 10 * MIN)
    theirs = book_cards(
        admin_user,
        team=other_team,
        node=node,
        start=mine.end,
        end=mine.end + hours(1),
        purpose="next",
        devices=[0, 1],
        now=start,
    )
    set_card(
        node, 0, processes=managed("npufleet-job-3", mine.pk) + managed("npufleet-job-4", theirs.pk)
    )
    # Untagged, on a card the next booking holds now: whose it is cannot be told, so it stays.
    set_card(node, 1, processes=managed("npufleet-job-5"))
    stopper = Recorder()
    run_lifecycle(mine.end + 10 * MIN, stopper=stopper)
    assert stopper.calls == [("node-a", ["npufleet-job-3"])]


def test_a_failed_stop_is_retried_next_tick(member_user, team, node, start):
    booking = book(member_user, team, node, start)
    set_card(node, 0, processes=managed("npufleet-job-3"))
    run_lifecycle(start + 10 * MIN)
    cancel_booking(member_user, booking, now=start + 20 * MIN)
    failing = Recorder(fail=True)
    run_lifecycle(start + 40 * MIN, stopper=failing)
    assert len(failing.calls) == 1
    booking.refresh_from_db()
    assert booking.containers_stopped_at is None
    working = Recorder()
    run_lifecycle(start + 41 * MIN, stopper=working)
    assert working.calls == [("node-a", ["npufleet-job-3"])]


def test_a_booking_cancelled_before_it_started_stops_nothing(member_user, team, node, start):
    booking = book_cards(
        member_user,
        team=team,
        node=node,
        start=start + hours(2),
        end=start + hours(3),
        purpose="x",
        devices=[0],
        now=start,
    )
    set_card(node, 0, processes=managed("someone-elses"))
    cancel_booking(member_user, booking, now=start)
    stopper = Recorder()
    run_lifecycle(start + hours(4), stopper=stopper)
    assert stopper.calls == []


def test_without_a_registered_stopper_nothing_is_stopped_and_the_next_tick_tries_again(
    member_user, team, node, start
):
    booking = book(member_user, team, node, start)
    set_card(node, 0, processes=managed("npufleet-job-3"))
    run_lifecycle(start + 10 * MIN)
    cancel_booking(member_user, booking, now=start + 20 * MIN)
    with hooks.overridden(deployment_check=JOB_ENGINE_HOOKS[0], container_stopper=None):
        with pytest.raises(hooks.NoStopper):
            hooks.stop_managed_containers(booking)
        assert run_lifecycle(start + 40 * MIN).stopped == {}
    booking.refresh_from_db()
    assert booking.containers_stopped_at is None
    working = Recorder()
    run_lifecycle(start + 41 * MIN, stopper=working)
    assert working.calls == [("node-a", ["npufleet-job-3"])]


def test_the_job_engine_can_register_its_own_hooks(member_user, team, node, start):
    seen = []
    stopper = Recorder()
    with hooks.overridden(
        deployment_check=lambda b: seen.append(b.pk) or True, container_stopper=stopper
    ):
        booking = book(member_user, team, node, start)
        set_card(node, 0, processes=managed("npufleet-job-8"))
        assert run_lifecycle(start + 31 * MIN).released == []
        assert seen == [booking.pk]
        run_lifecycle(booking.end + hours(1))
        assert stopper.calls == [("node-a", ["npufleet-job-8"])]
    assert hooks.registered() == JOB_ENGINE_HOOKS


def test_an_override_is_undone_when_its_block_raises():
    with pytest.raises(RuntimeError), hooks.overridden(container_stopper=Recorder()):
        raise RuntimeError("test body failed")
    assert hooks.registered() == JOB_ENGINE_HOOKS


def test_the_periodic_task_runs_a_tick_and_is_scheduled(member_user, team, node):
    from django_celery_beat.models import PeriodicTask

    from fleet.booking.tasks import run_booking_lifecycle
    from fleet.schedules import ensure_schedules

    booking_start = timezone.now() - timedelta(minutes=40)
    book(member_user, team, node, booking_start)
    counts = run_booking_lifecycle.apply().get()
    assert counts["released"] == 1
    ensure_schedules()
    task = PeriodicTask.objects.get(task="fleet.booking.tasks.run_booking_lifecycle")
    assert task.enabled and task.interval.every == 60
