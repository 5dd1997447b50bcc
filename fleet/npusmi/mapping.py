"""Column outputs without borders: `npu-smi info -m` (chip mapping) and `-t topo` (links)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .common import Line, last_line, snake, split_lines
from .table import Kind, labels, read_cell, read_columns

MAPPING_LABELS = labels(
    (r"NPU\s+ID", "npu_id", Kind.ID),
    (r"Chip\s+ID", "chip_id", Kind.ID),
    (r"Chip\s+Logic\s+ID", "chip_logic_id", Kind.INT),
    (r"Chip\s+Phy-ID", "chip_phy_id", Kind.INT),
    (r"Chip\s+Name", "chip_name", Kind.NAME),
)

_DEVICE = re.compile(r"[A-Za-z][A-Za-z_-]*[0-9]{1,6}")
_LINK = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_LEGEND = re.compile(r"([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.+)")
_WIDE_GAP = re.compile(r"\s{2,}")


@dataclass(frozen=True, slots=True)
class ChipMapping:
    """One row of `npu-smi info -m`; logic / physical ids are None for '-' (the Mcu rows)."""

    npu_id: int
    chip_id: int
    chip_logic_id: int | None
    chip_phy_id: int | None
    chip_name: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {
            "npu_id": self.npu_id,
            "chip_id": self.chip_id,
            "chip_logic_id": self.chip_logic_id,
            "chip_phy_id": self.chip_phy_id,
            "chip_name": self.chip_name,
        }


@dataclass(frozen=True, slots=True)
class NpuMapping:
    """The output of `npu-smi info -m`."""

    chips: tuple[ChipMapping, ...]

    @property
    def compute_chips(self) -> tuple[ChipMapping, ...]:
        """Chips with a logic id, i.e. the ones a framework sees as devices (no Mcu)."""
        return tuple(chip for chip in self.chips if chip.chip_logic_id is not None)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {"chips": [chip.to_dict() for chip in self.chips]}


def _content(lines: list[Line]) -> list[Line]:
    return [line for line in lines if line.text.strip()]


def parse_mapping(text: str | bytes) -> NpuMapping:
    """Parse `npu-smi info -m`; the columns come from the header words."""
    lines = _content(split_lines(text))
    header = lines[0]
    columns = read_columns(header.text.strip(), MAPPING_LABELS)
    if columns is None:
        raise header.error("not an npu-smi info -m header")
    keys = [column.key for column in columns]
    for required in ("npu_id", "chip_id", "chip_name"):
        if required not in keys:
            raise header.error(f"header has no {required!r} column")
    if len(set(keys)) != len(keys):
        raise header.error("header names a column twice")
    if len(lines) == 1:
        raise header.error("no chip rows under the header")
    chips: list[ChipMapping] = []
    seen_chips: set[tuple[int, int]] = set()
    seen_logic: set[int] = set()
    for line in lines[1:]:
        # Each column's kind fixes its value's type (npu_id INT, chip_name NAME, ...).
        values: dict[str, Any] = read_cell(line.text.strip(), columns, line)
        chip = ChipMapping(
            npu_id=values["npu_id"],
            chip_id=values["chip_id"],
            chip_logic_id=values.get("chip_logic_id"),
            chip_phy_id=values.get("chip_phy_id"),
            chip_name=values["chip_name"],
        )
        if (chip.npu_id, chip.chip_id) in seen_chips:
            raise line.error(f"NPU {chip.npu_id} chip {chip.chip_id} listed twice")
        if chip.chip_logic_id is not None and chip.chip_logic_id in seen_logic:
            raise line.error(f"chip logic id {chip.chip_logic_id} listed twice")
        seen_chips.add((chip.npu_id, chip.chip_id))
        if chip.chip_logic_id is not None:
            seen_logic.add(chip.chip_logic_id)
        chips.append(chip)
    return NpuMapping(chips=tuple(chips))


@dataclass(frozen=True, slots=True)
class NpuTopology:
    """The output of `npu-smi info -t topo`: a link matrix plus columns such as CPU Affinity."""

    devices: tuple[str, ...]
    links: tuple[tuple[str, ...], ...]
    extra_columns: tuple[str, ...]
    extras: tuple[tuple[str | None, ...], ...]
    legend: tuple[tuple[str, str], ...]

    def link(self, a: str, b: str) -> str:
        """The link type between two devices, e.g. 'HCCS'; KeyError for unknown names."""
        try:
            return self.links[self.devices.index(a)][self.devices.index(b)]
        except ValueError:
            raise KeyError((a, b)) from None

    def column(self, label: str) -> dict[str, str | None]:
        """One extra column by label (e.g. 'CPU Affinity'), per device."""
        wanted = snake(label)
        for index, name in enumerate(self.extra_columns):
            if snake(name) == wanted:
                return {dev: row[index] for dev, row in zip(self.devices, self.extras, strict=True)}
        return {}

    @property
    def cpu_affinity(self) -> dict[str, str | None]:
        """CPU Affinity per device ({} when the column is absent)."""
        return self.column("CPU Affinity")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict: links as {row: {column: link}}, extra columns keyed by snake-case label."""
        data: dict[str, Any] = {
            "devices": list(self.devices),
            "links": {
                dev: dict(zip(self.devices, row, strict=True))
                for dev, row in zip(self.devices, self.links, strict=True)
            },
        }
        for label in self.extra_columns:
            data[snake(label)] = self.column(label)
        data["legend"] = dict(self.legend)
        return data


def _topo_header(line: Line) -> tuple[tuple[str, ...], tuple[str, ...]]:
    text = line.text.strip()
    devices: list[str] = []
    pos = 0
    while True:
        match = _DEVICE.match(text, pos)
        if match is None or (match.end() < len(text) and not text[match.end()].isspace()):
            break
        devices.append(match.group(0))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    rest = text[pos:].strip()
    extras = tuple(_WIDE_GAP.split(rest)) if rest else ()
    if not devices or len(set(devices)) != len(devices):
        raise line.error("not an npu-smi topo header")
    if any(not snake(label) for label in extras):
        raise line.error("cannot read the extra header columns")
    return tuple(devices), extras


def _legend(lines: list[Line]) -> tuple[tuple[str, str], ...]:
    entries: dict[str, str] = {}
    for line in lines:
        match = _LEGEND.fullmatch(line.text.strip())
        if match is None:
            raise line.error("expected 'CODE = meaning' in the legend")
        if match.group(1) in entries:
            raise line.error(f"legend lists {match.group(1)!r} twice")
        entries[match.group(1)] = match.group(2).strip()
    return tuple(entries.items())


def parse_topo(text: str | bytes) -> NpuTopology:
    """Parse `npu-smi info -t topo`; every device of the header needs its row."""
    lines = _content(split_lines(text))
    devices, extra_columns = _topo_header(lines[0])
    legend_at = next(
        (i for i, line in enumerate(lines) if line.text.strip().lower() == "legend:"), len(lines)
    )
    rows: dict[str, tuple[tuple[str, ...], tuple[str | None, ...]]] = {}
    for line in lines[1:legend_at]:
        tokens = line.text.split()
        name, links, extras = tokens[0], tokens[1 : len(devices) + 1], tokens[len(devices) + 1 :]
        if name not in devices:
            raise line.error(f"row {name!r} is not a device of the header")
        if name in rows:
            raise line.error(f"row {name!r} appears twice")
        if len(links) != len(devices) or any(_LINK.fullmatch(link) is None for link in links):
            raise line.error(f"expected {len(devices)} link types")
        if len(extra_columns) == 1 and extras:
            extras = [" ".join(extras)]
        if extras and len(extras) != len(extra_columns):
            raise line.error(f"expected {len(extra_columns)} values after the links")
        rows[name] = (tuple(links), tuple(extras) or (None,) * len(extra_columns))
    missing = [dev for dev in devices if dev not in rows]
    if missing:
        raise last_line(lines[:legend_at]).error(f"no row for {', '.join(missing)}")
    return NpuTopology(
        devices=devices,
        links=tuple(rows[dev][0] for dev in devices),
        extra_columns=extra_columns,
        extras=tuple(rows[dev][1] for dev in devices),
        legend=_legend(lines[legend_at + 1 :]),
    )


__all__ = ["ChipMapping", "NpuMapping", "NpuTopology", "parse_mapping", "parse_topo"]
