"""Pieces shared by the npu-smi parsers: the error type, numbered lines and value readers."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Cells that npu-smi prints when a reading does not exist or is not supported.
NULL_TOKENS = frozenset({"-", "NA", "N/A"})

_SHOWN_CHARS = 160
# Longer digit runs are not readings; they also keep int() clear of its digit limit.
_INT = re.compile(r"[0-9]{1,18}")
_FLOAT = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,6})?")
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9 ()%./_-]*")
_UNIT = re.compile(r"\(([^()]*)\)")
_NON_WORD = re.compile(r"[^a-z0-9]+")

Number = int | float


class ParseError(ValueError):
    """Output that the parser cannot read; the message names the line number and the line."""

    def __init__(self, reason: str, lineno: int, line: str) -> None:
        self.reason = reason
        self.lineno = lineno
        self.line = line
        shown = line if len(line) <= _SHOWN_CHARS else line[:_SHOWN_CHARS] + "..."
        super().__init__(f"line {lineno}: {reason}: {shown!r}")


@dataclass(frozen=True, slots=True)
class Line:
    """One line of input with its 1-based number."""

    no: int
    text: str

    def error(self, reason: str) -> ParseError:
        """Build a ParseError that points at this line."""
        return ParseError(reason, self.no, self.text)


def split_lines(text: str | bytes) -> list[Line]:
    """Split command output into numbered lines; empty or blank output is a ParseError."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(f"output is not UTF-8 ({exc.reason})", 1, "") from None
    if not isinstance(text, str):
        raise ParseError(f"expected text, got {type(text).__name__}", 1, "")
    lines = [Line(no, raw.rstrip("\r")) for no, raw in enumerate(text.split("\n"), start=1)]
    if not any(line.text.strip() for line in lines):
        raise ParseError("empty output", 1, lines[0].text)
    return lines


def last_line(lines: list[Line]) -> Line:
    """The last non-blank line, used to report output that ends too early."""
    for line in reversed(lines):
        if line.text.strip():
            return line
    return lines[-1]


def read_int(token: str, line: Line, what: str) -> int:
    """Read a non-negative integer that must be present."""
    if _INT.fullmatch(token) is None:
        raise line.error(f"{what} is not a number ({token!r})")
    return int(token)


def read_opt_int(token: str, line: Line, what: str) -> int | None:
    """Read a non-negative integer, or None for '-' / 'NA'."""
    if token in NULL_TOKENS:
        return None
    return read_int(token, line, what)


def read_opt_float(token: str, line: Line, what: str) -> float | None:
    """Read a decimal number, or None for '-' / 'NA'."""
    if token in NULL_TOKENS:
        return None
    if _FLOAT.fullmatch(token) is None:
        raise line.error(f"{what} is not a number ({token!r})")
    return float(token)


def read_value(token: str) -> Number | str | None:
    """Read a key-value reading: a number when it looks like one, None for '-' / 'NA', else text."""
    if token in NULL_TOKENS:
        return None
    if _INT.fullmatch(token):
        return int(token)
    if _FLOAT.fullmatch(token):
        return float(token)
    return token


def snake(key: str) -> str:
    """Turn an npu-smi label such as 'HBM Usage Rate(%)' into 'hbm_usage_rate_pct'."""
    key = _UNIT.sub(lambda m: " pct " if m.group(1) == "%" else f" {m.group(1)} ", key)
    return _NON_WORD.sub("_", key.lower()).strip("_")


@dataclass(frozen=True, slots=True)
class KeyValue:
    """One 'Key : value' line of the -t outputs."""

    line: Line
    key: str
    value: str

    @property
    def name(self) -> str:
        """The key in snake case."""
        return snake(self.key)


def read_key_value(line: Line) -> KeyValue:
    """Split a 'Key      : value' line; the key may not be empty or odd-looking."""
    key, sep, value = line.text.partition(":")
    key = key.strip()
    if not sep or _KEY.fullmatch(key) is None or not snake(key):
        raise line.error("expected 'Key : value'")
    return KeyValue(line, key, value.strip())


def key_value_blocks(text: str | bytes) -> list[list[KeyValue]]:
    """Read blank-line separated blocks of 'Key : value' lines."""
    blocks: list[list[KeyValue]] = []
    current: list[KeyValue] = []
    for line in split_lines(text):
        if not line.text.strip():
            if current:
                blocks.append(current)
                current = []
            continue
        current.append(read_key_value(line))
    if current:
        blocks.append(current)
    return blocks
