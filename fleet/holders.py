"""Who holds a card, as the person looking may see it: filled in by the booking app.

A card's processes and containers (its last probe's record) belong to teams through bookings,
which live above this app. The booking app registers its answers in its AppConfig.ready():

    holders.register(redactor=redact_cards, labeller=label_cards)

`redactor(user, cards)` sets `shown_processes` and `shown_containers` on each card and returns
the cards; `labeller(user, nodes, tiles, cards)` also sets each card's `holder` (and the tiles'
card entries' `holder` and tooltip) and returns the cards. Until something is registered, every
holder shows only as busy and no card names a team.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

CardRedactor = Callable[[Any, Iterable[Any]], list[Any]]
CardLabeller = Callable[[Any, Sequence[Any], Sequence[dict[str, Any]], Iterable[Any]], list[Any]]

NO_HOLDER: dict[str, Any] = {"team": "", "mine": False, "dashboard": False, "foreign": False}


def _busy(entry: dict[str, Any], *, process: bool) -> dict[str, Any]:
    shown: dict[str, Any] = {"busy": True, "team": None, "managed": bool(entry.get("managed"))}
    if process:
        shown["memory_mb"] = entry.get("memory_mb")
    return shown


def redact_all(user: Any, cards: Iterable[Any]) -> list[Any]:
    """The default: every holder only as busy."""
    rows = list(cards)
    for card in rows:
        card.shown_processes = [_busy(p, process=True) for p in card.processes]
        card.shown_containers = [_busy(c, process=False) for c in card.containers]
    return rows


def label_none(
    user: Any, nodes: Sequence[Any], tiles: Sequence[dict[str, Any]], cards: Iterable[Any]
) -> list[Any]:
    """The default: holders redacted, and no card says who holds it."""
    rows = redact_cards(user, cards)
    for card in rows:
        card.holder = dict(NO_HOLDER)
    for tile in tiles:
        for entry in tile["cards"]:
            entry["holder"] = dict(NO_HOLDER)
    return rows


_redactor: CardRedactor | None = None
_labeller: CardLabeller | None = None


def register(*, redactor: CardRedactor | None, labeller: CardLabeller | None) -> None:
    """Install the booking app's answers (None restores the default of that one)."""
    global _redactor, _labeller
    _redactor, _labeller = redactor, labeller


def redact_cards(user: Any, cards: Iterable[Any]) -> list[Any]:
    """Set `shown_processes` and `shown_containers` on each card, as `user` may see them."""
    return (_redactor or redact_all)(user, cards)


def label_cards(
    user: Any, nodes: Sequence[Any], tiles: Sequence[dict[str, Any]], cards: Iterable[Any]
) -> list[Any]:
    """Redact the cards and add `holder` to them and to the tiles' cards, for `user`."""
    return (_labeller or label_none)(user, nodes, tiles, cards)
