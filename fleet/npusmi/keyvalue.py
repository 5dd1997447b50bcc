"""The 'Key : value' outputs: `info -l`, `-t board`, `-t usages`, `-t common` and `-t health`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .common import (
    KeyValue,
    Line,
    Number,
    key_value_blocks,
    last_line,
    read_int,
    read_opt_int,
    read_value,
    split_lines,
)

Fields = tuple[tuple[str, str], ...]


def _fields_dict(fields: Fields) -> dict[str, str]:
    return dict(fields)


def _unique(items: list[KeyValue]) -> dict[str, KeyValue]:
    """Index lines by snake-case key; a key printed twice is a ParseError."""
    seen: dict[str, KeyValue] = {}
    for item in items:
        if item.name in seen:
            raise item.line.error(f"{item.key!r} appears twice")
        seen[item.name] = item
    return seen


def _text(index: dict[str, KeyValue], name: str) -> str | None:
    item = index.get(name)
    return item.value if item else None


def _opt_int(index: dict[str, KeyValue], name: str) -> int | None:
    item = index.get(name)
    return read_opt_int(item.value, item.line, item.key) if item else None


def _required(index: dict[str, KeyValue], name: str, label: str, anchor: Line) -> KeyValue:
    item = index.get(name)
    if item is None:
        raise anchor.error(f"missing {label!r}")
    return item


@dataclass(frozen=True, slots=True)
class NpuListEntry:
    """One NPU of `npu-smi info -l`."""

    npu_id: int
    chip_count: int | None
    product_name: str | None
    serial_number: str | None
    fields: Fields

    def to_dict(self) -> dict[str, Any]:
        """Plain dict; `fields` keeps every key as printed."""
        return {
            "npu_id": self.npu_id,
            "chip_count": self.chip_count,
            "product_name": self.product_name,
            "serial_number": self.serial_number,
            "fields": _fields_dict(self.fields),
        }


@dataclass(frozen=True, slots=True)
class NpuList:
    """The output of `npu-smi info -l`."""

    total_count: int
    npus: tuple[NpuListEntry, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {"total_count": self.total_count, "npus": [npu.to_dict() for npu in self.npus]}


def _list_entry(items: list[KeyValue]) -> NpuListEntry:
    index = _unique(items)
    head = items[0]
    return NpuListEntry(
        npu_id=read_int(head.value, head.line, head.key),
        chip_count=_opt_int(index, "chip_count"),
        product_name=_text(index, "product_name"),
        serial_number=_text(index, "serial_number"),
        fields=tuple((item.key, item.value) for item in items),
    )


def parse_list(text: str | bytes) -> NpuList:
    """Parse `npu-smi info -l`; the entry count must match 'Total Count'."""
    blocks = key_value_blocks(text)
    items = [item for block in blocks for item in block]
    first = items[0]
    if first.name != "total_count":
        raise first.line.error("expected 'Total Count' first")
    total = read_int(first.value, first.line, first.key)
    groups: list[list[KeyValue]] = []
    for item in items[1:]:
        if item.name == "npu_id":
            groups.append([item])
        elif not groups:
            raise item.line.error("expected 'NPU ID'")
        else:
            groups[-1].append(item)
    entries = tuple(_list_entry(group) for group in groups)
    if len(entries) != total:
        raise items[-1].line.error(f"'Total Count' says {total} but {len(entries)} NPUs listed")
    seen: set[int] = set()
    for entry, group in zip(entries, groups, strict=True):
        if entry.npu_id in seen:
            raise group[0].line.error(f"NPU {entry.npu_id} listed twice")
        seen.add(entry.npu_id)
    return NpuList(total_count=total, npus=entries)


@dataclass(frozen=True, slots=True)
class NpuBoard:
    """The output of `npu-smi info -t board -i N`; text fields are kept as printed."""

    npu_id: int
    chip_count: int | None
    product_name: str | None
    model: str | None
    manufacturer: str | None
    serial_number: str | None
    software_version: str | None
    firmware_version: str | None
    compatibility: str | None
    board_id: str | None
    pcb_id: str | None
    bom_id: str | None
    pcie_bus_info: str | None
    slot_id: int | None
    class_id: str | None
    pci_vendor_id: str | None
    pci_device_id: str | None
    subsystem_vendor_id: str | None
    subsystem_device_id: str | None
    chip_name: str | None
    fields: Fields

    def to_dict(self) -> dict[str, Any]:
        """Plain dict; `fields` keeps every key as printed."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["fields"] = _fields_dict(self.fields)
        return data


_BOARD_TEXT = (
    "product_name",
    "model",
    "manufacturer",
    "serial_number",
    "software_version",
    "firmware_version",
    "compatibility",
    "board_id",
    "pcb_id",
    "bom_id",
    "pcie_bus_info",
    "class_id",
    "pci_vendor_id",
    "pci_device_id",
    "subsystem_vendor_id",
    "subsystem_device_id",
    "chip_name",
)


def parse_board(text: str | bytes) -> NpuBoard:
    """Parse `npu-smi info -t board -i N`; 'NPU ID' is required."""
    items = [item for block in key_value_blocks(text) for item in block]
    index = _unique(items)
    npu = _required(index, "npu_id", "NPU ID", items[0].line)
    return NpuBoard(
        npu_id=read_int(npu.value, npu.line, npu.key),
        chip_count=_opt_int(index, "chip_count"),
        slot_id=_opt_int(index, "slot_id"),
        fields=tuple((item.key, item.value) for item in items),
        **{name: _text(index, name) for name in _BOARD_TEXT},
    )


Reading = Number | str | None


@dataclass(frozen=True, slots=True)
class ChipReadings:
    """The readings of one chip block (or of the 'mcu' block) of `-t usages` / `-t common`."""

    chip_id: int | None
    chip_name: str | None
    readings: tuple[tuple[str, Reading], ...]

    def get(self, name: str, default: Reading = None) -> Reading:
        """A reading by snake-case name, e.g. 'hbm_usage_rate_pct'."""
        return dict(self.readings).get(name, default)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {
            "chip_id": self.chip_id,
            "chip_name": self.chip_name,
            "readings": dict(self.readings),
        }


@dataclass(frozen=True, slots=True)
class NpuReadings:
    """The output of `npu-smi info -t usages -i N` or `-t common -i N`."""

    npu_id: int
    chip_count: int | None
    chips: tuple[ChipReadings, ...]

    def chip(self, chip_id: int) -> ChipReadings | None:
        """The block of one chip id, if printed."""
        return next((chip for chip in self.chips if chip.chip_id == chip_id), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {
            "npu_id": self.npu_id,
            "chip_count": self.chip_count,
            "chips": [chip.to_dict() for chip in self.chips],
        }


def _chip_readings(items: list[KeyValue]) -> ChipReadings:
    index = _unique(items)
    name = _text(index, "chip_name")
    readings = tuple(
        (item.name, read_value(item.value))
        for item in items
        if item.name not in ("chip_id", "chip_name")
    )
    return ChipReadings(chip_id=_opt_int(index, "chip_id"), chip_name=name, readings=readings)


def _parse_readings(text: str | bytes) -> NpuReadings:
    blocks = key_value_blocks(text)
    head = blocks[0]
    if head[0].name != "npu_id":
        raise head[0].line.error("expected 'NPU ID' first")
    npu_id = read_int(head[0].value, head[0].line, head[0].key)
    chip_count: int | None = None
    rest = head[1:]
    if rest and rest[0].name == "chip_count":
        chip_count = read_opt_int(rest[0].value, rest[0].line, rest[0].key)
        rest = rest[1:]
    groups = ([rest] if rest else []) + blocks[1:]
    if not groups:
        raise head[-1].line.error("no readings after the NPU header")
    return NpuReadings(
        npu_id=npu_id,
        chip_count=chip_count,
        chips=tuple(_chip_readings(group) for group in groups),
    )


def parse_usages(text: str | bytes) -> NpuReadings:
    """Parse `npu-smi info -t usages -i N`."""
    return _parse_readings(text)


def parse_common(text: str | bytes) -> NpuReadings:
    """Parse `npu-smi info -t common -i N`, including its trailing mcu block."""
    return _parse_readings(text)


@dataclass(frozen=True, slots=True)
class NpuHealth:
    """The output of `npu-smi info -t health -i N [-c M]`."""

    status: str
    error_codes: tuple[str, ...]
    error_information: str | None
    fields: Fields

    @property
    def ok(self) -> bool:
        """True when the status is 'OK'."""
        return self.status.upper() == "OK"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {
            "status": self.status,
            "error_codes": list(self.error_codes),
            "error_information": self.error_information,
            "fields": _fields_dict(self.fields),
        }


def _codes(value: str | None) -> tuple[str, ...]:
    if value is None or value in ("NA", "-", ""):
        return ()
    return tuple(code for code in value.replace(",", " ").split() if code)


def parse_health(text: str | bytes) -> NpuHealth:
    """Parse `npu-smi info -t health`; 'Health Status' is required."""
    lines = split_lines(text)
    items = [item for block in key_value_blocks(text) for item in block]
    index = _unique(items)
    status = _required(index, "health_status", "Health Status", last_line(lines))
    if not status.value:
        raise status.line.error("empty 'Health Status'")
    information = _text(index, "error_information")
    return NpuHealth(
        status=status.value,
        error_codes=_codes(_text(index, "error_code")),
        error_information=None if information in ("NA", "-") else information,
        fields=tuple((item.key, item.value) for item in items),
    )


__all__ = [
    "ChipReadings",
    "NpuBoard",
    "NpuHealth",
    "NpuList",
    "NpuListEntry",
    "NpuReadings",
    "parse_board",
    "parse_common",
    "parse_health",
    "parse_list",
    "parse_usages",
]
