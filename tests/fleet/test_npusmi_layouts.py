"""Hand-made variants of the npu-smi layouts: the parsers read the format, not the samples."""

from __future__ import annotations

from pathlib import Path

from fleet.npusmi import (
    parse_health,
    parse_info,
    parse_list,
    parse_mapping,
    parse_topo,
    parse_usages,
)

from .test_npusmi_samples import sample_text

DATA = Path(__file__).resolve().parent / "data" / "npusmi"


def data_text(name: str) -> str:
    """Text of one hand-made variant."""
    return (DATA / name).read_text(encoding="utf-8")


def test_950_layout_with_process_table_and_misaligned_process_row() -> None:
    info = parse_info(data_text("info-950-processes.txt"))
    assert info.layout.has_npu_util and not info.layout.has_container_pid
    assert [(c.npu_id, c.chip_id, c.health) for c in info.devices] == [
        (0, None, "Alarm"),
        (3, None, "OK"),
    ]
    assert info.devices[0].npu_util_pct == 12
    assert info.devices[0].aicore_pct is None
    assert info.devices[1].hbm_total_mb == 114688
    assert [p.to_dict(info.layout) for p in info.processes] == [
        {"npu_id": 0, "chip_id": None, "pid": 4242, "name": "python3", "memory_mb": 512},
        {"npu_id": 0, "chip_id": None, "pid": 4243, "name": "python3", "memory_mb": 514},
    ]


def test_table_without_borders_and_with_unaligned_cells() -> None:
    info = parse_info(data_text("info-borderless.txt"))
    assert info.version == "26.1.rc1"
    assert [c.npu_id for c in info.devices] == [0, 5]
    assert info.devices[1].power_w == 120.5
    assert info.devices[0].bus_id == "NA"
    assert info.devices[0].hbm_used_mb == 1024
    assert [(p.pid, p.container_pid) for p in info.processes] == [(7001, None), (7002, 88)]
    assert all("container_pid" in p for p in info.to_dict()["processes"])


def test_dual_die_card_in_the_wide_layout() -> None:
    info = parse_info(data_text("info-a3-wide.txt"))
    first, second = info.devices
    assert (first.npu_id, first.chip_id, first.phy_id, first.health) == (4, 0, 8, "Critical")
    assert (second.chip_id, second.phy_id, second.power_w, second.aicore_pct) == (1, 9, None, None)
    assert second.hbm_used_mb == 60990
    assert [p.to_dict(info.layout) for p in info.processes] == [
        {
            "npu_id": 4,
            "chip_id": 0,
            "pid": 2001,
            "name": "VLLM Worker",
            "memory_mb": 58000,
            "container_pid": None,
        },
        {
            "npu_id": 4,
            "chip_id": 1,
            "pid": 2002,
            "name": "",
            "memory_mb": 57990,
            "container_pid": 314,
        },
    ]


def test_elided_rows_are_skipped_and_visible_rows_kept() -> None:
    info = parse_info(data_text("info-elided.txt"))
    assert [c.npu_id for c in info.devices] == [0, 7]
    assert info.devices[1].aicore_pct == 3
    assert info.processes == ()


def test_table_without_version_line_has_null_versions() -> None:
    info = parse_info(data_text("info-no-version.txt"))
    assert (info.version, info.npu_smi_version) == (None, None)
    assert info.devices[0].health == "Warning"


def test_crlf_indent_and_trailing_spaces_do_not_change_the_result() -> None:
    text = sample_text("info-008.txt")
    reshaped = "\r\n".join("    " + line + "   " for line in text.splitlines())
    assert parse_info(reshaped) == parse_info(text)


def test_bytes_input_is_read_as_utf8() -> None:
    text = sample_text("info-007.txt")
    assert parse_info(text.encode()) == parse_info(text)


def test_mapping_with_phy_id_column_and_two_dies() -> None:
    mapping = parse_mapping(data_text("mapping-a3.txt"))
    assert [(c.npu_id, c.chip_id, c.chip_logic_id, c.chip_phy_id) for c in mapping.chips] == [
        (0, 0, 0, 0),
        (0, 1, 1, 1),
        (0, 2, None, None),
        (1, 0, 2, 2),
        (1, 1, 3, 3),
        (1, 2, None, None),
    ]
    assert mapping.chips[2].chip_name == "Mcu"


def test_mapping_with_single_spaces_between_columns() -> None:
    text = "NPU ID Chip ID Chip Logic ID Chip Phy-ID Chip Name\n0 0 0 0 Ascend910\n0 1 - - Mcu\n"
    mapping = parse_mapping(text)
    assert [c.chip_logic_id for c in mapping.chips] == [0, None]


def test_topology_with_phy_id_names_and_no_affinity_column() -> None:
    topo = parse_topo(data_text("topo-a3.txt"))
    assert topo.devices == ("Phy-ID12", "Phy-ID13")
    assert topo.link("Phy-ID12", "Phy-ID13") == "SIO"
    assert topo.extra_columns == ()
    assert topo.cpu_affinity == {}
    assert dict(topo.legend)["HCCS_SW"] == "Connection traversing HCCS through a switch"


def test_list_with_product_names_and_tab_indent() -> None:
    listing = parse_list(data_text("list-products.txt"))
    assert [(n.npu_id, n.chip_count, n.serial_number) for n in listing.npus] == [
        (0, 2, "SN-0001"),
        (3, 2, "SN-0003"),
    ]
    assert listing.npus[1].product_name == "Atlas 300I Duo"


def test_usages_of_a_two_chip_card() -> None:
    usages = parse_usages(data_text("usages-duo.txt"))
    assert (usages.npu_id, usages.chip_count) == (1792, 2)
    assert [c.chip_id for c in usages.chips] == [0, 1]
    assert usages.chip(1).get("aicore_usage_rate_pct") == 15
    assert usages.chip(1).get("aicpu_usage_rate_pct") is None
    assert usages.chip(0).get("memory_capacity_mb") == 44280
    assert usages.chip(2) is None


def test_health_with_error_codes() -> None:
    health = parse_health(data_text("health-alarm.txt"))
    assert health.status == "Alarm"
    assert not health.ok
    assert health.error_codes == ("80E18005", "80CB8009")
    assert health.error_information is not None
    assert health.error_information.startswith("node type=HBM")
