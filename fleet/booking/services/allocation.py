"""Which cards of a node to hand out for a booking: a pure function of the cards' states.

On 8-card boxes a job takes 1, 2, 4 or 8 cards and stays inside one HCCS half (cards 0-3 or
4-7) when it fits; among halves that fit it takes the fullest one, so whole halves stay free
for the 4-card jobs that need them. Cards that are unhealthy, cordoned, held by a process the
dashboard does not manage, or booked in the window are never handed out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fleet.booking.choices import EIGHT_CARD_COUNTS, HCCS_HALVES


@dataclass(frozen=True)
class CardState:
    """What the allocator needs to know about one card for the requested window."""

    device: int
    busy: bool = False
    unhealthy: bool = False
    cordoned: bool = False
    foreign: bool = False
    absent: bool = False

    @property
    def blocker(self) -> str | None:
        """Why the card cannot be handed out, or None when it is free."""
        if self.cordoned:
            return "cordoned"
        if self.absent:
            return "missing from the last probe"
        if self.unhealthy:
            return "unhealthy"
        if self.foreign:
            return "held by a foreign process"
        if self.busy:
            return "booked"
        return None


@dataclass(frozen=True)
class Allocation:
    """The chosen devices, a sentence saying why these, and whether they span both halves."""

    devices: tuple[int, ...]
    reason: str
    split: bool = False


class AllocationError(ValueError):
    """No allowed set of cards exists; the message says what blocked it."""


def allowed_counts(total_cards: int) -> tuple[int, ...]:
    """Card counts a job may take on a node with `total_cards` cards."""
    if total_cards == EIGHT_CARD_COUNTS[-1]:
        return EIGHT_CARD_COUNTS
    return tuple(range(1, total_cards + 1))


def check_count(count: int, total_cards: int) -> None:
    """Raise AllocationError unless `count` cards is an allowed job size on this node."""
    allowed = allowed_counts(total_cards)
    if count not in allowed:
        sizes = ", ".join(str(n) for n in allowed)
        raise AllocationError(
            f"{count} cards is not a job size on a {total_cards}-card node: use {sizes}."
        )


def _span(devices: Sequence[int]) -> str:
    return ", ".join(str(d) for d in devices)


def _halves_of(cards: Sequence[CardState]) -> list[tuple[tuple[int, ...], list[int]]]:
    """Each HCCS half as (its devices, its free devices) when the node is an 8-card box."""
    present = {c.device for c in cards}
    if present != {d for half in HCCS_HALVES for d in half}:
        return []
    free = {c.device for c in cards if c.blocker is None}
    return [(half, [d for d in half if d in free]) for half in HCCS_HALVES]


def _blocked_summary(cards: Sequence[CardState]) -> str:
    blocked = [
        f"{c.device} {c.blocker}" for c in sorted(cards, key=lambda c: c.device) if c.blocker
    ]
    return "; ".join(blocked) if blocked else "none"


def allocate(cards: Sequence[CardState], count: int) -> Allocation:
    """Pick `count` free cards, keeping to one HCCS half and packing partly used halves first."""
    check_count(count, len(cards))
    free = sorted(c.device for c in cards if c.blocker is None)
    if len(free) < count:
        raise AllocationError(
            f"only {len(free)} of {len(cards)} cards are free, {count} needed "
            f"(blocked: {_blocked_summary(cards)})."
        )
    halves = _halves_of(cards)
    if not halves or count == len(cards):
        chosen = tuple(free[:count])
        return Allocation(chosen, f"cards {_span(chosen)}: the lowest free cards.")
    fitting = [(half, half_free) for half, half_free in halves if len(half_free) >= count]
    if fitting:
        # Best fit: the half with the fewest free cards that still holds the job.
        half, half_free = min(fitting, key=lambda item: (len(item[1]), item[0][0]))
        chosen = tuple(half_free[:count])
        used = len(half) - len(half_free)
        where = f"half {half[0]}-{half[-1]}"
        if used:
            why = f"{where} already has {used} card(s) taken, so the other half stays whole."
        elif len(fitting) > 1:
            why = f"{where} is free; the first of two free halves."
        else:
            why = f"{where} is the only half with {count} free card(s)."
        return Allocation(chosen, f"cards {_span(chosen)} in {why}")
    chosen = tuple(free[:count])
    return Allocation(
        chosen,
        f"cards {_span(chosen)} span both HCCS halves: no half has {count} free cards.",
        split=True,
    )
