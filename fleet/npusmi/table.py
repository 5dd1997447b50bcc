"""The boxed-table grammar of `npu-smi info`: borders, cells, header words and cell values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from .common import Line, read_int, read_opt_float, read_opt_int

BORDER = re.compile(r"\+[-=+]*")
NO_PROCESSES = re.compile(r"No running processes found in NPU\s+([0-9]+)", re.IGNORECASE)
VERSION = re.compile(r"npu-smi\s+(\S+)(?:\s+Version:\s*(\S+))?", re.IGNORECASE)

_ELLIPSIS_CHARS = frozenset(".…⋮")
_FRAME_CHARS = frozenset("| \t")
_SPACE = re.compile(r"\s*")
_TOKEN = re.compile(r"\S+")
_PAIR = re.compile(r"([^\s/]+)\s*/\s*([^\s/]+)(?=\s|$)")
_HEALTH = re.compile(r"[A-Za-z][A-Za-z_-]*")
_BUS_ID = re.compile(r"[0-9A-Fa-f]{1,8}:[0-9A-Fa-f]{1,2}:[0-9A-Fa-f]{1,2}\.[0-9A-Fa-f]")


class Kind(Enum):
    """How the value under one header word is written."""

    ID = "id"  # required integer
    INT = "int"  # integer, '-' / 'NA' read as None
    FLOAT = "float"  # decimal, '-' / 'NA' read as None
    PAIR = "pair"  # 'used / total', each side an INT
    HEALTH = "health"  # one word such as OK, Warning, Alarm
    BUS_ID = "bus_id"  # PCI address, 'NA' or '-', kept as written
    NAME = "name"  # free text, required
    TEXT = "text"  # free text, may be blank


@dataclass(frozen=True, slots=True)
class Column:
    """One header word of a cell and the field it fills."""

    key: str
    kind: Kind
    label: str


Labels = tuple[tuple[re.Pattern[str], str, Kind], ...]


def labels(*specs: tuple[str, str, Kind]) -> Labels:
    """Compile (pattern, key, kind) header words; a word must end at a space or the cell end."""
    return tuple(
        (re.compile(pattern + r"(?=\s|$)", re.IGNORECASE), key, kind)
        for pattern, key, kind in specs
    )


# Longer labels first: 'NPU Util(%)' and 'NPU ID' must win over 'NPU'.
DEVICE_LABELS = labels(
    (r"NPU\s+Util\(%\)", "npu_util_pct", Kind.INT),
    (r"NPU\s+ID", "npu_id", Kind.ID),
    (r"NPU", "npu_id", Kind.ID),
    (r"Name", "name", Kind.NAME),
    (r"Health", "health", Kind.HEALTH),
    (r"Power\(W\)", "power_w", Kind.FLOAT),
    (r"Temp\(C\)", "temp_c", Kind.INT),
    (r"Hugepages-Usage\(page\)", "hugepages", Kind.PAIR),
    (r"Chip\s+ID", "chip_id", Kind.ID),
    (r"Chip", "chip_id", Kind.ID),
    (r"Phy-ID", "phy_id", Kind.ID),
    (r"Device", "device_id", Kind.ID),
    (r"Bus-Id", "bus_id", Kind.BUS_ID),
    (r"AICore\(%\)", "aicore_pct", Kind.INT),
    (r"Memory-Usage\(MB\)", "memory", Kind.PAIR),
    (r"HBM-Usage\(MB\)", "hbm", Kind.PAIR),
)

PROCESS_LABELS = labels(
    (r"NPU\s+ID", "npu_id", Kind.ID),
    (r"NPU", "npu_id", Kind.ID),
    (r"Chip\s+ID", "chip_id", Kind.ID),
    (r"Chip", "chip_id", Kind.ID),
    (r"Process\s+id\s+in\s+container", "container_pid", Kind.INT),
    (r"Process\s+id", "pid", Kind.ID),
    (r"Process\s+name", "name", Kind.TEXT),
    (r"Process\s+memory\(MB\)", "memory_mb", Kind.INT),
)

Header = tuple[tuple[Column, ...], ...]
Cell = int | float | str | tuple[int | None, int | None] | None


def is_elision(text: str) -> bool:
    """A row shortened by hand in docs and bug reports: '...', '……' or '| ... |'."""
    chars = set(text) - _FRAME_CHARS
    if not chars or not chars <= _ELLIPSIS_CHARS:
        return False
    return text.count(".") >= 3 or chars != {"."}


def split_cells(line: Line) -> list[str]:
    """The stripped cells of a '| a | b |' row."""
    text = line.text.strip()
    if len(text) < 2 or not text.startswith("|") or not text.endswith("|"):
        raise line.error("table row must start and end with '|'")
    return [cell.strip() for cell in text[1:-1].split("|")]


def _after_space(text: str, pos: int) -> int:
    r"""The position after the whitespace at `pos` (r"\s*" always matches)."""
    match = _SPACE.match(text, pos)
    assert match is not None
    return match.end()


def read_columns(cell: str, words: Labels) -> tuple[Column, ...] | None:
    """The header words of one cell, or None when a word is not among `labels`."""
    columns: list[Column] = []
    pos = 0
    while pos < len(cell):
        for pattern, key, kind in words:
            match = pattern.match(cell, pos)
            if match:
                columns.append(Column(key, kind, match.group(0)))
                pos = _after_space(cell, match.end())
                break
        else:
            return None
    return tuple(columns)


def read_header(cells: list[str], words: Labels) -> Header | None:
    """Read a header row into its columns, or None when a word is not a known header word."""
    header: list[tuple[Column, ...]] = []
    for cell in cells:
        columns = read_columns(cell, words)
        if columns is None:
            return None
        header.append(columns)
    return tuple(header)


def header_keys(*rows: Header) -> list[str]:
    """Every field key named by the given header rows, in order."""
    return [column.key for row in rows for cell in row for column in cell]


def _read_token(kind: Kind, token: str, column: Column, line: Line) -> Cell:
    what = column.label
    if kind is Kind.ID:
        return read_int(token, line, what)
    if kind is Kind.INT:
        return read_opt_int(token, line, what)
    if kind is Kind.FLOAT:
        return read_opt_float(token, line, what)
    if kind is Kind.HEALTH:
        if _HEALTH.fullmatch(token) is None:
            raise line.error(f"{what} is not a health word ({token!r})")
        return token
    if kind is Kind.BUS_ID:
        if token not in ("NA", "-") and _BUS_ID.fullmatch(token) is None:
            raise line.error(f"{what} is not a PCI address ({token!r})")
        return token
    return token


def read_cell(cell: str, columns: tuple[Column, ...], line: Line) -> dict[str, Cell]:
    """Read the values of one cell, one per header word of the matching header cell."""
    values: dict[str, Cell] = {}
    pos = 0
    for index, column in enumerate(columns):
        pos = _after_space(cell, pos)
        last = index == len(columns) - 1
        if column.kind in (Kind.NAME, Kind.TEXT) and last:
            text = cell[pos:].strip()
            if column.kind is Kind.NAME and not text:
                raise line.error(f"missing {column.label}")
            values[column.key] = text
            pos = len(cell)
            continue
        if column.kind is Kind.PAIR:
            match = _PAIR.match(cell, pos)
            if match is None:
                raise line.error(f"{column.label} is not 'used / total'")
            values[column.key] = (
                read_opt_int(match.group(1), line, column.label),
                read_opt_int(match.group(2), line, column.label),
            )
        else:
            match = _TOKEN.match(cell, pos)
            if match is None:
                raise line.error(f"missing {column.label}")
            values[column.key] = _read_token(column.kind, match.group(0), column, line)
        pos = match.end()
    rest = cell[pos:].strip()
    if rest:
        raise line.error(f"unexpected text {rest[:40]!r} in a table cell")
    return values


def read_row(cells: list[str], header: tuple[tuple[Column, ...], ...], line: Line) -> dict:
    """Read a data row against its header row; the cell counts must agree."""
    if len(cells) != len(header):
        raise line.error(f"expected {len(header)} cells, found {len(cells)}")
    values: dict[str, Cell] = {}
    for cell, columns in zip(cells, header, strict=True):
        values.update(read_cell(cell, columns, line))
    return values
