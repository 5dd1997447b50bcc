"""`npu-smi info`: the device table (every known layout) and the process table under it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .common import Line, ParseError, last_line, split_lines
from .table import (
    BORDER,
    DEVICE_LABELS,
    NO_PROCESSES,
    PROCESS_LABELS,
    VERSION,
    Header,
    header_keys,
    is_elision,
    read_header,
    read_row,
    split_cells,
)


@dataclass(frozen=True, slots=True)
class InfoLayout:
    """Which columns the table printed; decides the optional keys of `to_dict()`."""

    device_columns: tuple[str, ...]
    process_columns: tuple[str, ...] = ()

    @property
    def has_device_id(self) -> bool:
        """310-class layout: second row reads 'Chip    Device'."""
        return "device_id" in self.device_columns

    @property
    def has_npu_util(self) -> bool:
        """Ascend 950 layout: 'NPU Util(%)' in place of 'AICore(%)'."""
        return "npu_util_pct" in self.device_columns

    @property
    def has_container_pid(self) -> bool:
        """26.x layout: the process table has 'Process id in container'."""
        return "container_pid" in self.process_columns


@dataclass(frozen=True, slots=True)
class NpuChip:
    """One chip (die) of an NPU card: the two table rows that describe it."""

    npu_id: int
    chip_id: int | None
    phy_id: int | None
    name: str
    health: str | None
    power_w: float | None
    temp_c: int | None
    aicore_pct: int | None
    hbm_used_mb: int | None
    hbm_total_mb: int | None
    memory_used_mb: int | None
    memory_total_mb: int | None
    hugepages_used: int | None
    hugepages_total: int | None
    bus_id: str | None
    device_id: int | None = None
    npu_util_pct: int | None = None

    def to_dict(self, layout: InfoLayout | None = None) -> dict[str, Any]:
        """Plain dict; `device_id` / `npu_util_pct` only where the layout has them."""
        data: dict[str, Any] = {
            "npu_id": self.npu_id,
            "chip_id": self.chip_id,
            "phy_id": self.phy_id,
            "name": self.name,
            "health": self.health,
            "power_w": self.power_w,
            "temp_c": self.temp_c,
            "aicore_pct": self.aicore_pct,
            "hbm_used_mb": self.hbm_used_mb,
            "hbm_total_mb": self.hbm_total_mb,
            "memory_used_mb": self.memory_used_mb,
            "memory_total_mb": self.memory_total_mb,
            "hugepages_used": self.hugepages_used,
            "hugepages_total": self.hugepages_total,
            "bus_id": self.bus_id,
        }
        if layout.has_device_id if layout else self.device_id is not None:
            data["device_id"] = self.device_id
        if layout.has_npu_util if layout else self.npu_util_pct is not None:
            data["npu_util_pct"] = self.npu_util_pct
        return data


@dataclass(frozen=True, slots=True)
class NpuProcess:
    """One row of the process table."""

    npu_id: int
    chip_id: int | None
    pid: int
    name: str
    memory_mb: int | None
    container_pid: int | None = None

    def to_dict(self, layout: InfoLayout | None = None) -> dict[str, Any]:
        """Plain dict; `container_pid` only where the layout has that column."""
        data: dict[str, Any] = {
            "npu_id": self.npu_id,
            "chip_id": self.chip_id,
            "pid": self.pid,
            "name": self.name,
            "memory_mb": self.memory_mb,
        }
        if layout.has_container_pid if layout else self.container_pid is not None:
            data["container_pid"] = self.container_pid
        return data


@dataclass(frozen=True, slots=True)
class NpuSmiInfo:
    """Everything `npu-smi info` printed."""

    version: str | None
    npu_smi_version: str | None
    devices: tuple[NpuChip, ...]
    processes: tuple[NpuProcess, ...]
    layout: InfoLayout

    @property
    def npu_ids(self) -> tuple[int, ...]:
        """NPU ids in order of appearance, each once."""
        return tuple(dict.fromkeys(chip.npu_id for chip in self.devices))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with the keys and conventions of the shared expected.json."""
        return {
            "version": self.version,
            "npu_smi_version": self.npu_smi_version,
            "devices": [chip.to_dict(self.layout) for chip in self.devices],
            "processes": [process.to_dict(self.layout) for process in self.processes],
        }


def _pair(values: dict[str, Any], key: str) -> tuple[int | None, int | None]:
    return values.get(key) or (None, None)


def _chip(values: dict[str, Any]) -> NpuChip:
    hbm_used, hbm_total = _pair(values, "hbm")
    memory_used, memory_total = _pair(values, "memory")
    hugepages_used, hugepages_total = _pair(values, "hugepages")
    return NpuChip(
        npu_id=values["npu_id"],
        chip_id=values.get("chip_id"),
        phy_id=values.get("phy_id"),
        name=values.get("name", ""),
        health=values.get("health"),
        power_w=values.get("power_w"),
        temp_c=values.get("temp_c"),
        aicore_pct=values.get("aicore_pct"),
        hbm_used_mb=hbm_used,
        hbm_total_mb=hbm_total,
        memory_used_mb=memory_used,
        memory_total_mb=memory_total,
        hugepages_used=hugepages_used,
        hugepages_total=hugepages_total,
        bus_id=values.get("bus_id"),
        device_id=values.get("device_id"),
        npu_util_pct=values.get("npu_util_pct"),
    )


def _process(values: dict[str, Any]) -> NpuProcess:
    return NpuProcess(
        npu_id=values["npu_id"],
        chip_id=values.get("chip_id"),
        pid=values["pid"],
        name=values.get("name", ""),
        memory_mb=values.get("memory_mb"),
        container_pid=values.get("container_pid"),
    )


def _check_unique(keys: list[str], line: Line, what: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise line.error(f"{what} names {key!r} twice")
        seen.add(key)


class _InfoReader:
    """Walks the lines of `npu-smi info` once, keeping the state of the table."""

    def __init__(self) -> None:
        self.version: str | None = None
        self.npu_smi_version: str | None = None
        self.seen_version = False
        self.first_header: Header | None = None
        self.second_header: Header | None = None
        self.process_header: Header | None = None
        self.in_processes = False
        self.pending: dict[str, Any] | None = None
        self.pending_line: Line | None = None
        self.chips: list[NpuChip] = []
        self.processes: list[NpuProcess] = []

    def feed(self, line: Line) -> None:
        """Take one line of output."""
        text = line.text.strip()
        if not text or BORDER.fullmatch(text):
            if text and self.pending is not None:
                raise line.error("border between the two rows of one chip")
            return
        if is_elision(text):
            # A chip whose second row was cut out of a pasted excerpt is not visible.
            self.pending = self.pending_line = None
            return
        if not text.startswith("|"):
            raise line.error("not part of an npu-smi info table")
        cells = split_cells(line)
        if len(cells) == 1 and self._single_cell(cells[0], line):
            return
        if self.second_header is None:
            self._device_header(cells, line)
        elif self.in_processes:
            self._process_row(cells, line)
        elif self.pending is None:
            header = read_header(cells, PROCESS_LABELS)
            if header is not None and "pid" in header_keys(header):
                self._set_process_header(header, line)
                self.in_processes = True
            else:
                self.pending = read_row(cells, self.first_header or (), line)
                self.pending_line = line
        else:
            values = read_row(cells, self.second_header, line)
            self.chips.append(_chip({**self.pending, **values}))
            self.pending = self.pending_line = None

    def _single_cell(self, cell: str, line: Line) -> bool:
        if cell[:7].lower() == "npu-smi":
            match = VERSION.fullmatch(cell)
            if match is None:
                raise line.error("cannot read the npu-smi version line")
            if self.seen_version or self.first_header is not None:
                raise line.error("version line out of place")
            self.seen_version = True
            self.npu_smi_version, self.version = match.group(1), match.group(2)
            return True
        if NO_PROCESSES.fullmatch(cell):
            if self.second_header is None or self.pending is not None:
                raise line.error("process line out of place")
            self.in_processes = True
            return True
        return False

    def _device_header(self, cells: list[str], line: Line) -> None:
        header = read_header(cells, DEVICE_LABELS)
        if header is None:
            raise line.error("not an npu-smi info table header")
        if self.first_header is None:
            if "npu_id" not in header_keys(header):
                raise line.error("first header row has no NPU column")
            self.first_header = header
            return
        keys = header_keys(self.first_header, header)
        _check_unique(keys, line, "table header")
        if not header_keys(header):
            raise line.error("second header row is empty")
        self.second_header = header

    def _set_process_header(self, header: Header, line: Line) -> None:
        keys = header_keys(header)
        _check_unique(keys, line, "process header")
        if "npu_id" not in keys:
            raise line.error("process header has no NPU column")
        self.process_header = header

    def _process_row(self, cells: list[str], line: Line) -> None:
        if self.process_header is None and not self.processes:
            header = read_header(cells, PROCESS_LABELS)
            if header is not None and "pid" in header_keys(header):
                self._set_process_header(header, line)
                return
        if self.process_header is None:
            raise line.error("process row without a process header")
        self.processes.append(_process(read_row(cells, self.process_header, line)))

    def result(self, lines: list[Line]) -> NpuSmiInfo:
        """Finish reading; output that ends early or holds no chip is a ParseError."""
        end = last_line(lines)
        if self.pending_line is not None:
            raise self.pending_line.error("chip row without its second row")
        if self.second_header is None:
            raise end.error("no npu-smi info table header found")
        if not self.chips:
            raise end.error("table lists no NPU")
        layout = InfoLayout(
            device_columns=tuple(header_keys(self.first_header or (), self.second_header)),
            process_columns=tuple(header_keys(self.process_header or ())),
        )
        return NpuSmiInfo(
            version=self.version,
            npu_smi_version=self.npu_smi_version,
            devices=tuple(self.chips),
            processes=tuple(self.processes),
            layout=layout,
        )


def parse_info(text: str | bytes) -> NpuSmiInfo:
    """Parse the output of `npu-smi info`; raises ParseError for anything it cannot read."""
    lines = split_lines(text)
    reader = _InfoReader()
    for line in lines:
        reader.feed(line)
    return reader.result(lines)


__all__ = ["InfoLayout", "NpuChip", "NpuProcess", "NpuSmiInfo", "ParseError", "parse_info"]
