"""Node state plus live processes: the figures every npu-smi output is rendered from."""

from __future__ import annotations

import time
import zlib


class CliError(Exception):
    """A usage error reported the way npu-smi reports it."""


class _ScanContext:
    """Settings the C JSON scanner reads (importing the json package costs ~8 ms)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float
    memo: dict = {}


def parse_json(text: str) -> dict:
    """Parse a JSON document with the C scanner directly, else with the json module."""
    try:
        import _json

        return _json.make_scanner(_ScanContext())(text.strip(), 0)[0]
    except ImportError:
        import json

        return json.loads(text)


def load_json(path: str, default: dict) -> dict:
    """Read a JSON file, falling back to a default when it is missing or half-written."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = parse_json(fh.read())
    except Exception:  # missing, unreadable or torn file: behave as if it were empty
        return default
    return doc if isinstance(doc, dict) else default


def jitter(key: str, span: int) -> int:
    """A stable pseudo-random integer in [0, span) for a key."""
    h = (zlib.crc32(key.encode()) * 0x9E3779B1) & 0xFFFFFFFF
    return (h ^ (h >> 15)) % max(span, 1)


class Node:
    """The node's state plus live processes, with the derived per-card figures."""

    def __init__(self, state: dict, containers: dict) -> None:
        self.s = state
        self.name = state["name"]
        self.cards: list[dict] = state["cards"]
        faults = state.get("faults", {})
        self.health: dict = faults.get("health", {})
        live = containers.get("nodes", {}).get(self.name, {})
        foreign = faults.get("foreign", {})
        self.procs: dict[int, list[dict]] = {}
        for card in self.cards:
            key = str(card["npu"])
            rows = list(live.get(key, [])) + list(foreign.get(key, []))
            self.procs[card["npu"]] = sorted(rows, key=lambda p: int(p["pid"]))
        self.tick = int(time.time() // 3)

    def card(self, npu: int) -> dict:
        """The card with this NPU id, or a usage error."""
        for card in self.cards:
            if card["npu"] == npu:
                return card
        raise CliError(f"The device with id {npu} does not exist.")

    def health_of(self, npu: int) -> str:
        """Health word of a card."""
        return self.health.get(str(npu), "OK")

    def busy(self, npu: int) -> bool:
        """Whether any process holds the card."""
        return bool(self.procs[npu])

    def mem_used(self, npu: int) -> int:
        """Used HBM (or DDR on 310P) in MB: the idle base plus every process."""
        total = self.s["hbm_mb"] if self.s["layout"] == "910b" else self.s["ddr_mb"]
        span = max(1, min(40, self.s["mem_base_mb"] // 4))
        base = self.s["mem_base_mb"] + jitter(f"{self.name}/{npu}/mem", span) - span // 2
        used = base + sum(int(p["hbm_mb"]) for p in self.procs[npu])
        return max(0, min(used, total - 1))

    def aicore(self, npu: int) -> int:
        """AI Core utilisation in percent."""
        if not self.busy(npu):
            return 0
        return 20 + jitter(f"{self.name}/{npu}/{self.tick}/ai", 60)

    def power(self, npu: int) -> str:
        """Power draw in W as printed (NA on 310P)."""
        if self.s.get("power_idle_w") is None:
            return "NA"
        watts = self.s["power_idle_w"] + jitter(f"{self.name}/{npu}/pw", 80) / 10
        watts += jitter(f"{self.name}/{npu}/{self.tick}/pw", 30) / 10
        if self.busy(npu):
            watts += 60 + self.aicore(npu) * 1.5
        return f"{watts:.1f}"

    def temp(self, npu: int) -> int:
        """Chip temperature in C."""
        base = self.s.get("temp_idle_c", 34) + jitter(f"{self.name}/{npu}/t", 6)
        base += jitter(f"{self.name}/{npu}/{self.tick}/t", 2)
        return base + (12 if self.busy(npu) else 0)
