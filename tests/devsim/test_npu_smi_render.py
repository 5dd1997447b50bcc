"""The simulated npu-smi renders the real tool's layouts (checked against published outputs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devsim import npu_smi
from devsim.chips import chip
from devsim.state import build_state, set_foreign, set_health
from tests.devsim.conftest import sample
from tests.devsim.layout import device_rows, kv_shape, processes, token_starts


def state_of(chip_name: str, cards: int = 8, driver: str = "23.0.6") -> dict[str, Any]:
    """A node state as `devsim up` writes it."""
    return build_state("node-x", chip(chip_name), cards, driver, "7.1.0.11.220", Path("/nowhere"))


def render(state: dict[str, Any], *argv: str, containers: dict | None = None) -> list[str]:
    """Output lines of one npu-smi command."""
    return npu_smi.run(list(argv), npu_smi.Node(state, containers or {}))


def busy(card: int, pid: int, name: str, hbm: int) -> dict[str, Any]:
    """A containers.json document with one process on one card of node-x."""
    return {"nodes": {"node-x": {str(card): [{"pid": pid, "name": name, "hbm_mb": hbm}]}}}


def assert_same_shape(ours: list[str], real: list[str]) -> None:
    """Every line lines up with the real line of the same kind, cell for cell."""
    assert len(ours) == len(real), "\n".join(ours)
    for mine, theirs in zip(ours, real, strict=True):
        if theirs.startswith("+") or "Process name" in theirs or "Hugepages" in theirs:
            assert mine == theirs
        else:
            assert len(mine) == len(theirs), (mine, theirs)
            assert token_starts(mine)[:3] == token_starts(theirs)[:3], (mine, theirs)
            assert [i for i, c in enumerate(mine) if c == "|"] == [
                i for i, c in enumerate(theirs) if c == "|"
            ], (mine, theirs)


def test_910b_table_matches_info_007_line_for_line(samples: Path) -> None:
    real = sample(samples, "info-007.txt")
    state = state_of("910B3", driver="25.2.0")
    ours = render(state, "info", containers=busy(2, 1333928, "", 37709))
    assert ours[:6] == real[:6]  # borders, version header and column headers are identical
    assert_same_shape(ours, real)
    for mine, theirs in zip(ours, real, strict=True):
        if theirs.startswith("| ") and theirs[2].isdigit():
            assert token_starts(mine) == token_starts(theirs), (mine, theirs)
    assert processes("\n".join(ours)) == [(2, 1333928, "", 37709)]


def test_process_rows_line_up_with_info_048(samples: Path) -> None:
    real = sample(samples, "info-048.txt")
    row = next(line for line in real if "mindie_llm_back" in line)
    ours = render(state_of("910B2"), "info", containers=busy(0, 412122, "mindie_llm_back", 59539))
    assert row in ours


def test_hbm_used_and_total_per_chip() -> None:
    for name, total in (("910B1", 65536), ("910B3", 65536), ("910B4", 32768), ("910A", 32768)):
        rows = device_rows("\n".join(render(state_of(name), "info")))
        assert {r[3] for r in rows.values()} == {total}
        assert all(0 < r[2] < total // 5 for r in rows.values())


def test_process_memory_adds_to_card_hbm() -> None:
    state = state_of("910B3")
    idle = device_rows("\n".join(render(state, "info")))[3][2]
    used = device_rows("\n".join(render(state, "info", containers=busy(3, 77, "python", 20000))))
    assert used[3][2] == idle + 20000


def test_910a_with_warning_matches_info_046_shape(samples: Path) -> None:
    real = sample(samples, "info-046.txt")
    state = state_of("910A", cards=2, driver="23.0.rc3")
    set_health(state, 1, "Warning")
    state["cards"] = state["cards"][1:]  # the sample shows NPU 1 only
    ours = render(state, "info")
    assert ours[:6] == real[:6]
    assert_same_shape(ours, real)
    assert device_rows("\n".join(ours))[1][:2] == ("910A", "Warning")


def test_310p3_uses_the_chip_device_layout_of_info_004(samples: Path) -> None:
    real = sample(samples, "info-004.txt")
    state = state_of("310P3", cards=7, driver="25.3.rc1")
    state["cards"] = state["cards"][6:]
    ours = render(state, "info")
    assert ours[:6] == real[:6]
    assert_same_shape(ours, real)
    assert ours[6].split("|")[3].split()[0] == "NA"  # 310P reports no power


def test_foreign_process_is_listed_on_its_card() -> None:
    state = state_of("910B3")
    proc = set_foreign(state, 7, pid=4242, name="python3", hbm_mb=9000)
    assert proc is not None
    assert processes("\n".join(render(state, "info"))) == [(7, 4242, "python3", 9000)]


@pytest.mark.parametrize(
    ("argv", "real_file"),
    [
        (("info", "-l"), "info-list-001.txt"),
        (("info", "-t", "topo"), "topo-001.txt"),
    ],
)
def test_outputs_identical_to_real_ones(samples: Path, argv: tuple[str, ...], real_file: str):
    assert render(state_of("910B3"), *argv) == sample(samples, real_file)


def test_mapping_identical_to_real_910b4(samples: Path) -> None:
    assert render(state_of("910B4"), "info", "-m") == sample(samples, "mapping-002.txt")


@pytest.mark.parametrize(
    ("argv", "real_file"),
    [
        (("info", "-t", "board", "-i", "0"), "board-003.txt"),
        (("info", "-t", "usages", "-i", "0"), "usages-002.txt"),
        (("info", "-t", "common", "-i", "1"), "common-003.txt"),
        (("info", "-t", "health", "-i", "0", "-c", "0"), "health-001.txt"),
    ],
)
def test_key_value_outputs_have_the_real_keys_and_alignment(
    samples: Path, argv: tuple[str, ...], real_file: str
) -> None:
    ours = render(state_of("910B3"), *argv)
    assert kv_shape(ours) == kv_shape(sample(samples, real_file))
    assert all(line.startswith(" " * 8) for line in ours if line)


def test_health_words_and_error_codes() -> None:
    state = state_of("910B3")
    for word in ("Warning", "Alarm", "Critical", "OK"):
        set_health(state, 4, word)
        out = render(state, "info", "-t", "health", "-i", "4")
        assert out[0].split(": ")[1] == word
        assert (out[1].split(": ")[1] == "NA") == (word == "OK")


@pytest.mark.parametrize(
    "argv",
    [
        ["-v"],
        ["info", "-x"],
        ["info", "-t", "board"],
        ["info", "-t", "board", "-i", "8"],
        ["info", "-t", "nonsense", "-i", "0"],
        ["info", "-t", "board", "-i", "zero"],
        ["set", "-t", "reset"],
    ],
)
def test_bad_arguments_are_refused(argv: list[str]) -> None:
    with pytest.raises(npu_smi.CliError):
        render(state_of("910B3"), *argv)
