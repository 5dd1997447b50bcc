"""The demo's booking waits for the person doing the README walk-through: the no-show rule
releases other bookings with nothing deployed, never a site admin's "demo:" booking."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from devsim.demo_setup import DEMO_CARDS, DEMO_HOURS, DemoSetup, book_demo_cards
from fleet.booking.choices import BookingStatus, EndReason
from fleet.booking.models import Booking, Membership
from fleet.booking.services.bookings import book_cards
from fleet.booking.services.lifecycle import run_lifecycle
from tests.booking.conftest import hours

pytestmark = pytest.mark.django_db
MIN = timedelta(minutes=1)


@pytest.fixture
def start():
    return timezone.now().replace(second=0, microsecond=0)


def book(user, team, node, start, purpose: str, devices: list[int]) -> Booking:
    return book_cards(
        user,
        team=team,
        node=node,
        start=start,
        end=start + hours(8),
        purpose=purpose,
        devices=devices,
        now=start,
    )


def test_a_site_admins_demo_booking_outlives_the_no_show_time_others_do_not(
    admin_user, member_user, team, node, start, settings
):
    demo = book(admin_user, team, node, start, "demo: serve the example recipes", [0, 1])
    plain = book(admin_user, team, node, start, "serve the example recipes", [2])
    # A member cannot exempt a booking by naming it a demo.
    members = book(member_user, team, node, start, "demo: my own test", [3])

    late = start + (settings.FLEET_BOOKING_NO_SHOW_MINUTES + 90) * MIN
    report = run_lifecycle(late)

    assert sorted(report.released) == sorted([plain.pk, members.pk])
    for booking in (plain, members):
        booking.refresh_from_db()
        assert booking.end_reason == EndReason.NO_SHOW
    demo.refresh_from_db()
    assert demo.status == BookingStatus.ACTIVE
    assert demo.devices == [0, 1]
    # It still ends at its end like any booking.
    assert run_lifecycle(demo.end + MIN).ended == [demo.pk]


def test_the_demo_books_one_hccs_half_as_the_site_admin_once(admin_user, team, node):
    booking, made = book_demo_cards(admin_user, team, node)

    assert made is True
    assert booking.devices == DEMO_CARDS == [0, 1, 2, 3]
    assert booking.created_by == admin_user
    assert booking.purpose.startswith("demo:")
    assert booking.end - booking.start == timedelta(hours=DEMO_HOURS)
    # Nobody arrives for two hours: still there when they do.
    later = timezone.now() + hours(2)
    assert booking.pk not in run_lifecycle(later).released
    # A demo restart keeps it instead of booking again.
    again, made_again = book_demo_cards(admin_user, team, node)
    assert (again.pk, made_again) == (booking.pk, False)
    assert Booking.objects.count() == 1


def test_the_demo_says_why_when_its_cards_are_taken(admin_user, team, other_team, node):
    now = timezone.now()
    book_cards(
        admin_user,
        team=other_team,
        node=node,
        start=now,
        end=now + hours(9),
        purpose="someone else",
        devices=[2],
    )
    booking, why = book_demo_cards(admin_user, team, node)
    assert booking is None
    assert "2" in why and node.name in why


def test_demo_setup_books_for_vision_and_says_so(admin_user, team, monkeypatch):
    from io import StringIO

    from django.contrib.auth import get_user_model

    from devsim import serving_image
    from jobs.catalog.services.catalog_edits import ensure_seed_catalog
    from tests.booking.conftest import make_node

    monkeypatch.setattr(serving_image, "ensure_serving_image", lambda: None)  # no docker here
    ensure_seed_catalog()
    vera = get_user_model().objects.create_user("vera", "vera@example.com", "x")
    Membership.objects.create(team=team, user=vera)
    node = make_node("node-a")
    out = StringIO()
    command = DemoSetup(stdout=out)
    command._jobs(admin_user)
    command._jobs(admin_user)  # a restart

    booking = Booking.objects.get()
    assert (booking.node, booking.team, booking.devices) == (node, team, [0, 1, 2, 3])
    text = out.getvalue()
    assert f"booking {booking.pk}: node-a cards 0-3 for team vision, 8 h" in text
    assert f"booking {booking.pk} of team vision on node-a is still live" in text
