"""Who has a card, as the viewer may know it: the booking team (or "busy"), whether the
dashboard's containers or processes outside the dashboard hold it, and why its state is unknown.

Tiles (fleet/_npu.html) and the card table (fleet/_card_table.html) show these (fleet pages call
`label_cards` through `fleet.holders`, where BookingConfig.ready() registers it); other teams'
work is shown through `fleet.booking.permissions.Viewer` and `redact_cards`, never in more detail.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.utils import timezone

from fleet.booking.models import BookedCard
from fleet.booking.permissions import Viewer, redact_cards
from fleet.models import Card, Node
from fleet.reachability import reachable


def _first_line(text: str) -> str:
    return text.splitlines()[0][:200] if text else ""


def holder(card: Card, booked: tuple[int, str] | None, viewer: Viewer) -> dict[str, Any]:
    """One card's holder as `viewer` may see it (the card went through `redact_cards`)."""
    team = ""
    mine = False
    if booked is not None:
        team_id, name = booked
        mine = team_id in viewer.teams
        team = name if viewer.owns(team_id) else viewer.team_label(name)
    containers = getattr(card, "shown_containers", card.containers)
    processes = getattr(card, "shown_processes", card.processes)
    entries = [*containers, *processes]
    return {
        "team": team,
        "mine": mine,
        "dashboard": any(e.get("managed") for e in entries),
        "foreign": any(not e.get("managed") for e in entries),
    }


def holder_text(h: dict[str, Any]) -> str:
    """The holder in words, for a card's tooltip."""
    parts = []
    if h["team"] == "busy":
        parts.append("booked by another team")
    elif h["team"]:
        parts.append(f"booked by team {h['team']}")
    if h["dashboard"]:
        parts.append("dashboard container")
    if h["foreign"]:
        parts.append("process outside the dashboard")
    return " · ".join(parts)


def label_cards(
    user: Any, nodes: Sequence[Node], tiles: Sequence[dict[str, Any]], cards: Iterable[Card]
) -> list[Card]:
    """Add `holder` to each card of the tiles and to the card rows, and say in the squares'
    tooltips who holds them and why a silent node's cards are Unknown.

    `tiles` are the nodes' summaries (in the order of `nodes`), `cards` the Card rows shown.
    Four queries, however many cards.
    """
    rows = redact_cards(user, cards)
    viewer = Viewer.of(user)
    now = timezone.now()
    booked = {
        card_id: (team_id, name)
        for card_id, team_id, name in BookedCard.objects.holding()
        .filter(card__in=[c.pk for c in rows], start__lte=now, end__gt=now)
        .values_list("card_id", "booking__team_id", "booking__team__name")
    }
    by_id: dict[int, dict[str, Any]] = {}
    for card in rows:
        card.holder = holder(card, booked.get(card.pk), viewer)
        by_id[card.pk] = card.holder
    for node, tile in zip(nodes, tiles, strict=True):
        silent = "" if reachable(node) else _first_line(node.last_error) or "no answer"
        for entry in tile["cards"]:
            entry["holder"] = by_id.get(entry["id"]) or {
                "team": "",
                "mine": False,
                "dashboard": False,
                "foreign": False,
            }
            extra = [holder_text(entry["holder"])]
            if silent:
                extra.append(f"state unknown: node {node.name} does not answer ({silent})")
            entry["title"] = " · ".join([entry.get("title", ""), *filter(None, extra)]).strip(" ·")
    return rows
