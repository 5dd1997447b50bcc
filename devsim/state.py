"""Per-node state files (state.json) and the fault switches stored in them."""

from __future__ import annotations

import json
import os
import tempfile
import zlib
from pathlib import Path
from typing import Any

from devsim.chips import HEALTH_WORDS, Chip, bus_id

DEFAULT_FOREIGN_NAME = "python3"
DEFAULT_FOREIGN_HBM_MB = 12288


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temp file + rename) so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON object file."""
    return json.loads(path.read_text(encoding="utf-8"))


def empty_faults() -> dict[str, Any]:
    """The fault block of a healthy node."""
    return {"health": {}, "foreign": {}, "npu_smi": {"mode": "ok", "seconds": 0}, "down": False}


def build_state(
    name: str,
    spec: Chip,
    cards: int,
    driver: str,
    firmware: str,
    containers_file: Path,
    faults: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The full state.json content of a node."""
    serial_base = zlib.crc32(name.encode()) % 10**8
    return {
        "schema": 1,
        "name": name,
        "chip": spec.name,
        "layout": spec.layout,
        "cards": [
            {"npu": i, "bus_id": bus_id(i), "serial": f"1025C9{(serial_base + i * 7919):06d}"[:12]}
            for i in range(cards)
        ],
        "hbm_mb": spec.hbm_mb,
        "ddr_mb": spec.ddr_mb,
        "mem_base_mb": spec.mem_base_mb,
        "ddr_base_mb": spec.ddr_base_mb,
        "aicore_count": spec.aicore_count,
        "aicore_freq_mhz": spec.aicore_freq_mhz,
        "power_idle_w": spec.power_idle_w,
        "temp_idle_c": spec.temp_idle_c,
        "board": {
            "product": spec.product,
            "board_id": spec.board_id,
            "device_id": spec.device_id,
            "subsystem_device_id": spec.subsystem_device_id,
        },
        "driver": driver,
        "npu_smi_version": driver,
        "firmware": firmware,
        "containers_file": str(containers_file),
        "faults": faults if faults is not None else empty_faults(),
    }


def _check_card(state: dict[str, Any], card: int) -> None:
    if not 0 <= card < len(state["cards"]):
        raise ValueError(f"{state['name']} has no card {card} (cards 0-{len(state['cards']) - 1})")


def set_health(state: dict[str, Any], card: int, word: str) -> None:
    """Make a card report a health word (OK clears the fault)."""
    _check_card(state, card)
    if word not in HEALTH_WORDS:
        raise ValueError(f"health must be one of {', '.join(HEALTH_WORDS)}")
    health = state["faults"]["health"]
    if word == "OK":
        health.pop(str(card), None)
    else:
        health[str(card)] = word


def set_foreign(
    state: dict[str, Any],
    card: int,
    *,
    clear: bool = False,
    pid: int | None = None,
    name: str = DEFAULT_FOREIGN_NAME,
    hbm_mb: int = DEFAULT_FOREIGN_HBM_MB,
) -> dict[str, Any] | None:
    """Add (or clear) a process on a card that no dashboard container owns; return it."""
    _check_card(state, card)
    foreign = state["faults"]["foreign"]
    if clear:
        foreign.pop(str(card), None)
        return None
    if pid is None:
        pid = 400000 + zlib.crc32(f"{state['name']}/{card}".encode()) % 500000
    proc = {"pid": pid, "name": name[:25], "hbm_mb": hbm_mb, "foreign": True}
    foreign[str(card)] = [proc]
    return proc


def set_npu_smi(state: dict[str, Any], mode: str, seconds: float = 0.0) -> None:
    """Make npu-smi fail, answer slowly, or behave."""
    if mode not in ("ok", "fail", "slow"):
        raise ValueError("npu-smi mode must be ok, fail or slow")
    state["faults"]["npu_smi"] = {"mode": mode, "seconds": seconds if mode == "slow" else 0}
