"""Team quotas: most cards held at once, and card-hours per week (weeks start Monday 00:00).

Weeks are counted in the site time zone (settings.TIME_ZONE). A booking that crosses a week
boundary counts in each week for the hours that fall inside it. Cancelled and released
bookings count only for the time they really held their cards.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeAlias, TypedDict

from django.conf import settings
from django.db.models import Count, F

from fleet.booking.choices import LIVE_STATUSES
from fleet.booking.models import Booking, Team
from fleet.booking.services.notify import when

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _CardCount(TypedDict):
    n_cards: int


# A booking with the number of cards it holds (annotated by the query).
CountedBooking: TypeAlias = "WithAnnotations[Booking, _CardCount]"


@dataclass(frozen=True)
class QuotaBreach:
    """One quota the request would exceed, with the numbers."""

    quota: str
    limit: float
    used: float
    requested: float
    message: str

    def as_dict(self) -> dict:
        """JSON-friendly numbers for API error bodies and the audit log."""
        return {
            "quota": self.quota,
            "limit": self.limit,
            "used": round(self.used, 2),
            "requested": round(self.requested, 2),
        }


def site_zone() -> zoneinfo.ZoneInfo:
    """The zone weeks are counted in."""
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 (site time) of the week holding `moment`."""
    local = moment.astimezone(site_zone())
    monday = (local - timedelta(days=local.weekday())).date()
    return datetime(monday.year, monday.month, monday.day, tzinfo=site_zone())


def weeks_between(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The [monday, next monday) weeks that [start, end) touches, as UTC datetimes."""
    weeks = []
    current = week_start(start)
    while current < end:
        nxt = week_start(current + timedelta(days=7))
        weeks.append((current.astimezone(UTC), nxt.astimezone(UTC)))
        current = nxt
    return weeks


def overlap_hours(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> float:
    """Hours shared by two half-open windows."""
    seconds = (min(a_end, b_end) - max(a_start, b_start)).total_seconds()
    return max(seconds, 0.0) / 3600


def _team_bookings(
    team: Team, start: datetime, end: datetime, exclude: Booking | None
) -> list[CountedBooking]:
    """The team's bookings meeting [start, end) that held cards at all, with `n_cards`."""
    rows = (
        Booking.objects.filter(team=team)
        .overlapping(start, end)
        .exclude(ended_at__lte=F("start"))
        .annotate(n_cards=Count("booked_cards"))
        .only("pk", "start", "end", "status", "ended_at")
    )
    if exclude is not None:
        rows = rows.exclude(pk=exclude.pk)
    return list(rows)


def peak_cards(
    bookings: list[CountedBooking], start: datetime, end: datetime
) -> tuple[int, datetime]:
    """Most cards the live bookings hold at one instant of [start, end), and that instant."""
    events: list[tuple[datetime, int]] = []
    for b in bookings:
        if b.status not in LIVE_STATUSES:
            continue
        events.append((max(b.start, start), b.n_cards))
        events.append((min(b.end, end), -b.n_cards))
    peak, at, level = 0, start, 0
    for moment, delta in sorted(events, key=lambda e: (e[0], e[1])):
        level += delta
        if level > peak:
            peak, at = level, moment
    return peak, at


def check_quota(
    team: Team, start: datetime, end: datetime, n_cards: int, *, exclude: Booking | None = None
) -> list[QuotaBreach]:
    """The quotas a booking of `n_cards` cards over [start, end) would break for `team`."""
    weeks = weeks_between(start, end)
    bookings = _team_bookings(team, weeks[0][0], weeks[-1][1], exclude)
    breaches = []
    peak, at = peak_cards(bookings, start, end)
    if peak + n_cards > team.max_cards:
        breaches.append(
            QuotaBreach(
                "max_cards",
                team.max_cards,
                peak,
                n_cards,
                f"team {team.name} may hold {team.max_cards} cards at once; it already holds "
                f"{peak} at {when(at)}, so {n_cards} more would make {peak + n_cards}",
            )
        )
    for monday, next_monday in weeks:
        used = sum(
            b.n_cards * overlap_hours(b.start, b.held_until, monday, next_monday) for b in bookings
        )
        requested = n_cards * overlap_hours(start, end, monday, next_monday)
        if used + requested > team.max_card_hours_per_week + 1e-9:
            breaches.append(
                QuotaBreach(
                    "card_hours_per_week",
                    team.max_card_hours_per_week,
                    used,
                    requested,
                    f"team {team.name} may use {team.max_card_hours_per_week} card-hours in the "
                    f"week of {monday.astimezone(site_zone()):%Y-%m-%d}; {used:.1f} are booked "
                    f"and this adds {requested:.1f}",
                )
            )
    return breaches


def team_usage(team: Team, now: datetime) -> dict:
    """Cards held now and card-hours booked this week, next to the team's limits."""
    monday, next_monday = weeks_between(now, now + timedelta(seconds=1))[0]
    bookings = _team_bookings(team, monday, next_monday, None)
    held_now = sum(
        b.n_cards for b in bookings if b.status in LIVE_STATUSES and b.start <= now < b.end
    )
    hours = sum(
        b.n_cards * overlap_hours(b.start, b.held_until, monday, next_monday) for b in bookings
    )
    return {
        "max_cards": team.max_cards,
        "cards_now": held_now,
        "max_card_hours_per_week": team.max_card_hours_per_week,
        "card_hours_this_week": round(hours, 2),
        "week_start": monday.isoformat(),
    }
