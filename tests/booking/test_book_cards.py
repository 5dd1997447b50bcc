"""book_cards and friends: the happy path, every refusal, and that refusals save nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fleet.booking.choices import AuditAction, BookingStatus
from fleet.booking.errors import (
    BookingConflict,
    BookingInvalid,
    BookingNotAllowed,
    CardsUnavailable,
    NoCapacity,
)
from fleet.booking.models import AuditEntry, BookedCard, Booking, Membership
from fleet.booking.services.bookings import (
    book_cards,
    cancel_booking,
    change_booking,
    extend_booking,
)
from tests.booking.conftest import hours, make_node, set_card


def book(user, team, node, start, length=2, **kw):
    kw.setdefault("purpose", "vLLM serving test")
    if "devices" not in kw and "count" not in kw:
        kw["devices"] = [0, 1]
    return book_cards(user, team=team, node=node, start=start, end=start + hours(length), **kw)


def test_booking_cards_by_hand_holds_exactly_those_cards(member_user, team, node, now):
    booking = book(member_user, team, node, now, devices=[2, 3])
    assert booking.devices == [2, 3]
    assert booking.status == BookingStatus.UPCOMING
    assert booking.created_by == member_user
    rows = BookedCard.objects.filter(booking=booking)
    assert {(r.start, r.end) for r in rows} == {(now, now + hours(2))}
    entry = AuditEntry.objects.get(booking=booking)
    assert entry.action == AuditAction.CREATE
    assert entry.actor == member_user
    assert entry.changes["cards"] == [None, [2, 3]]


def test_a_booking_that_starts_now_is_active_at_once(member_user, team, node):
    booking = book(member_user, team, node, timezone.now())
    assert booking.status == BookingStatus.ACTIVE


def test_booking_by_count_uses_the_allocator_and_keeps_its_reason(member_user, team, node, now):
    book(member_user, team, node, now, devices=[4])
    booking = book(member_user, team, node, now, count=2)
    assert booking.devices == [5, 6]
    assert "half 4-7" in booking.allocation_note


def test_booking_refuses_card_already_booked_naming_booking_team_and_window(
    member_user, admin_user, team, other_team, node, now
):
    theirs = book(admin_user, other_team, node, now, devices=[1, 2])
    with pytest.raises(BookingConflict) as err:
        book(member_user, team, node, now + hours(1), devices=[0, 1])
    error = err.value
    assert error.status_code == 409
    assert f"booking #{theirs.pk}" in error.message
    assert "team Speech" in error.message
    assert "card(s) 1 already booked" in error.message
    assert error.details["conflicts"] == [
        {
            "booking": theirs.pk,
            "team": "Speech",
            "start": theirs.start.isoformat(),
            "end": theirs.end.isoformat(),
            "cards": [1],
        }
    ]
    assert Booking.objects.count() == 1


def test_back_to_back_windows_do_not_conflict(member_user, team, node, now):
    book(member_user, team, node, now, length=2)
    second = book(member_user, team, node, now + hours(2), length=2)
    assert second.devices == [0, 1]


def test_a_cancelled_booking_frees_its_cards(member_user, team, node, now):
    first = book(member_user, team, node, now)
    cancel_booking(member_user, first, reason="plans changed")
    second = book(member_user, team, node, now)
    assert second.devices == [0, 1]
    first.refresh_from_db()
    assert first.status == BookingStatus.CANCELLED
    cancel = AuditEntry.objects.get(booking=first, action=AuditAction.CANCEL)
    assert cancel.reason == "plans changed"
    assert cancel.changes["status"] == ["upcoming", "cancelled"]


@pytest.mark.parametrize(
    ("start_shift", "length", "field", "text"),
    [
        (0, -1, "end", "before the start"),
        (0, 0, "end", "empty"),
        (-5, 2, "end", "already over"),
        (-2, 3, "start", "in the past"),
        (24 * 100, 2, "end", "more than 90 days"),
    ],
)
def test_bad_windows_are_refused_with_the_field_at_fault(
    member_user, team, node, now, start_shift, length, field, text
):
    with pytest.raises(BookingInvalid) as err:
        book(member_user, team, node, now + hours(start_shift), length=length)
    assert err.value.field == field
    assert text in err.value.message
    assert not Booking.objects.exists()


def test_naive_times_are_refused(member_user, team, node, now):
    naive = timezone.make_naive(now)
    with pytest.raises(BookingInvalid, match="no time zone"):
        book_cards(
            member_user,
            team=team,
            node=node,
            start=naive,
            end=naive + hours(1),
            purpose="x",
            devices=[0],
        )


def test_cards_not_on_the_node_are_refused(member_user, team, node, now):
    with pytest.raises(BookingInvalid) as err:
        book(member_user, team, node, now, devices=[7, 8, 9, 1])
    assert err.value.field == "cards"
    assert "has no card 8, 9; its cards are 0-7" in err.value.message


def test_three_cards_on_an_eight_card_node_are_refused(member_user, team, node, now):
    for kwargs, field in (({"count": 3}, "count"), ({"devices": [0, 1, 2]}, "cards")):
        with pytest.raises(BookingInvalid) as err:
            book(member_user, team, node, now, **kwargs)
        assert err.value.field == field
        assert "use 1, 2, 4, 8" in err.value.message
    assert not Booking.objects.exists()


def test_booking_for_a_team_the_user_is_not_in_is_refused(member_user, other_team, node, now):
    with pytest.raises(BookingInvalid) as err:
        book(member_user, other_team, node, now)
    assert err.value.field == "team"
    assert "not a member of team Speech" in err.value.message
    assert "Vision" in err.value.message
    assert not Booking.objects.exists()


def test_booking_across_a_cordon_is_refused(member_user, team, node, now):
    set_card(node, 1, cordoned=True, cordon_reason="HBM ECC errors")
    with pytest.raises(CardsUnavailable, match=r"card 1 is cordoned \(HBM ECC errors\)"):
        book(member_user, team, node, now, devices=[0, 1])
    node.cordoned, node.cordon_reason = True, "rack move"
    node.save()
    with pytest.raises(CardsUnavailable, match="rack move") as err:
        book(member_user, team, node, now, count=1)
    assert err.value.status_code == 409
    assert not Booking.objects.exists()


def test_unhealthy_and_foreign_held_cards_cannot_be_chosen_by_hand(member_user, team, node, now):
    set_card(node, 0, health="Alarm")
    set_card(node, 1, processes=[{"pid": 4242, "name": "python", "managed": False}])
    with pytest.raises(CardsUnavailable) as err:
        book(member_user, team, node, now, devices=[0, 1])
    assert "card 0 is unhealthy (Alarm)" in err.value.message
    assert "card 1 is held by a process outside the dashboard" in err.value.message
    assert "4242" not in err.value.message  # nobody's pid is named to a member


def test_a_full_node_reports_no_capacity(member_user, team, node, now):
    book(member_user, team, node, now, count=8)
    with pytest.raises(NoCapacity, match="only 0 of 8 cards are free"):
        book(member_user, team, node, now, count=1)


def test_a_node_without_cards_is_refused(member_user, team, now):
    empty = make_node("empty", cards=0)
    with pytest.raises(BookingInvalid, match="no known cards yet"):
        book(member_user, team, empty, now, count=1)


def test_extending_is_allowed_while_the_cards_are_free(
    member_user, admin_user, team, other_team, node, now
):
    mine = book(member_user, team, node, now, devices=[0, 1])
    mine.warnings_sent = [30]
    mine.save()
    extended = extend_booking(member_user, mine, now + hours(4))
    assert extended.end == now + hours(4)
    assert extended.warnings_sent == []
    assert set(BookedCard.objects.filter(booking=mine).values_list("end", flat=True)) == {
        now + hours(4)
    }
    entry = AuditEntry.objects.get(booking=mine, action=AuditAction.EXTEND)
    assert entry.changes["end"] == [(now + hours(2)).isoformat(), (now + hours(4)).isoformat()]
    book(admin_user, other_team, node, now + hours(5), devices=[1])
    with pytest.raises(BookingConflict, match="team Speech"):
        extend_booking(member_user, mine, now + hours(6))
    mine.refresh_from_db()
    assert mine.end == now + hours(4)


def test_extend_must_move_the_end_later(member_user, team, node, now):
    mine = book(member_user, team, node, now)
    with pytest.raises(BookingInvalid, match="later than the current end"):
        extend_booking(member_user, mine, now + hours(1))


def test_moving_a_booking_to_other_cards_rechecks_them(member_user, team, node, node_b, now):
    mine = book(member_user, team, node, now, devices=[0, 1])
    moved = change_booking(member_user, mine, node=node_b, reason="node-a cordoned")
    assert moved.node == node_b
    assert moved.devices == [0, 1]
    entry = AuditEntry.objects.get(booking=mine, action=AuditAction.CHANGE)
    assert entry.changes["node"] == ["node-a", "node-b"]
    assert entry.reason == "node-a cordoned"
    again = book(member_user, team, node, now, devices=[0, 1])
    assert again.node == node


def test_members_cannot_change_other_teams_bookings(member_user, admin_user, other_team, node, now):
    theirs = book(admin_user, other_team, node, now)
    with pytest.raises(BookingNotAllowed):
        cancel_booking(member_user, theirs)
    with pytest.raises(BookingNotAllowed):
        extend_booking(member_user, theirs, now + hours(5))
    theirs.refresh_from_db()
    assert theirs.status == BookingStatus.UPCOMING


def test_a_cancelled_booking_cannot_be_cancelled_again(member_user, team, node, now):
    mine = book(member_user, team, node, now)
    cancel_booking(member_user, mine)
    with pytest.raises(BookingConflict, match="is cancelled"):
        cancel_booking(member_user, mine)


def test_team_admin_role_is_a_membership_like_any_other(member_user, team, node, now):
    Membership.objects.filter(user=member_user).update(role="admin")
    assert book(member_user, team, node, now).team == team


def test_purpose_is_required(member_user, team, node, now):
    with pytest.raises(BookingInvalid) as err:
        book(member_user, team, node, now, purpose="  ")
    assert err.value.field == "purpose"


def test_start_a_moment_ago_counts_as_now(member_user, team, node):
    booking = book(member_user, team, node, timezone.now() - timedelta(minutes=2))
    assert booking.status == BookingStatus.ACTIVE


def test_shortening_is_recorded_as_a_change_not_an_extension(member_user, team, node, now):
    mine = book(member_user, team, node, now, length=4)
    change_booking(member_user, mine, end=now + hours(2))
    entry = AuditEntry.objects.get(booking=mine, action=AuditAction.CHANGE)
    assert entry.changes["end"] == [(now + hours(4)).isoformat(), (now + hours(2)).isoformat()]
    assert not AuditEntry.objects.filter(booking=mine, action=AuditAction.EXTEND).exists()
