"""Parsers for the text that Huawei's `npu-smi` prints; pure Python, no Django."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from .common import ParseError
from .info import InfoLayout, NpuChip, NpuProcess, NpuSmiInfo, parse_info
from .keyvalue import (
    ChipReadings,
    NpuBoard,
    NpuHealth,
    NpuList,
    NpuListEntry,
    NpuReadings,
    parse_board,
    parse_common,
    parse_health,
    parse_list,
    parse_usages,
)
from .mapping import ChipMapping, NpuMapping, NpuTopology, parse_mapping, parse_topo


class Parsed(Protocol):
    """What every parser returns: a frozen dataclass that can turn itself into plain data."""

    def to_dict(self) -> dict[str, Any]: ...


# One parser per npu-smi command; the keys are the `--kind` choices of `manage.py npusmi`.
PARSERS: dict[str, Callable[[str | bytes], Parsed]] = {
    "info": parse_info,  # npu-smi info
    "list": parse_list,  # npu-smi info -l
    "map": parse_mapping,  # npu-smi info -m
    "board": parse_board,  # npu-smi info -t board -i N
    "usages": parse_usages,  # npu-smi info -t usages -i N
    "common": parse_common,  # npu-smi info -t common -i N
    "health": parse_health,  # npu-smi info -t health -i N [-c M]
    "topo": parse_topo,  # npu-smi info -t topo
}


def parse(kind: str, text: str | bytes) -> Parsed:
    """Parse `text` as the output named by `kind` (a key of PARSERS)."""
    try:
        parser = PARSERS[kind]
    except KeyError:
        raise ValueError(f"unknown npu-smi output kind {kind!r}") from None
    return parser(text)


__all__ = [
    "PARSERS",
    "ChipMapping",
    "ChipReadings",
    "InfoLayout",
    "NpuBoard",
    "NpuChip",
    "NpuHealth",
    "NpuList",
    "NpuListEntry",
    "NpuMapping",
    "NpuProcess",
    "NpuReadings",
    "NpuSmiInfo",
    "NpuTopology",
    "ParseError",
    "parse",
    "parse_board",
    "parse_common",
    "parse_health",
    "parse_info",
    "parse_list",
    "parse_mapping",
    "parse_topo",
    "parse_usages",
]
