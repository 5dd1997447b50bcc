"""Who may act for a team, and which booking windows are acceptable."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from fleet.booking.errors import BookingInvalid, BookingNotAllowed
from fleet.booking.models import Booking, Team
from fleet.booking.permissions import is_member, teams_of
from fleet.booking.services.notify import when

# A start this far in the past still counts as "now" (forms are filled in before they are sent).
START_SLACK = timedelta(minutes=5)


def check_member(user: Any, team: Team) -> None:
    """Refuse a booking for a team the user is not in (the `team` field is at fault)."""
    if is_member(user, team):
        return
    mine = ", ".join(teams_of(user).values_list("name", flat=True))
    hint = f"book for one of your teams ({mine})" if mine else "ask a team admin to add you"
    raise BookingInvalid(f"You are not a member of team {team.name}: {hint}.", field="team")


def check_can_act(user: Any, booking: Booking) -> None:
    """Only the booking team's members and site admins may change or cancel it."""
    if not is_member(user, booking.team):
        raise BookingNotAllowed(
            f"Booking #{booking.pk} belongs to team {booking.team.name}; only its members or a "
            "site admin can change it."
        )


# A site admin's booking whose purpose starts with this is held for a walk-through (the demo's):
# the no-show rule leaves it alone, so it waits for a person however late they arrive.
DEMO_PURPOSE_PREFIX = "demo:"


def is_demo_booking(booking: Booking) -> bool:
    """Held for a walk-through: made by a site admin with a purpose starting with "demo:"."""
    creator = booking.created_by
    return bool(
        booking.purpose.startswith(DEMO_PURPOSE_PREFIX)
        and creator is not None
        and creator.is_superuser
    )


def check_window(start: datetime, end: datetime, now: datetime) -> None:
    """Refuse naive, reversed, zero-length, past or too distant windows, naming the field."""
    for name, value in (("start", start), ("end", end)):
        if timezone.is_naive(value):
            raise BookingInvalid(
                f"{name} has no time zone: send it with an offset, e.g. 2025-06-01T09:00+08:00.",
                field=name,
            )
    if end == start:
        raise BookingInvalid(
            "The window is empty (end equals start): set a later end.", field="end"
        )
    if end < start:
        raise BookingInvalid(
            f"The end ({when(end)}) is before the start ({when(start)}): swap them.", field="end"
        )
    if end <= now:
        raise BookingInvalid(
            "The window is already over: pick a window in the future.", field="end"
        )
    if start < now - START_SLACK:
        raise BookingInvalid(
            "The start is in the past: start now or later (bookings cannot be backdated).",
            field="start",
        )
    horizon = settings.FLEET_BOOKING_MAX_DAYS_AHEAD
    if end > now + timedelta(days=horizon):
        raise BookingInvalid(
            f"The end is more than {horizon} days ahead: book a nearer window.", field="end"
        )
