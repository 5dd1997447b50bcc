"""Helpers that compare npu-smi output structure with the real samples."""

from __future__ import annotations

import itertools
import re

TOKEN = re.compile(r"[^\s/|]+|/|\|")
PROC_ROW = re.compile(r"^\| (\d+)\s+(\d+)\s+\| (\d+)\s+\| (.*?)\s*\| (\d+)\s+\|$")


def token_starts(line: str) -> list[int]:
    """Column where each cell token, slash and pipe starts: the shape of a table row."""
    return [m.start() for m in TOKEN.finditer(line)]


def kv_shape(lines: list[str]) -> list[tuple[str, int] | None]:
    """(key, colon column relative to the key) per line; None for blank lines."""
    out: list[tuple[str, int] | None] = []
    for line in lines:
        if not line.strip():
            out.append(None)
            continue
        key = line.split(":", 1)[0]
        indent = len(key) - len(key.lstrip())
        out.append((key.strip(), line.index(":") - indent))
    return out


def processes(text: str) -> list[tuple[int, int, str, int]]:
    """(npu, pid, name, memory) rows of the process section of `npu-smi info`."""
    rows = []
    for line in text.splitlines():
        m = PROC_ROW.match(line)
        if m:
            rows.append((int(m[1]), int(m[3]), m[4], int(m[5])))
    return rows


def device_rows(text: str) -> dict[int, tuple[str, str, int, int]]:
    """npu -> (chip name, health, HBM used, HBM total) from the device part of `npu-smi info`."""
    lines = text.splitlines()
    out = {}
    for first, second in itertools.pairwise(lines):
        m = re.match(r"^\| (\d+)\s+(\S+)\s+\| (\S+)\s+\|", first)
        if m and re.match(r"^\| \d+\s+\| [0-9A-F]{4}:", second):
            used, total = re.findall(r"(\d+)\s*/\s*(\d+)", second.split("|")[3])[-1]
            out[int(m[1])] = (m[2], m[3], int(used), int(total))
    return out
