"""Quota arithmetic: cards at once, card-hours per week across week boundaries, overrides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from fleet.booking.choices import AuditAction
from fleet.booking.errors import BookingNotAllowed, QuotaExceeded
from fleet.booking.models import AuditEntry, Booking
from fleet.booking.services.bookings import book_cards, cancel_booking
from fleet.booking.services.quotas import check_quota, team_usage, week_start, weeks_between
from tests.booking.conftest import hours


def book(user, team, node, start, end, devices, **kw):
    return book_cards(
        user, team=team, node=node, start=start, end=end, purpose="training", devices=devices, **kw
    )


@pytest.fixture
def monday():
    """A Monday 00:00 UTC at least two days ahead."""
    return week_start(timezone.now() + timedelta(days=8))


def test_weeks_start_on_monday_in_the_site_zone(settings):
    moment = datetime(2025, 6, 1, 20, 0, tzinfo=UTC)  # a Sunday, 20:00 UTC
    assert week_start(moment) == datetime(2025, 5, 26, tzinfo=UTC)
    settings.TIME_ZONE = "Asia/Shanghai"  # already Monday 04:00 there
    assert week_start(moment) == datetime(2025, 6, 1, 16, 0, tzinfo=UTC)


def test_a_window_across_sunday_midnight_touches_two_weeks():
    sunday_night = datetime(2025, 6, 1, 22, tzinfo=UTC)
    weeks = weeks_between(sunday_night, sunday_night + hours(4))
    assert [w[0].date().isoformat() for w in weeks] == ["2025-05-26", "2025-06-02"]


def test_card_hours_are_split_at_the_week_boundary(member_user, team, node, monday):
    team.max_card_hours_per_week = 10
    team.save()
    sunday_20 = monday - hours(4)
    book(member_user, team, node, sunday_20, monday, [0, 1])  # 8 card-hours, all in week 1
    # 2 cards from Sunday 22:00 to Monday 04:00: 4 card-hours in week 1 (12 > 10), 8 in week 2.
    with pytest.raises(QuotaExceeded) as err:
        book(member_user, team, node, monday - hours(2), monday + hours(4), [2, 3])
    breach = err.value.details["quota"]
    assert breach == [{"quota": "card_hours_per_week", "limit": 10, "used": 8.0, "requested": 4.0}]
    assert f"week of {(monday - timedelta(days=7)):%Y-%m-%d}" in err.value.message
    assert "8.0 are booked and this adds 4.0" in err.value.message
    # From Monday 00:00 the same team has a fresh week: 2 cards x 5 h = 10, exactly the limit.
    assert book(member_user, team, node, monday, monday + hours(5), [2, 3]).pk
    assert check_quota(team, monday + hours(5), monday + hours(6), 1) != []


def test_cards_at_once_count_only_overlapping_bookings(member_user, team, node, monday):
    team.max_cards = 4
    team.save()
    book(member_user, team, node, monday, monday + hours(4), [0, 1])
    with pytest.raises(QuotaExceeded) as err:
        book(member_user, team, node, monday + hours(2), monday + hours(6), [4, 5, 6, 7])
    assert "may hold 4 cards at once; it already holds 2" in err.value.message
    assert "would make 6" in err.value.message
    assert err.value.status_code == 409
    # Back to back is fine: at no instant do both hold cards.
    assert book(member_user, team, node, monday + hours(4), monday + hours(6), [4, 5, 6, 7]).pk


def test_cancelled_bookings_stop_counting(member_user, team, node, monday):
    team.max_cards = 2
    team.save()
    first = book(member_user, team, node, monday, monday + hours(2), [0, 1])
    with pytest.raises(QuotaExceeded):
        book(member_user, team, node, monday, monday + hours(2), [2, 3])
    cancel_booking(member_user, first)
    assert book(member_user, team, node, monday, monday + hours(2), [2, 3]).pk


def test_a_site_admin_may_override_with_a_recorded_reason(admin_user, team, node, monday):
    team.max_cards = 1
    team.save()
    booking = book(
        admin_user,
        team,
        node,
        monday,
        monday + hours(2),
        [0, 1],
        override_reason="deadline for the board demo",
    )
    assert booking.override_reason == "deadline for the board demo"
    entry = AuditEntry.objects.get(booking=booking, action=AuditAction.OVERRIDE)
    assert entry.reason == "deadline for the board demo"
    assert entry.actor == admin_user
    assert entry.changes == {"max_cards": [1, 2]}


def test_members_cannot_override(member_user, team, node, monday):
    team.max_cards = 1
    team.save()
    with pytest.raises(BookingNotAllowed) as err:
        book(member_user, team, node, monday, monday + hours(2), [0, 1], override_reason="pls")
    assert err.value.field == "override_reason"
    assert not Booking.objects.exists()


def test_team_usage_reports_cards_now_and_hours_this_week(member_user, team, node):
    now = timezone.now()
    book(member_user, team, node, now, now + hours(1), [0, 1])
    usage = team_usage(team, now + timedelta(minutes=1))
    assert usage["cards_now"] == 2
    week_end = week_start(now) + timedelta(days=7)
    expected = 2 * min(1.0, (week_end - now).total_seconds() / 3600)
    assert usage["card_hours_this_week"] == pytest.approx(expected, abs=0.01)
    assert usage["max_cards"] == team.max_cards
