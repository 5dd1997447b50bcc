"""The shared real npu-smi samples, parsed and compared with expected.json field by field."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from fleet.npusmi import (
    parse_board,
    parse_common,
    parse_health,
    parse_info,
    parse_list,
    parse_mapping,
    parse_topo,
    parse_usages,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = (REPO_ROOT / "../shared/samples/npu-smi").resolve()
MISSING = "<shared samples folder missing>"


def require_samples() -> Path:
    """The samples folder; fails the calling test with a clear message when it is absent."""
    if not (SAMPLES / "expected.json").is_file():
        pytest.fail(
            f"npu-smi samples not found: expected {SAMPLES}/expected.json "
            "(the 'shared' folder must sit next to the repository root)",
            pytrace=False,
        )
    return SAMPLES


def sample_text(name: str) -> str:
    """Text of one shared sample file."""
    return (require_samples() / name).read_text(encoding="utf-8")


@cache
def expected() -> dict[str, Any]:
    """expected.json without its `_conventions` key."""
    data = json.loads((require_samples() / "expected.json").read_text(encoding="utf-8"))
    return {name: value for name, value in data.items() if not name.startswith("_")}


def _info_names() -> list[str]:
    if not (SAMPLES / "expected.json").is_file():
        return [MISSING]
    return sorted(expected())


def test_samples_folder_is_present_and_covers_every_info_file() -> None:
    folder = require_samples()
    on_disk = {path.name for path in folder.glob("info-*.txt") if path.name != "info-list-001.txt"}
    assert on_disk == set(expected()), "every info-*.txt sample needs an expected.json entry"


@pytest.mark.parametrize("name", _info_names())
def test_info_sample_matches_expected_field_by_field(name: str) -> None:
    if name == MISSING:
        require_samples()
    want = expected()[name]
    got = parse_info(sample_text(name)).to_dict()

    assert list(got) == list(want), f"{name}: top-level keys"
    assert got["version"] == want["version"], f"{name}: version"
    assert got["npu_smi_version"] == want["npu_smi_version"], f"{name}: npu_smi_version"
    assert len(got["devices"]) == len(want["devices"]), f"{name}: number of chips"
    for index, (chip, want_chip) in enumerate(zip(got["devices"], want["devices"], strict=True)):
        assert set(chip) == set(want_chip), f"{name}: keys of device {index}"
        for key, value in want_chip.items():
            assert chip[key] == value, f"{name}: devices[{index}].{key}"
            assert type(chip[key]) is type(value), f"{name}: type of devices[{index}].{key}"
    assert len(got["processes"]) == len(want["processes"]), f"{name}: number of processes"
    for index, (proc, want_proc) in enumerate(
        zip(got["processes"], want["processes"], strict=True)
    ):
        assert set(proc) == set(want_proc), f"{name}: keys of process {index}"
        for key, value in want_proc.items():
            assert proc[key] == value, f"{name}: processes[{index}].{key}"


@pytest.mark.parametrize("name", _info_names())
def test_info_sample_to_dict_is_json_and_equal_to_expected(name: str) -> None:
    if name == MISSING:
        require_samples()
    got = parse_info(sample_text(name)).to_dict()
    assert json.loads(json.dumps(got)) == expected()[name]


def test_info_typed_api_of_the_dual_die_sample() -> None:
    info = parse_info(sample_text("info-008.txt"))
    assert info.npu_ids == tuple(range(8))
    assert len(info.devices) == 16
    second_die = info.devices[1]
    assert (second_die.npu_id, second_die.chip_id, second_die.phy_id) == (0, 1, 1)
    assert second_die.power_w is None
    assert info.layout.device_columns[:2] == ("npu_id", "name")
    assert not info.layout.has_device_id
    assert [p.pid for p in info.processes if p.npu_id == 7] == [3085962, 3085964]


def test_list_sample() -> None:
    listing = parse_list(sample_text("info-list-001.txt"))
    assert listing.total_count == 8
    assert [npu.npu_id for npu in listing.npus] == list(range(8))
    assert all(npu.chip_count == 1 for npu in listing.npus)
    assert listing.npus[0].fields == (("NPU ID", "0"), ("Chip Count", "1"))
    assert listing.to_dict()["npus"][7] == {
        "npu_id": 7,
        "chip_count": 1,
        "product_name": None,
        "serial_number": None,
        "fields": {"NPU ID": "7", "Chip Count": "1"},
    }


def test_mapping_sample() -> None:
    mapping = parse_mapping(sample_text("mapping-002.txt"))
    assert len(mapping.chips) == 16
    first, mcu = mapping.chips[0], mapping.chips[1]
    assert (first.npu_id, first.chip_id, first.chip_logic_id) == (0, 0, 0)
    assert first.chip_name == "Ascend 910B4"
    assert (mcu.npu_id, mcu.chip_id, mcu.chip_logic_id, mcu.chip_name) == (0, 1, None, "Mcu")
    assert [chip.chip_logic_id for chip in mapping.compute_chips] == list(range(8))
    assert all(chip.chip_phy_id is None for chip in mapping.chips)


def test_board_sample_001() -> None:
    board = parse_board(sample_text("board-001.txt"))
    assert board.npu_id == 0
    assert board.software_version == "23.0.5"
    assert board.firmware_version == "7.1.0.7.220"
    assert board.pci_device_id == "0xD801"
    assert board.pcie_bus_info == "0000:61:00.0"
    assert board.class_id == "NA"
    assert board.slot_id == 0
    assert board.chip_count == 1
    assert board.serial_number is None
    assert len(board.fields) == 15


def test_board_sample_003() -> None:
    board = parse_board(sample_text("board-003.txt"))
    assert board.npu_id == 0
    assert board.product_name == "IT21HMDC_Bin5"
    assert board.model == "NA"
    assert board.manufacturer == "Huawei"
    assert board.serial_number == "1025C9048791"
    assert board.software_version == "25.5.1"
    assert board.firmware_version == "7.8.0.6.201"
    assert board.pci_vendor_id == "0x19E5"
    assert board.pci_device_id == "0xD802"
    assert board.subsystem_device_id == "0x3003"
    assert board.to_dict()["fields"]["Board ID"] == "0x60"


def test_usages_sample() -> None:
    usages = parse_usages(sample_text("usages-002.txt"))
    assert (usages.npu_id, usages.chip_count) == (0, 1)
    (chip,) = usages.chips
    assert chip.chip_id == 0
    assert chip.get("hbm_capacity_mb") == 65536
    assert chip.get("hbm_usage_rate_pct") == 5
    assert chip.get("ctrlcpu_usage_rate_pct") == 6
    assert chip.get("npu_utilization_pct") == 0
    assert chip.get("aicube_usage_rate_pct") == 0
    assert chip.get("ddr_hugepages_total_page") == 0
    assert usages.chip(0) is chip
    assert len(chip.readings) == 14


def test_common_sample_with_mcu_block() -> None:
    common = parse_common(sample_text("common-003.txt"))
    assert (common.npu_id, common.chip_count) == (1, 1)
    chip, mcu = common.chips
    assert chip.chip_id == 0
    assert chip.get("hbm_usage_rate_pct") == 4
    assert chip.get("aicore_freq_mhz") == 1800
    assert chip.get("aicore_curfreq_mhz") == 800
    assert chip.get("aicore_count") == 24
    assert chip.get("temperature_c") == 46
    assert chip.get("npu_real_time_power_w") == 93.4
    assert (mcu.chip_id, mcu.chip_name) == (None, "mcu")
    assert mcu.readings == (("temperature_c", 38),)


def test_health_sample() -> None:
    health = parse_health(sample_text("health-001.txt"))
    assert health.status == "OK"
    assert health.ok
    assert health.error_codes == ()
    assert health.error_information is None
    assert health.to_dict()["fields"] == {
        "Health Status": "OK",
        "Error Code": "NA",
        "Error Information": "NA",
    }


def test_topo_sample() -> None:
    topo = parse_topo(sample_text("topo-001.txt"))
    assert topo.devices == tuple(f"NPU{i}" for i in range(8))
    assert topo.extra_columns == ("CPU Affinity",)
    for i, a in enumerate(topo.devices):
        for j, b in enumerate(topo.devices):
            assert topo.link(a, b) == ("X" if i == j else "HCCS")
    assert topo.cpu_affinity["NPU0"] == "144-167"
    assert topo.cpu_affinity["NPU4"] == "0-23"
    assert topo.cpu_affinity["NPU7"] == "48-71"
    legend = dict(topo.legend)
    assert list(legend) == ["X", "SYS", "PHB", "PIX", "PXB", "HCCS", "NA"]
    assert legend["NA"] == "Unknown relationship."
    assert topo.to_dict()["cpu_affinity"]["NPU2"] == "96-119"
