"""Where a recipe is checked and rendered: node facts, Ascend paths and physical cards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fleet.errors import Invalid
from fleet.models import Card, Node
from jobs.catalog.planning import WARNING, Message, NodeFacts
from jobs.catalog.render import AscendPaths

GENERIC_LABEL = "generic 8 x 64 GB node"
GENERIC_FACTS = NodeFacts(chip_name="910B3", hbm_total_mb=65536, card_count=8)


@dataclass(frozen=True)
class Placement:
    """A node (or the generic one) with the cards a recipe would run on."""

    label: str
    facts: NodeFacts
    paths: AscendPaths
    card_ids: tuple[int, ...] = ()
    node: Node | None = None
    notes: list[Message] = field(default_factory=list)


GENERIC_PLACEMENT = Placement(GENERIC_LABEL, GENERIC_FACTS, AscendPaths())


def parse_cards(raw: str | Sequence[int] | None) -> tuple[int, ...] | None:
    """'0,1' or [0, 1] -> (0, 1); None or '' -> None (choose automatically)."""
    if raw is None or raw == "" or raw == []:
        return None
    parts = raw.split(",") if isinstance(raw, str) else list(raw)
    try:
        cards = tuple(int(str(p).strip()) for p in parts)
    except ValueError:
        raise Invalid(
            f"cards must be device numbers like 0,1, not {raw!r}", field="cards"
        ) from None
    if any(c < 0 for c in cards) or len(set(cards)) != len(cards):
        raise Invalid(f"cards {list(cards)} repeat a card or are negative", field="cards")
    return cards


def _generic(cards: tuple[int, ...] | None, count: int) -> Placement:
    """The generic node with cards 0..7."""
    if cards is not None:
        missing = [c for c in cards if c >= GENERIC_FACTS.card_count]
        if missing:
            raise Invalid(
                f"cards {missing} do not exist on the {GENERIC_LABEL} (it has 0-7)", field="cards"
            )
    chosen = cards if cards is not None else tuple(range(min(count, GENERIC_FACTS.card_count)))
    return Placement(GENERIC_LABEL, GENERIC_FACTS, AscendPaths(), chosen)


def _busy(card: Card) -> str:
    """Why a card is not free ('' when it is)."""
    if card.cordoned:
        return "cordoned"
    if card.processes:
        return "held by a process"
    return ""


def placement_for(
    node: Node | None, cards: tuple[int, ...] | None = None, count: int = 1
) -> Placement:
    """The placement on `node` (generic when None): chosen cards, or the first `count` free ones."""
    if node is None:
        return _generic(cards, count)
    present = sorted((c for c in node.cards.all() if c.present), key=lambda c: c.device)
    by_device = {c.device: c for c in present}
    free = [c.device for c in present if not _busy(c)]
    notes: list[Message] = []
    if cards is not None:
        missing = [c for c in cards if c not in by_device]
        if missing:
            have = ", ".join(str(d) for d in by_device) or "none reported yet"
            raise Invalid(
                f"cards {missing} do not exist on {node.name} (its cards: {have})", field="cards"
            )
        for device in cards:
            why = _busy(by_device[device])
            if why:
                notes.append(
                    Message(
                        WARNING,
                        "cards",
                        f"davinci{device} on {node.name} is {why}",
                        "pick free cards or book them first",
                    )
                )
        chosen = cards
    else:
        pool = free + [c.device for c in present if _busy(c)]
        chosen = tuple(pool[:count])
    first = present[0] if present else None
    facts = NodeFacts(
        chip_name=node.facts.get("chip_name") or (first.chip_name if first else None) or None,
        hbm_total_mb=node.facts.get("hbm_total_mb") or (first.hbm_total_mb if first else None),
        card_count=len(present) or node.expected_cards,
        free_cards=len(free) if present else None,
    )
    paths = AscendPaths(
        device_dir=node.device_dir,
        driver_dir=node.driver_dir,
        npu_smi=node.npu_smi_path,
        install_info=node.install_info_path,
    )
    return Placement(node.name, facts, paths, chosen, node, notes)
