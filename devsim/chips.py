"""Chip models the simulator can impersonate, with the figures npu-smi reports for them."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_DRIVER = "23.0.6"
DEFAULT_FIRMWARE = "7.1.0.11.220"
# Bus ids in the order real 8-card 910B boxes list them (see samples info-007 / info-048).
BUS_IDS_8 = ["C1", "C2", "81", "82", "01", "02", "41", "42"]
HEALTH_WORDS = ("OK", "Warning", "Alarm", "Critical")


@dataclass(frozen=True)
class Chip:
    """Static facts about one chip model."""

    name: str
    layout: str  # "910b": HBM column, one chip per NPU; "310p": 'Chip Device' table, DDR only
    hbm_mb: int
    ddr_mb: int
    mem_base_mb: int  # memory in use on an idle card (HBM on 910-class, DDR on 310P)
    ddr_base_mb: int
    aicore_count: int
    aicore_freq_mhz: int
    power_idle_w: float | None  # None prints 'NA' as 310P cards do
    temp_idle_c: int
    product: str
    board_id: str
    device_id: str
    subsystem_device_id: str


CHIPS: dict[str, Chip] = {
    c.name: c
    for c in (
        Chip("910B1", "910b", 65536, 0, 3370, 0, 24, 1800, 90.0, 44,
             "IT21HMDC_Bin1", "0x60", "0xD802", "0x3000"),
        Chip("910B2", "910b", 65536, 0, 3400, 0, 24, 1800, 88.0, 35,
             "IT21HMDC_Bin2", "0x60", "0xD802", "0x3001"),
        Chip("910B3", "910b", 65536, 0, 3400, 0, 20, 1800, 89.0, 32,
             "IT21HMDC_Bin3", "0x60", "0xD802", "0x3002"),
        Chip("910B4", "910b", 32768, 0, 2950, 0, 20, 1650, 82.0, 34,
             "IT21HMDC_Bin4", "0x60", "0xD802", "0x3003"),
        Chip("910B4-1", "910b", 65536, 0, 3400, 0, 20, 1650, 84.0, 34,
             "IT21HMDC_Bin5", "0x60", "0xD802", "0x3003"),
        Chip("910A", "910b", 32768, 15137, 4, 2600, 32, 1000, 68.0, 35,
             "IT21HMDA", "0x02", "0xD801", "0x0100"),
        Chip("910ProB", "910b", 32768, 15665, 10, 2200, 30, 1000, 75.0, 38,
             "IT21HMDB", "0x02", "0xD801", "0x0100"),
        Chip("310P3", "310p", 0, 21525, 1839, 0, 8, 1080, None, 50,
             "Atlas 300I Pro", "0x64", "0xD500", "0x0100"),
    )
}  # fmt: skip


def bus_id(index: int) -> str:
    """PCIe bus id of the index-th card, as npu-smi prints it."""
    if index < len(BUS_IDS_8):
        return f"0000:{BUS_IDS_8[index]}:00.0"
    return f"0000:{(0x10 + index * 0x10) % 0x100:02X}:00.0"


def chip(name: str) -> Chip:
    """Look a chip up by its exact npu-smi name, with a readable error."""
    try:
        return CHIPS[name]
    except KeyError:
        known = ", ".join(CHIPS)
        raise ValueError(f"unknown chip {name!r}; known chips: {known}") from None
