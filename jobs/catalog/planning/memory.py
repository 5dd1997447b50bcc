"""Card memory by chip name, and which card-table column a node uses."""

from __future__ import annotations

from fleet.choices import CHIP_MEMORY_GB, chip_memory_gb
from jobs.catalog.planning.types import NodeFacts

CHIPS_BY_GB: dict[int, tuple[str, ...]] = {
    gb: tuple(name for name, mem in CHIP_MEMORY_GB.items() if mem == gb) for gb in (32, 64)
}


def card_memory_gb(node: NodeFacts) -> int | None:
    """Memory per card in GB: from the exact chip name, else from the HBM total, else None."""
    return chip_memory_gb(node.chip_name, node.hbm_total_mb)


def table_column(card_gb: int | None) -> int | None:
    """The card-table column (32 or 64 GB) for a card size; None when it has none."""
    # 64 GB from 60 GB of HBM up, 32 GB from 30 GB: npu-smi may report a little less than the
    # nominal size. Smaller cards (24 GB 310P3) have no column in the table.
    if card_gb is None:
        return None
    if card_gb >= 60:
        return 64
    if card_gb >= 30:
        return 32
    return None


def describe_memory(node: NodeFacts) -> str:
    """How the card size was determined, for messages."""
    gb = card_memory_gb(node)
    if node.chip_name is not None and node.chip_name in CHIP_MEMORY_GB:
        return f"{node.chip_name} ({gb} GB)"
    if gb is not None:
        name = f"chip {node.chip_name!r}, " if node.chip_name else ""
        return f"{name}HBM {node.hbm_total_mb} MB (~{gb} GB)"
    return f"chip {node.chip_name!r} with unknown HBM"
