"""The booking forms help: a valid default start in the user's zone, and an extension refusal
that says why (quota, the next booking, too far ahead, not live, bad hours)."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fleet.booking.models import Booking
from fleet.booking.pages.forms import next_start
from fleet.booking.services.bookings import book_cards, cancel_booking

KATHMANDU = zoneinfo.ZoneInfo("Asia/Kathmandu")  # UTC+05:45: quarter hours still line up


@pytest.fixture
def member_client(client, member_user):
    client.force_login(member_user)
    return client


def book(user, team, node, start, hours=2, devices=(0, 1), purpose="page test"):
    return book_cards(
        user, team=team, node=node, start=start, end=start + timedelta(hours=hours),
        purpose=purpose, devices=list(devices),
    )  # fmt: skip


def value_of(html: str, name: str) -> str:
    """A field's value in the booking form (the page's navigation has a start field too)."""
    form = html.split('id="book-form"', 1)[1]
    return form.split(f'name="{name}"', 1)[1].split('value="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-03-01T10:00:00", "2026-03-01T10:00"),
        ("2026-03-01T10:00:01", "2026-03-01T10:15"),
        ("2026-03-01T10:14:59", "2026-03-01T10:15"),
        ("2026-03-01T23:50:00", "2026-03-02T00:00"),
    ],
)
def test_next_start_rounds_up_to_the_next_quarter_hour_in_the_active_zone(now, expected):
    with timezone.override(KATHMANDU):
        moment = datetime.fromisoformat(now).replace(tzinfo=KATHMANDU)
        start = next_start(moment)
        assert start.strftime("%Y-%m-%dT%H:%M") == expected
        assert start >= moment
        assert start.utcoffset() == timedelta(hours=5, minutes=45)


def test_timeline_form_defaults_to_a_start_the_rules_accept_in_the_users_zone(
    member_client, team, node
):
    member_client.post(reverse("booking-time-zone"), {"time_zone": "Asia/Kathmandu"})
    url = reverse("booking-timeline", args=[node.pk])
    before = timezone.now()

    html = member_client.get(url).content.decode()

    shown = datetime.fromisoformat(value_of(html, "start")).replace(tzinfo=KATHMANDU)
    assert shown.minute % 15 == 0
    assert before - timedelta(minutes=1) < shown <= before + timedelta(minutes=15)
    # The page as offered books without touching the start.
    form = {
        "team": team.pk, "cards": [0], "start": value_of(html, "start"),
        "hours": value_of(html, "hours"), "purpose": "defaults",
    }  # fmt: skip
    assert member_client.post(url, form).status_code == 302
    assert Booking.objects.get().start == shown


def test_a_free_slot_already_begun_offers_the_next_quarter_hour(member_client, node):
    html = member_client.get(reverse("booking-timeline", args=[node.pk])).content.decode()

    pick = html.split('class="pick"', 1)[1]
    first = pick.split('data-start="', 1)[1].split('"', 1)[0]
    end = pick.split('data-end="', 1)[1].split('"', 1)[0]
    now = timezone.localtime()
    assert first == next_start().strftime("%Y-%m-%dT%H:%M")
    hour_end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    assert end == hour_end.strftime("%Y-%m-%dT%H:%M")  # booking.js books up to the hour's end
    assert timezone.make_aware(datetime.fromisoformat(first)) >= now - timedelta(minutes=1)


def test_a_timeline_link_to_a_past_moment_still_defaults_to_a_valid_start(member_client, node):
    past = (timezone.localtime() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    html = member_client.get(
        reverse("booking-timeline", args=[node.pk]), {"at": past}
    ).content.decode()
    assert value_of(html, "start") == next_start().strftime("%Y-%m-%dT%H:%M")


def extend(client, booking, hours) -> str:
    return client.post(
        reverse("booking-extend", args=[booking.pk]), {"hours": hours}, HTTP_HX_REQUEST="true"
    ).content.decode()


@pytest.fixture
def hour():
    return timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)


def test_extension_into_the_next_booking_says_how_far_it_can_go(
    member_client, member_user, admin_user, team, other_team, node, hour
):
    mine = book(member_user, team, node, hour)
    theirs = book(admin_user, other_team, node, hour + timedelta(hours=3), purpose="secret plan")

    row = extend(member_client, mine, 2)

    assert f"Cannot extend booking #{mine.pk} by 2 h: the cards are booked next" in row
    assert f"team Speech (booking #{theirs.pk}" in row  # what the timeline shows too
    assert "extend by at most 1 h" in row
    assert "secret plan" not in row
    mine.refresh_from_db()
    assert mine.end == hour + timedelta(hours=2)
    extend(member_client, mine, 1)
    mine.refresh_from_db()
    assert mine.end == hour + timedelta(hours=3)
    assert "The next booking starts when this one ends" in extend(member_client, mine, 1)


def test_extension_over_quota_says_it_is_the_quota(member_client, member_user, team, node, hour):
    booking = book(member_user, team, node, hour)  # 2 cards x 2 h = 4 card-hours
    team.max_card_hours_per_week = 5
    team.save()

    row = extend(member_client, booking, 2)

    assert (
        f"Cannot extend booking #{booking.pk} by 2 h: the quota of team Vision does not allow it"
        in row
    )
    assert "Over quota" in row


def test_extension_too_far_ahead_names_the_limit(
    member_client, member_user, team, node, hour, settings
):
    settings.FLEET_BOOKING_MAX_DAYS_AHEAD = 1
    booking = book(member_user, team, node, hour)

    row = extend(member_client, booking, 48)

    assert f"Cannot extend booking #{booking.pk} by 48 h" in row
    assert "more than 1 days ahead" in row


def test_extending_an_ended_booking_says_it_is_not_live(
    member_client, member_user, team, node, hour
):
    booking = book(member_user, team, node, hour)
    cancel_booking(member_user, booking)

    row = extend(member_client, booking, 1)

    assert "is cancelled; only upcoming or active bookings can change" in row


def test_bad_hours_name_the_field_instead_of_a_wrong_reason(
    member_client, member_user, team, node, hour
):
    booking = book(member_user, team, node, hour)

    row = extend(member_client, booking, "0")

    assert "Add hours:" in row and "greater than or equal to 0.25" in row
    assert "later than the current end" not in row
    booking.refresh_from_db()
    assert booking.end == hour + timedelta(hours=2)
