"""The allocator: job sizes, HCCS halves, packing partly used halves, skipping bad cards."""

from __future__ import annotations

import pytest

from fleet.booking.services.allocation import AllocationError, CardState, allocate, allowed_counts


def box(busy=(), unhealthy=(), cordoned=(), foreign=(), cards=8) -> list[CardState]:
    return [
        CardState(
            device=d,
            busy=d in busy,
            unhealthy=d in unhealthy,
            cordoned=d in cordoned,
            foreign=d in foreign,
        )
        for d in range(cards)
    ]


def test_eight_card_nodes_take_one_two_four_or_eight():
    assert allowed_counts(8) == (1, 2, 4, 8)
    assert allowed_counts(4) == (1, 2, 3, 4)


@pytest.mark.parametrize("count", [0, 3, 5, 6, 7, 9])
def test_a_count_that_is_not_a_job_size_is_refused(count):
    with pytest.raises(AllocationError, match="use 1, 2, 4, 8"):
        allocate(box(), count)


def test_an_empty_box_gives_the_lower_half_first():
    assert allocate(box(), 4).devices == (0, 1, 2, 3)
    assert allocate(box(), 2).devices == (0, 1)
    assert allocate(box(), 1).devices == (0,)


def test_four_cards_take_the_whole_free_half():
    choice = allocate(box(busy={0}), 4)
    assert choice.devices == (4, 5, 6, 7)
    assert "half 4-7" in choice.reason


def test_small_jobs_pack_into_the_half_already_partly_booked():
    # Half 4-7 has a booking; two more cards go next to it so half 0-3 stays whole.
    choice = allocate(box(busy={4}), 2)
    assert choice.devices == (5, 6)
    assert "already has 1 card(s) taken" in choice.reason
    assert allocate(box(busy={4, 5, 6}), 1).devices == (7,)


def test_packing_picks_the_fullest_half_that_still_fits():
    # Half 0-3 has one free card, half 4-7 three: a 2-card job cannot fit in 0-3, goes to 4-7.
    assert allocate(box(busy={0, 1, 2, 4}), 2).devices == (5, 6)
    # A 1-card job fills the last hole of half 0-3 instead of breaking into 4-7.
    assert allocate(box(busy={0, 1, 2, 4}), 1).devices == (3,)


def test_fragmented_box_spans_halves_only_when_no_half_fits_and_says_so():
    choice = allocate(box(busy={0, 1, 4, 5}), 4)
    assert choice.devices == (2, 3, 6, 7)
    assert "span both HCCS halves" in choice.reason
    choice = allocate(box(busy={0, 1, 2, 4, 5, 6}), 2)
    assert choice.devices == (3, 7)


def test_unhealthy_cordoned_and_foreign_cards_are_skipped():
    choice = allocate(box(unhealthy={0}, cordoned={1}, foreign={2}), 4)
    assert choice.devices == (4, 5, 6, 7)
    choice = allocate(box(unhealthy={4}, cordoned={5}, foreign={6}), 1)
    assert choice.devices == (7,)  # packs into the damaged half, keeps 0-3 whole


def test_eight_cards_need_every_card_free():
    assert allocate(box(), 8).devices == tuple(range(8))
    with pytest.raises(AllocationError, match=r"only 7 of 8 cards are free.*6 unhealthy"):
        allocate(box(unhealthy={6}), 8)


def test_not_enough_free_cards_names_what_blocks_them():
    with pytest.raises(AllocationError) as err:
        allocate(box(busy={0, 1, 2, 3, 4}, cordoned={5}, foreign={6}), 2)
    message = str(err.value)
    assert "only 1 of 8 cards are free, 2 needed" in message
    assert "5 cordoned" in message
    assert "6 held by a foreign process" in message
    assert "0 booked" in message


def test_nodes_without_halves_take_the_lowest_free_cards():
    choice = allocate(box(busy={0}, cards=4), 3)
    assert choice.devices == (1, 2, 3)
    assert "lowest free" in choice.reason
