"""Booking services: book cards, change, extend and cancel a booking; each is one transaction.

No double booking: every service that takes cards locks the team, the node and the node's
cards (`cards.lock_for_booking`), checks for overlapping rows, then writes; on PostgreSQL the
exclusion constraint on booked cards is the backstop, and its violation becomes the same 409.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from fleet.booking.choices import AuditAction, BookingStatus, EndReason, NotificationKind
from fleet.booking.errors import (
    BookingConflict,
    BookingInvalid,
    BookingNotAllowed,
    CardsUnavailable,
    NoCapacity,
    QuotaExceeded,
)
from fleet.booking.models import BookedCard, Booking, Team
from fleet.booking.models.booking import NO_OVERLAP_CONSTRAINT
from fleet.booking.services import audit
from fleet.booking.services.allocation import AllocationError, allocate, check_count
from fleet.booking.services.cards import (
    card_state,
    check_bookable,
    conflict_error,
    conflicting_rows,
    lock_for_booking,
)
from fleet.booking.services.notify import notify_team, when, window
from fleet.booking.services.quotas import QuotaBreach, check_quota
from fleet.booking.services.rules import check_can_act, check_member, check_window
from fleet.models import Card, Node


def _pick_cards(
    node: Node,
    cards: Sequence[Card],
    devices: Sequence[int] | None,
    count: int | None,
    start: datetime,
    end: datetime,
    exclude: Booking | None = None,
    actor: Any = None,
) -> tuple[list[Card], str]:
    """The cards to book (by hand or by the allocator) and why; raises 400/409 errors."""
    if not cards:
        raise BookingInvalid(
            f"Node {node.name} has no known cards yet: wait for its first probe.", field="node"
        )
    by_device = {c.device: c for c in cards}
    span = f"{min(by_device)}-{max(by_device)}"
    if devices is not None:
        if len(set(devices)) != len(devices):
            raise BookingInvalid("A card is listed twice: list each card once.", field="cards")
        unknown = sorted(set(devices) - set(by_device))
        if unknown:
            raise BookingInvalid(
                f"Node {node.name} has no card {', '.join(map(str, unknown))}; "
                f"its cards are {span}.",
                field="cards",
            )
        try:
            check_count(len(devices), len(cards))
        except AllocationError as exc:
            raise BookingInvalid(str(exc), field="cards") from None
        chosen = [by_device[d] for d in sorted(devices)]
        check_bookable(node, chosen, actor)
        rows = conflicting_rows(chosen, start, end, exclude)
        if rows:
            raise conflict_error(node, rows)
        return chosen, "cards chosen by hand."
    assert count is not None
    try:
        check_count(count, len(cards))
    except AllocationError as exc:
        raise BookingInvalid(str(exc), field="count") from None
    check_bookable(node, [])
    busy = {row.card_id for row in conflicting_rows(cards, start, end, exclude)}
    try:
        choice = allocate([card_state(c, busy=c.pk in busy) for c in cards], count)
    except AllocationError as exc:
        raise NoCapacity(
            f"No {count} free cards on {node.name} for {window(start, end)}: {exc} "
            "Use the availability search to find the earliest window.",
            field="count",
        ) from None
    return [by_device[d] for d in choice.devices], choice.reason


def _enforce_quota(
    user: Any,
    team: Team,
    start: datetime,
    end: datetime,
    n_cards: int,
    override_reason: str,
    exclude: Booking | None = None,
) -> list[QuotaBreach]:
    """Raise QuotaExceeded unless within quota; a site admin's reason turns it into an override."""
    if override_reason and not user.is_superuser:
        raise BookingNotAllowed(
            "Only a site admin may override a quota: leave override_reason empty.",
            field="override_reason",
        )
    breaches = check_quota(team, start, end, n_cards, exclude=exclude)
    if breaches and not override_reason:
        hint = "book fewer cards or a shorter window, or ask a site admin to override"
        raise QuotaExceeded(
            f"Over quota: {'; '.join(b.message for b in breaches)}. {hint.capitalize()}.",
            quota=[b.as_dict() for b in breaches],
        )
    return breaches


def _write_cards(booking: Booking, cards: Sequence[Card], *, replace: bool = False) -> None:
    """Insert (or replace) the booking's card rows; the overlap constraint's veto becomes a 409."""
    try:
        with transaction.atomic():
            if replace:
                booking.booked_cards.all().delete()
            BookedCard.objects.bulk_create(
                BookedCard(booking=booking, card=c, start=booking.start, end=booking.end)
                for c in cards
            )
    except IntegrityError as exc:
        if NO_OVERLAP_CONSTRAINT not in str(exc):
            raise
        rows = conflicting_rows(cards, booking.start, booking.end, exclude=booking)
        if rows:
            raise conflict_error(booking.node, rows) from None
        raise BookingConflict(
            f"On {booking.node.name}: the cards were booked by someone else a moment ago. "
            "Reload and pick other cards or another window.",
            field="cards",
        ) from None


def _record_override(user: Any, booking: Booking, breaches: list[QuotaBreach], reason: str) -> None:
    if breaches:
        audit.record(
            AuditAction.OVERRIDE,
            user,
            f"Quota overridden for booking #{booking.pk}: "
            + "; ".join(b.message for b in breaches),
            booking=booking,
            reason=reason,
            changes={b.quota: (b.limit, round(b.used + b.requested, 2)) for b in breaches},
        )


def _devices(cards: Sequence[Card]) -> str:
    return ", ".join(str(c.device) for c in sorted(cards, key=lambda c: c.device))


@transaction.atomic
def book_cards(
    user: Any,
    *,
    team: Team,
    node: Node,
    start: datetime,
    end: datetime,
    purpose: str,
    devices: Sequence[int] | None = None,
    count: int | None = None,
    override_reason: str = "",
    now: datetime | None = None,
) -> Booking:
    """Book cards of one node for a team: by device numbers, or `count` chosen by the allocator."""
    now = now or timezone.now()
    check_member(user, team)
    purpose = (purpose or "").strip()
    if not purpose:
        raise BookingInvalid(
            "Say what the cards are for, e.g. 'Qwen2-7B serving test'.", field="purpose"
        )
    if (devices is None) == (count is None):
        raise BookingInvalid("Give either the cards (device numbers) or a count.", field="cards")
    check_window(start, end, now)
    override_reason = (override_reason or "").strip()
    node, cards = lock_for_booking(team, node)
    team = Team.objects.get(pk=team.pk)
    chosen, note = _pick_cards(node, cards, devices, count, start, end, actor=user)
    breaches = _enforce_quota(user, team, start, end, len(chosen), override_reason)
    booking = Booking.objects.create(
        team=team,
        node=node,
        created_by=user,
        start=start,
        end=end,
        purpose=purpose,
        status=BookingStatus.ACTIVE if start <= now else BookingStatus.UPCOMING,
        allocation_note=note[:300],
        override_reason=override_reason if breaches else "",
    )
    _write_cards(booking, chosen)
    audit.record(
        AuditAction.CREATE,
        user,
        f"Booked card(s) {_devices(chosen)} of {node.name} for team {team.name}, "
        f"{window(start, end)}: {purpose}",
        booking=booking,
        changes={"cards": (None, [c.device for c in chosen]), "end": (None, end)},
    )
    _record_override(user, booking, breaches, override_reason)
    return booking


def _locked_live_booking(user: Any, booking: Booking) -> Booking:
    booking = (
        Booking.objects.select_for_update(no_key=True)
        .select_related("team", "node")
        .get(pk=booking.pk)
    )
    check_can_act(user, booking)
    if not booking.is_live:
        raise BookingConflict(
            f"Booking #{booking.pk} is {booking.get_status_display().lower()}; only upcoming or "
            "active bookings can change. Make a new booking instead.",
            field="status",
        )
    return booking


@transaction.atomic
def change_booking(
    user: Any,
    booking: Booking,
    *,
    purpose: str | None = None,
    end: datetime | None = None,
    node: Node | None = None,
    devices: Sequence[int] | None = None,
    count: int | None = None,
    override_reason: str = "",
    reason: str = "",
    now: datetime | None = None,
) -> Booking:
    """Change a live booking's purpose, end, node or cards (a move); cards are re-checked."""
    now = now or timezone.now()
    override_reason = (override_reason or "").strip()
    booking = Booking.objects.select_related("team", "node").get(pk=booking.pk)
    check_can_act(user, booking)
    team, old_node = booking.team, booking.node
    target = node or old_node
    moving = devices is not None or count is not None or target.pk != old_node.pk
    cards: list[Card] = []
    if moving or end is not None:
        target, cards = lock_for_booking(team, target)
    booking = _locked_live_booking(user, booking)
    current = [bc.card for bc in booking.booked_cards.select_related("card")]
    new_end = end or booking.end
    changes: dict[str, tuple] = {}
    breaches: list[QuotaBreach] = []
    if moving or new_end != booking.end:
        if new_end <= max(now, booking.start):
            raise BookingInvalid(
                "The new end must be after now and after the start; to stop early, cancel.",
                field="end",
            )
        check_window(max(booking.start, now), new_end, now)
        if moving:
            if devices is None and count is None:
                count = len(current)
            chosen, note = _pick_cards(
                target, cards, devices, count, booking.start, new_end, exclude=booking, actor=user
            )
        else:
            chosen, note = current, booking.allocation_note
            held = {c.pk for c in current}
            if target.cordoned or any(c.cordoned for c in cards if c.pk in held):
                raise CardsUnavailable(
                    f"Cannot extend: {target.name} or one of the booked cards is cordoned "
                    "for maintenance.",
                    field="end",
                )
            rows = conflicting_rows(current, booking.start, new_end, exclude=booking)
            if rows:
                raise conflict_error(target, rows)
        breaches = _enforce_quota(
            user,
            Team.objects.get(pk=team.pk),
            booking.start,
            new_end,
            len(chosen),
            override_reason,
            exclude=booking,
        )
        if new_end != booking.end:
            changes["end"] = (booking.end, new_end)
            booking.end = new_end
            booking.warnings_sent = []
        if target.pk != old_node.pk:
            changes["node"] = (old_node.name, target.name)
            booking.node = target
        if sorted(c.pk for c in chosen) != sorted(c.pk for c in current):
            changes["cards"] = ([c.device for c in current], [c.device for c in chosen])
        booking.allocation_note = note[:300]
        _write_cards(booking, chosen, replace=True)
    if purpose is not None and purpose.strip() != booking.purpose:
        if not purpose.strip():
            raise BookingInvalid("The purpose cannot be empty.", field="purpose")
        changes["purpose"] = (booking.purpose, purpose.strip())
        booking.purpose = purpose.strip()
    if not changes:
        return booking
    if breaches:
        booking.override_reason = override_reason
    booking.save()
    lengthened = set(changes) == {"end"} and changes["end"][1] > changes["end"][0]
    action = AuditAction.EXTEND if lengthened else AuditAction.CHANGE
    audit.record(
        action,
        user,
        f"Booking #{booking.pk} of team {team.name}: changed {', '.join(changes)}",
        booking=booking,
        reason=reason,
        changes=changes,
    )
    _record_override(user, booking, breaches, override_reason)
    return booking


def extend_booking(
    user: Any,
    booking: Booking,
    end: datetime,
    *,
    override_reason: str = "",
    now: datetime | None = None,
) -> Booking:
    """Move a live booking's end later, when its cards are free until then."""
    if end <= booking.end:
        raise BookingInvalid(
            f"The new end must be later than the current end ({when(booking.end)}).", field="end"
        )
    return change_booking(user, booking, end=end, override_reason=override_reason, now=now)


@transaction.atomic
def cancel_booking(
    user: Any, booking: Booking, *, reason: str = "", now: datetime | None = None
) -> Booking:
    """Cancel a live booking: its cards are free from now on; the team is told."""
    now = now or timezone.now()
    booking = _locked_live_booking(user, booking)
    before = booking.status
    booking.status = BookingStatus.CANCELLED
    booking.end_reason = EndReason.CANCELLED
    booking.ended_at = now
    booking.save(update_fields=["status", "end_reason", "ended_at", "updated_at"])
    booking.booked_cards.update(released=True)
    who = user.get_username()
    audit.record(
        AuditAction.CANCEL,
        user,
        f"Booking #{booking.pk} of team {booking.team.name} on {booking.node.name} cancelled "
        f"by {who}",
        booking=booking,
        reason=reason,
        changes={"status": (before, booking.status)},
    )
    notify_team(
        booking.team,
        NotificationKind.CANCELLED,
        f"Booking #{booking.pk} on {booking.node.name} ({window(booking.start, booking.end)}) "
        f"was cancelled by {who}" + (f": {reason}" if reason else "."),
        booking,
    )
    return booking
