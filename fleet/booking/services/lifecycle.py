"""The booking lifecycle, run every minute: start, warn, release no-shows, end, stop containers.

upcoming -> active at the start; active -> ended at the end (or early, as a no-show release);
any live booking -> cancelled by a person. Each step is idempotent, so a missed or repeated
tick does no harm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from fleet.booking import hooks
from fleet.booking.choices import (
    AuditAction,
    BookingStatus,
    EndReason,
    NotificationKind,
)
from fleet.booking.hooks import ContainerStopper
from fleet.booking.models import Booking
from fleet.booking.services import audit
from fleet.booking.services.notify import notify_team, when
from fleet.booking.services.rules import is_demo_booking

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    """Booking ids touched by one lifecycle tick, by step."""

    activated: list[int] = field(default_factory=list)
    warned: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)
    stopped: dict[int, list[str]] = field(default_factory=dict)


def _activate(now: datetime, report: TickReport) -> None:
    due = Booking.objects.filter(status=BookingStatus.UPCOMING, start__lte=now, end__gt=now)
    ids = list(due.values_list("pk", flat=True))
    Booking.objects.filter(pk__in=ids, status=BookingStatus.UPCOMING).update(
        status=BookingStatus.ACTIVE, updated_at=now
    )
    report.activated += ids


@transaction.atomic
def _warn(booking: Booking, now: datetime, report: TickReport) -> None:
    booking = Booking.objects.select_for_update().select_related("team", "node").get(pk=booking.pk)
    left = booking.end - now
    due = [m for m in settings.FLEET_BOOKING_WARNING_MINUTES if left <= timedelta(minutes=m)]
    fresh = [m for m in due if m not in booking.warnings_sent]
    if booking.status != BookingStatus.ACTIVE or not fresh:
        return
    minutes = max(1, round(left.total_seconds() / 60))
    notify_team(
        booking.team,
        NotificationKind.WARNING,
        f"Booking #{booking.pk} on {booking.node.name} ends in {minutes} min "
        f"({when(booking.end)}). Extend it if the cards are free, or save your work.",
        booking,
    )
    booking.warnings_sent = sorted({*booking.warnings_sent, *due}, reverse=True)
    booking.save(update_fields=["warnings_sent", "updated_at"])
    report.warned.append(booking.pk)


@transaction.atomic
def _release_no_show(booking: Booking, now: datetime, report: TickReport) -> None:
    booking = Booking.objects.select_for_update().select_related("team", "node").get(pk=booking.pk)
    if booking.status != BookingStatus.ACTIVE or booking.deployment_seen_at is not None:
        return
    if hooks.has_deployment(booking, now):
        booking.deployment_seen_at = now
        booking.save(update_fields=["deployment_seen_at", "updated_at"])
        return
    if is_demo_booking(booking):
        return  # waits for the person doing the walk-through, however late
    minutes = settings.FLEET_BOOKING_NO_SHOW_MINUTES
    if now < booking.start + timedelta(minutes=minutes):
        return
    booking.status = BookingStatus.ENDED
    booking.end_reason = EndReason.NO_SHOW
    booking.ended_at = now
    booking.save(update_fields=["status", "end_reason", "ended_at", "updated_at"])
    booking.booked_cards.update(released=True)
    text = (
        f"Booking #{booking.pk} on {booking.node.name} was released: nothing was deployed on "
        f"its cards {minutes} min after it started ({when(booking.start)}). Book again when ready."
    )
    audit.record(
        AuditAction.RELEASE,
        None,
        text,
        booking=booking,
        reason=f"no deployment after {minutes} min",
        changes={"status": (BookingStatus.ACTIVE, BookingStatus.ENDED)},
    )
    notify_team(booking.team, NotificationKind.RELEASED, text, booking)
    report.released.append(booking.pk)


@transaction.atomic
def _end(booking: Booking, now: datetime, report: TickReport) -> None:
    booking = Booking.objects.select_for_update().select_related("team", "node").get(pk=booking.pk)
    if booking.status not in (BookingStatus.ACTIVE, BookingStatus.UPCOMING) or booking.end > now:
        return
    booking.status = BookingStatus.ENDED
    booking.end_reason = EndReason.COMPLETED
    booking.ended_at = booking.end
    booking.save(update_fields=["status", "end_reason", "ended_at", "updated_at"])
    grace = settings.FLEET_BOOKING_STOP_GRACE_MINUTES
    notify_team(
        booking.team,
        NotificationKind.ENDED,
        f"Booking #{booking.pk} on {booking.node.name} ended at {when(booking.end)}; the "
        f"dashboard's containers on its cards are stopped {grace} min after the end.",
        booking,
    )
    report.ended.append(booking.pk)


def _stop(
    booking: Booking, now: datetime, stopper: ContainerStopper | None, report: TickReport
) -> None:
    # Claim first (a conditional UPDATE), so two workers never stop the same booking's containers;
    # docker runs outside any transaction, and a failure hands the claim back for the next tick.
    claimed = Booking.objects.filter(pk=booking.pk, containers_stopped_at__isnull=True).update(
        containers_stopped_at=now
    )
    if not claimed:
        return
    try:
        names = hooks.stop_managed_containers(booking, stopper=stopper, now=now)
    except Exception:
        log.exception(
            "stopping the containers of booking %s failed; retrying next tick", booking.pk
        )
        Booking.objects.filter(pk=booking.pk).update(containers_stopped_at=None)
        return
    if names:
        log.info("booking %s over: stopped %s on %s", booking.pk, names, booking.node.name)
        audit.record(
            AuditAction.STOP,
            None,
            f"Stopped container(s) {', '.join(names)} on {booking.node.name} after booking "
            f"#{booking.pk} ended",
            booking=booking,
            reason=f"booking over ({booking.get_end_reason_display().lower()})",
            changes={"containers": (names, [])},
        )
    report.stopped[booking.pk] = names


def run_lifecycle(
    now: datetime | None = None, *, stopper: ContainerStopper | None = None
) -> TickReport:
    """One tick: activate, warn, release no-shows, end, then stop containers after the grace."""
    now = now or timezone.now()
    report = TickReport()
    _activate(now, report)
    active = Booking.objects.filter(status=BookingStatus.ACTIVE)
    longest = max(settings.FLEET_BOOKING_WARNING_MINUTES, default=0)
    for booking in active.filter(end__gt=now, end__lte=now + timedelta(minutes=longest)):
        _warn(booking, now, report)
    for booking in active.filter(deployment_seen_at__isnull=True, end__gt=now):
        _release_no_show(booking, now, report)
    for booking in Booking.objects.live().filter(end__lte=now):
        _end(booking, now, report)
    grace = timedelta(minutes=settings.FLEET_BOOKING_STOP_GRACE_MINUTES)
    over = Booking.objects.filter(
        status__in=(BookingStatus.ENDED, BookingStatus.CANCELLED),
        containers_stopped_at__isnull=True,
        ended_at__lte=now - grace,
        start__lt=F("ended_at"),
    )
    for booking in over.select_related("team", "node"):
        _stop(booking, now, stopper, report)
    return report
