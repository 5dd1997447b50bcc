"""Cordon: a site admin takes a card or a whole node out of booking, with a reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from fleet.booking.choices import AuditAction, NotificationKind
from fleet.booking.errors import BookingInvalid, BookingNotAllowed
from fleet.booking.models import Booking
from fleet.booking.services import audit
from fleet.booking.services.cards import lock_for_booking
from fleet.booking.services.notify import notify_team, window
from fleet.models import Card, Node


@dataclass
class CordonResult:
    """What was cordoned, and the live bookings on it for the admin to move or cancel."""

    node: Node
    devices: list[int]
    affected: list[Booking] = field(default_factory=list)


def _check_admin(user: Any) -> None:
    if not user.is_superuser:
        raise BookingNotAllowed("Only a site admin can cordon or uncordon nodes and cards.")


def _pick(node: Node, cards: list[Card], devices: Sequence[int] | None) -> list[Card]:
    if devices is None:
        return []
    by_device = {c.device: c for c in cards}
    unknown = sorted(set(devices) - set(by_device))
    if unknown or not devices:
        raise BookingInvalid(
            f"Node {node.name} has no card {', '.join(map(str, unknown))}; "
            f"its cards are {', '.join(map(str, sorted(by_device)))}.",
            field="cards",
        )
    return [by_device[d] for d in sorted(set(devices))]


def affected_bookings(
    node: Node, cards: Sequence[Card] | None, now: datetime | None = None
) -> list[Booking]:
    """Live bookings that still need the node (or these cards of it) from now on."""
    now = now or timezone.now()
    rows = Booking.objects.live().filter(node=node, end__gt=now)
    if cards:
        rows = rows.filter(booked_cards__card__in=list(cards)).distinct()
    return list(rows.with_cards())


@transaction.atomic
def cordon(
    user: Any, node: Node, *, devices: Sequence[int] | None = None, reason: str
) -> CordonResult:
    """Cordon the node (no devices) or some of its cards; existing bookings are listed, kept."""
    _check_admin(user)
    reason = (reason or "").strip()
    if not reason:
        raise BookingInvalid("Say why it is cordoned, e.g. 'HBM ECC errors, RMA'.", field="reason")
    node, cards = lock_for_booking(None, node)
    chosen = _pick(node, cards, devices)
    if chosen:
        Card.objects.filter(pk__in=[c.pk for c in chosen]).update(
            cordoned=True, cordon_reason=reason[:300]
        )
        what = f"card(s) {', '.join(str(c.device) for c in chosen)} of {node.name}"
    else:
        Node.objects.filter(pk=node.pk).update(cordoned=True, cordon_reason=reason[:300])
        what = f"node {node.name}"
    node.refresh_from_db()
    targets: list[Card | None] = list(chosen) or [None]  # no card chosen: the node
    for card in targets:
        audit.record(
            AuditAction.CORDON,
            user,
            f"Cordoned {what}" if card is None else f"Cordoned {card}",
            node=node,
            card=card,
            reason=reason,
            changes={"cordoned": (False, True)},
        )
    affected = affected_bookings(node, chosen)
    for booking in affected:
        notify_team(
            booking.team,
            NotificationKind.CORDON,
            f"{what.capitalize()} was cordoned for maintenance ({reason}); your booking "
            f"#{booking.pk} ({window(booking.start, booking.end)}) is on it and may be moved "
            "or cancelled by a site admin.",
            booking,
        )
    return CordonResult(node=node, devices=[c.device for c in chosen], affected=affected)


@transaction.atomic
def uncordon(
    user: Any, node: Node, *, devices: Sequence[int] | None = None, reason: str = ""
) -> Node:
    """Return the node (no devices) or some of its cards to booking."""
    _check_admin(user)
    node, cards = lock_for_booking(None, node)
    chosen = _pick(node, cards, devices)
    if chosen:
        Card.objects.filter(pk__in=[c.pk for c in chosen]).update(cordoned=False, cordon_reason="")
    else:
        Node.objects.filter(pk=node.pk).update(cordoned=False, cordon_reason="")
    targets: list[Card | None] = list(chosen) or [None]
    for card in targets:
        audit.record(
            AuditAction.UNCORDON,
            user,
            f"Uncordoned {card}" if card is not None else f"Uncordoned node {node.name}",
            node=node,
            card=card,
            reason=(reason or "").strip(),
            changes={"cordoned": (True, False)},
        )
    node.refresh_from_db()
    return node
