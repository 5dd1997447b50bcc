"""Card-level checks shared by the booking services: locks, blockers, conflicts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from fleet.booking.choices import UNHEALTHY
from fleet.booking.errors import BookingConflict, CardsUnavailable
from fleet.booking.models import BookedCard, Booking, Team
from fleet.booking.permissions import redact_cards
from fleet.booking.services.allocation import CardState
from fleet.booking.services.notify import window
from fleet.models import Card, Node


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


def _held_by(actor: Any, card: Card) -> str:
    """Who holds a card, as `actor` may see it: pids and container names only of the actor's
    own teams' work (all for a site admin), else what kind of holder it is."""
    (shown,) = redact_cards(actor, [card])
    named, hidden = [], []
    for entry in (*shown.shown_containers, *shown.shown_processes):
        if entry.get("busy"):
            hidden.append(
                "another team's deployment"
                if entry.get("managed")
                else "a process outside the dashboard"
            )
    for proc in shown.shown_processes:
        if not proc.get("busy") and not proc.get("managed"):
            named.append(f"pid {proc.get('pid')}")
    for ct in shown.shown_containers:
        if not ct.get("busy") and not ct.get("managed"):
            named.append(f"container {ct.get('name')}")
    found = list(dict.fromkeys([*named, *hidden]))
    return ", ".join(found) if found else "a process outside the dashboard"


def check_bookable(node: Node, cards: Sequence[Card], actor: Any = None) -> None:
    """Refuse a cordoned node, or chosen cards that are cordoned, unhealthy, missing or held.

    Holders are named only to those who may see them (`actor`; nobody when it is None)."""
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
            problems.append(f"card {card.device} is held by {_held_by(actor, card)}")
    if problems:
        raise CardsUnavailable(
            f"On {node.name}: {'; '.join(problems)}. Pick other cards or ask for a count.",
            field="cards",
        )


def show_strangers(user: Any, bookings: Iterable[Booking]) -> list[Booking]:
    """Ready each booking's `shown_strangers` for `user`: what holds its cards without the
    dashboard, naming other teams' containers and pids only to those who may see them (one
    `redact_cards` call for all the bookings: a fixed number of queries)."""
    rows = list(bookings)
    redact_cards(user, [bc.card for b in rows if b.is_live for bc in b.booked_cards.all()])
    return rows


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
