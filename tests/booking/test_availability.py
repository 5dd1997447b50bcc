"""Availability: the earliest window with N free cards for H hours, across the fleet."""

from __future__ import annotations

import pytest

from fleet.booking.errors import BookingInvalid
from fleet.booking.services.availability import find_available
from fleet.booking.services.bookings import book_cards
from tests.booking.conftest import hours, make_node, set_card


def hold(user, team, node, start, end, devices):
    return book_cards(
        user,
        team=team,
        node=node,
        start=start,
        end=end,
        purpose="hold",
        devices=devices,
        now=start,
        override_reason="fill",
    )


def test_the_earliest_start_is_when_enough_cards_come_free(admin_user, team, node, now):
    hold(admin_user, team, node, now, now + hours(3), [0, 1, 2, 3])
    hold(admin_user, team, node, now, now + hours(3), [4, 5])
    hold(admin_user, team, node, now, now + hours(5), [6, 7])
    answer = find_available(admin_user, count=4, hours=2, now=now)
    [option] = answer.options
    assert option.start == now + hours(3)
    assert option.end == now + hours(5)
    assert option.devices == (0, 1, 2, 3)
    assert find_available(admin_user, count=2, hours=2, now=now).options[0].start == now + hours(3)
    assert find_available(admin_user, count=8, hours=1, now=now).options[0].start == now + hours(5)


def test_a_window_that_would_run_into_a_later_booking_is_skipped(admin_user, team, node, now):
    hold(admin_user, team, node, now + hours(2), now + hours(4), [0, 1, 2, 3, 4, 5, 6, 7])
    assert find_available(admin_user, count=1, hours=2, now=now).options[0].start == now
    option = find_available(admin_user, count=1, hours=3, now=now).options[0]
    assert option.start == now + hours(4)


def test_earliest_and_node_filters_are_respected(admin_user, team, node, node_b, now):
    answer = find_available(
        admin_user, count=2, hours=1, earliest=now + hours(6), nodes=[node_b], now=now
    )
    assert [(o.node.name, o.start) for o in answer.options] == [("node-b", now + hours(6))]


def test_at_the_same_start_a_node_that_keeps_the_job_in_one_half_comes_first(
    admin_user, team, node, node_b, now
):
    # node-a: cards 0 and 4 taken, so 4 cards must span both halves; node-b is empty.
    hold(admin_user, team, node, now, now + hours(8), [0])
    hold(admin_user, team, node, now, now + hours(8), [4])
    options = find_available(admin_user, count=4, hours=2, now=now).options
    assert [o.node.name for o in options] == ["node-b", "node-a"]
    assert options[1].split is True
    assert "span both HCCS halves" in options[1].reason


def test_cordoned_nodes_and_bad_cards_are_left_out_with_the_reason(admin_user, now):
    cordoned = make_node("node-a", cordoned=True, cordon_reason="RMA")
    sick = make_node("node-b")
    for device in range(5):
        set_card(sick, device, health="Critical")
    answer = find_available(admin_user, count=4, hours=1, now=now)
    assert answer.options == []
    assert answer.unavailable[cordoned.name] == "cordoned: RMA"
    assert "only 3 of 8 cards are free" in answer.unavailable["node-b"]
    assert "0 unhealthy" in answer.unavailable["node-b"]


def test_bad_questions_are_refused(admin_user, node, now):
    with pytest.raises(BookingInvalid) as err:
        find_available(admin_user, count=2, hours=0, now=now)
    assert err.value.field == "hours"
    with pytest.raises(BookingInvalid):
        find_available(admin_user, count=0, hours=1, now=now)


def test_the_answer_costs_the_same_for_2_and_12_nodes(
    admin_user, team, now, django_assert_max_num_queries
):
    nodes = [make_node(f"node-{i}") for i in range(2)]
    for n in nodes:
        hold(admin_user, team, n, now, now + hours(1), [0, 1])
    with django_assert_max_num_queries(4):
        assert len(find_available(admin_user, count=2, hours=1, now=now).options) == 2
    for i in range(2, 12):
        hold(admin_user, team, make_node(f"node-{i}"), now, now + hours(1), [0, 1])
    with django_assert_max_num_queries(4):
        assert len(find_available(admin_user, count=2, hours=1, now=now).options) == 12
