"""Card-level checks shared by the booking services: locks, blockers, conflicts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from fleet.allocation import CardState
from fleet.booking.choices import UNHEALTHY
from fleet.booking.errors import BookingConflict, CardsUnavailable
from fleet.booking.notify import window
from fleet.models import BookedCard, Booking, Card, Node, Team


def lock_for_booking(team: Team | None, node: Node) -> tuple[Node, list[Card]]:
    """Lock the team row, the node row and the node's cards, always in that order."""
    if team is not None:
        Team.objects.select_for_update(no_key=True).get(pk=team.pk)
    node = Node.objects.select_for_update(no_key=True).get(pk=node.pk)
    cards = list(Card.objects.select_for_update(no_key=True).filter(node=node).order_by("device"))
    return node, cards


def is_foreign(card: Card) -> bool:
    """A process or container the dashboard does not manage holds the card."""
    containers = getattr(card, "containers", None) or []
    return bool(card.foreign_processes) or any(not c.get("managed") for c in containers)


def card_state(card: Card, *, busy: bool = False) -> CardState:
    """The allocator's view of a card."""
    return CardState(
        device=card.device,
        busy=busy,
        unhealthy=card.health in UNHEALTHY,
        cordoned=card.cordoned,
        foreign=is_foreign(card),
        absent=not card.present,
    )


def check_bookable(node: Node, cards: Sequence[Card]) -> None:
    """Refuse a cordoned node, or chosen cards that are cordoned, unhealthy, missing or held."""
    if node.cordoned:
        raise CardsUnavailable(
            f"Node {node.name} is cordoned for maintenance ({node.cordon_reason}); "
            "pick another node or ask a site admin when it returns.",
            field="node",
        )
    problems = []
    for card in cards:
        if card.cordoned:
            problems.append(f"card {card.device} is cordoned ({card.cordon_reason})")
        elif not card.present:
            problems.append(f"card {card.device} was missing from the last probe")
        elif card.health in UNHEALTHY:
            problems.append(f"card {card.device} is unhealthy ({card.health})")
        elif is_foreign(card):
            pids = ", ".join(str(p.get("pid")) for p in card.foreign_processes) or "a container"
            problems.append(f"card {card.device} is held by a foreign process ({pids})")
    if problems:
        raise CardsUnavailable(
            f"On {node.name}: {'; '.join(problems)}. Pick other cards or ask for a count.",
            field="cards",
        )


def conflicting_rows(
    cards: Iterable[Card], start: datetime, end: datetime, exclude: Booking | None = None
) -> list[BookedCard]:
    """Unreleased booked-card rows of these cards that overlap [start, end)."""
    rows = (
        BookedCard.objects.holding()
        .overlapping(start, end)
        .filter(card__in=list(cards))
        .select_related("booking__team", "card")
        .order_by("booking__start", "card__device")
    )
    if exclude is not None:
        rows = rows.exclude(booking=exclude)
    return list(rows)


def conflict_error(node: Node, rows: Sequence[BookedCard]) -> BookingConflict:
    """A 409 naming each conflicting booking, its team, its window and the cards it holds."""
    by_booking: dict[int, tuple[Booking, list[int]]] = {}
    for row in rows:
        by_booking.setdefault(row.booking_id, (row.booking, []))[1].append(row.card.device)
    parts = []
    details = []
    for booking, devices in by_booking.values():
        cards = ", ".join(str(d) for d in sorted(devices))
        parts.append(
            f"card(s) {cards} already booked by team {booking.team.name} "
            f"(booking #{booking.pk}, {window(booking.start, booking.end)})"
        )
        details.append(
            {
                "booking": booking.pk,
                "team": booking.team.name,
                "start": booking.start.isoformat(),
                "end": booking.end.isoformat(),
                "cards": sorted(devices),
            }
        )
    return BookingConflict(
        f"On {node.name}: {'; '.join(parts)}. Pick other cards or another window.",
        field="cards",
        conflicts=details,
    )
