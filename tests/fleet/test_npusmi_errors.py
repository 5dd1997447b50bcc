"""Unreadable npu-smi output raises ParseError naming the line, never another exception."""

from __future__ import annotations

import pytest

from fleet.npusmi import PARSERS, ParseError, parse, parse_info, parse_list, parse_topo

from .test_npusmi_samples import sample_text

HEADER_ONLY = """\
+------------------------------------------------------------------------------------------------+
| npu-smi 25.2.0                   Version: 25.2.0                                               |
+---------------------------+---------------+----------------------------------------------------+
| NPU   Name                | Health        | Power(W)    Temp(C)           Hugepages-Usage(page)|
| Chip                      | Bus-Id        | AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)        |
+===========================+===============+====================================================+
"""


def _replace_line(text: str, lineno: int, new: str) -> str:
    lines = text.split("\n")
    lines[lineno - 1] = new
    return "\n".join(lines)


@pytest.mark.parametrize("kind", sorted(PARSERS))
@pytest.mark.parametrize("text", ["", "\n\n", "   \t  \n", "garbage\n", "🙂 ∅ \u2028 \x00"])
def test_empty_blank_or_garbage_input_is_a_parse_error(kind: str, text: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(kind, text)
    assert str(caught.value).startswith("line ")
    assert "\n" not in str(caught.value)


def test_parse_error_is_a_value_error_with_line_details() -> None:
    with pytest.raises(ValueError, match=r"^line 1: ") as caught:
        parse_info("nonsense")
    error = caught.value
    assert isinstance(error, ParseError)
    assert (error.lineno, error.line) == (1, "nonsense")


def test_header_only_table_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="lists no NPU"):
        parse_info(HEADER_ONLY)


def test_non_number_cell_names_the_line_and_the_line_text() -> None:
    text = sample_text("info-007.txt").replace("97.9 ", "9x.9 ", 1)
    with pytest.raises(ParseError) as caught:
        parse_info(text)
    assert caught.value.lineno == 7
    assert "9x.9" in str(caught.value)
    assert str(caught.value).startswith("line 7: Power(W) is not a number")


def test_first_row_without_second_row_is_a_parse_error() -> None:
    lines = sample_text("info-046.txt").split("\n")
    del lines[7]  # the 'Chip / Bus-Id' row of NPU 1
    with pytest.raises(ParseError, match=r"^line 8: border between the two rows"):
        parse_info("\n".join(lines))


def test_output_cut_after_a_first_row_is_a_parse_error() -> None:
    text = "\n".join(sample_text("info-046.txt").split("\n")[:7])
    with pytest.raises(ParseError, match=r"^line 7: chip row without its second row"):
        parse_info(text)


def test_missing_slash_in_a_usage_pair_is_a_parse_error() -> None:
    text = sample_text("info-007.txt").replace("3408 / 65536", "3408   65536", 1)
    with pytest.raises(ParseError, match=r"^line 8: .*HBM-Usage\(MB\)"):
        parse_info(text)


def test_extra_cell_is_a_parse_error() -> None:
    line = "| 0     910B3               | OK            | 97.9 | 34         0    / 0             |"
    text = _replace_line(sample_text("info-007.txt"), 7, line)
    with pytest.raises(ParseError, match=r"^line 7: expected 3 cells, found 4"):
        parse_info(text)


def test_unknown_header_word_is_a_parse_error() -> None:
    text = sample_text("info-007.txt").replace("Health  ", "Mood    ", 1)
    with pytest.raises(ParseError, match=r"^line 4: not an npu-smi info table header"):
        parse_info(text)


def test_huge_number_is_a_parse_error_not_an_overflow() -> None:
    text = sample_text("info-007.txt").replace("34  ", "9" * 5000 + "  ", 1)
    with pytest.raises(ParseError, match=r"^line 7: "):
        parse_info(text)


def test_process_row_before_any_process_header_is_a_parse_error() -> None:
    text = sample_text("info-031.txt") + (
        "| 0      | 1234          | python                   | 100                      |\n"
    )
    with pytest.raises(ParseError, match="process row without a process header"):
        parse_info(text)


def test_list_count_must_match_total_count() -> None:
    text = sample_text("info-list-001.txt").replace(
        "Total Count                    : 8", "Total Count : 9"
    )
    with pytest.raises(ParseError, match="'Total Count' says 9 but 8 NPUs listed"):
        parse_list(text)


def test_topology_missing_a_row_is_a_parse_error() -> None:
    lines = sample_text("topo-001.txt").split("\n")
    del lines[3]
    with pytest.raises(ParseError, match="no row for NPU2"):
        parse_topo("\n".join(lines))


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown npu-smi output kind"):
        parse("nvidia", "x")
