"""Reads for planning: the earliest window with N free cards, and a node's booking timeline."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from fleet.booking.choices import UNHEALTHY
from fleet.booking.errors import BookingInvalid
from fleet.booking.models import BookedCard
from fleet.booking.permissions import Viewer
from fleet.booking.services.allocation import AllocationError, allocate, check_count
from fleet.booking.services.cards import card_state
from fleet.choices import CheckStatus, Health
from fleet.models import Card, Node
from fleet.reachability import node_problem, reachable


@dataclass(frozen=True)
class Option:
    """Cards of one node free for the whole window, as the allocator would pick them."""

    node: Node
    start: datetime
    end: datetime
    devices: tuple[int, ...]
    reason: str
    split: bool = False
    health: str = ""  # why the node is not fully healthy ("" when it is)

    @property
    def healthy(self) -> bool:
        """The node passes every preflight check and every card reports OK."""
        return not self.health


@dataclass
class Availability:
    """The best option per node, earliest (then unsplit) first, and why other nodes cannot."""

    options: list[Option] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)


def _earliest_on(
    node: Node,
    cards: Sequence[Card],
    rows: Sequence[BookedCard],
    count: int,
    length: timedelta,
    earliest: datetime,
    latest_start: datetime,
) -> Option | str:
    """The first start at or after `earliest` with `count` free cards, or why there is none."""
    if node.cordoned:
        return f"cordoned: {node.cordon_reason}"
    problem = node_problem(node)
    if problem:  # unreachable, or failing a node-wide preflight check: never offered
        return problem
    if not cards:
        return "no known cards yet"
    try:
        check_count(count, len(cards))
    except AllocationError as exc:
        if count > len(cards):
            return f"too few cards: it has {len(cards)}, {count} asked"
        return f"not a job size here: {exc}"
    # Free cards only appear when a booking ends, so those ends are the only starts to try.
    starts = sorted({earliest, *(r.end for r in rows if earliest < r.end <= latest_start)})
    last_error = ""
    for start in starts:
        end = start + length
        busy = {r.card_id for r in rows if r.start < end and r.end > start}
        try:
            choice = allocate([card_state(c, busy=c.pk in busy) for c in cards], count)
        except AllocationError as exc:
            last_error = str(exc)
            continue
        return Option(
            node, start, end, choice.devices, choice.reason, choice.split, node_health(node, cards)
        )
    return f"no {count} free cards in any window within the booking horizon: {last_error}"


def node_health(node: Node, cards: Sequence[Card]) -> str:
    """What keeps a usable node from being fully healthy, in a phrase ("" when nothing):
    preflight checks that fail or warn, and cards that do not report OK."""
    problems = [
        f"preflight check '{c.get('name')}' "
        f"{'failed' if c.get('status') == CheckStatus.FAIL else 'warns'}: {c.get('message', '')}"
        for c in node.preflight or []
        if c.get("status") in (CheckStatus.FAIL, CheckStatus.WARN)
    ]
    problems += [
        f"card {c.device} reports {c.health}"
        for c in cards
        if c.present and c.health != Health.OK and c.health not in UNHEALTHY
    ]
    return "; ".join(problems)


def find_available(
    user: Any,
    *,
    count: int,
    hours: float,
    earliest: datetime | None = None,
    nodes: Sequence[Node] | None = None,
    now: datetime | None = None,
) -> Availability:
    """Per visible node (or the given ones): the first `hours`-long window with `count` cards."""
    now = now or timezone.now()
    if count < 1:
        raise BookingInvalid("Ask for at least one card.", field="count")
    horizon = timedelta(days=settings.FLEET_BOOKING_MAX_DAYS_AHEAD)
    if hours <= 0 or timedelta(hours=hours) > horizon:
        raise BookingInvalid(
            f"Hours must be more than 0 and at most {horizon.days * 24}.", field="hours"
        )
    if earliest is not None and timezone.is_naive(earliest):
        raise BookingInvalid("earliest has no time zone: send it with an offset.", field="earliest")
    earliest = max(earliest or now, now)
    length = timedelta(hours=hours)
    latest_start = now + horizon - length
    visible = Node.objects.visible_to(user).prefetch_related("cards")
    if nodes is not None:
        visible = visible.filter(pk__in=[n.pk for n in nodes])
    candidates = list(visible)
    rows_by_node: dict[int, list[BookedCard]] = defaultdict(list)
    for row in (
        BookedCard.objects.holding()
        .filter(card__node__in=candidates, end__gt=earliest)
        .select_related("card")
    ):
        rows_by_node[row.card.node_id].append(row)
    answer = Availability()
    for node in candidates:
        cards = sorted(node.cards.all(), key=lambda c: c.device)
        found = _earliest_on(
            node, cards, rows_by_node[node.pk], count, length, earliest, latest_start
        )
        if isinstance(found, Option):
            answer.options.append(found)
        else:
            answer.unavailable[node.name] = found
    # Healthy nodes first; then earliest; at the same start, one HCCS half beats a split job.
    answer.options.sort(key=lambda o: (not o.healthy, o.start, o.split, o.node.name))
    return answer


@dataclass(frozen=True)
class Segment:
    """A stretch of one card's time held by a booking, as this viewer may see it."""

    start: datetime
    end: datetime
    team: str
    booking_id: int | None
    mine: bool


@dataclass
class CardLine:
    """One card's row of the timeline."""

    card: Card
    blocker: str | None
    segments: list[Segment]


def node_timeline(user: Any, node: Node, start: datetime, end: datetime) -> list[CardLine]:
    """Each card of the node with the bookings that hold it in [start, end), as `user` may see."""
    # Members see which team holds a card (a 409 on a clash names it too) and the details of
    # their own teams' bookings; people in no team see only busy and free.
    viewer = Viewer.of(user)
    rows = (
        BookedCard.objects.holding()
        .overlapping(start, end)
        .filter(card__node=node)
        .select_related("booking__team")
        .order_by("start")
    )
    by_card: dict[int, list[Segment]] = defaultdict(list)
    for row in rows:
        by_card[row.card_id].append(
            Segment(
                start=row.start,
                end=row.end,
                team=viewer.team_label(row.booking.team.name),
                booking_id=row.booking_id if viewer.owns(row.booking.team_id) else None,
                mine=row.booking.team_id in viewer.teams,
            )
        )
    lines = []
    # A node that does not answer: what its cards last reported is not known to hold any more.
    unknown = None if reachable(node) else "state unknown: node unreachable"
    for card in node.cards.order_by("device"):
        lines.append(CardLine(card, unknown or card_state(card).blocker, by_card[card.pk]))
    return lines
