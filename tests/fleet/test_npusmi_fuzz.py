"""Property tests: mutated samples give a parse result or a ParseError, never anything else."""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleet.npusmi import PARSERS, ParseError, parse

from .test_npusmi_samples import require_samples

DATA = Path(__file__).resolve().parent / "data" / "npusmi"

_KIND_BY_PREFIX = (
    ("info-list-", "list"),
    ("list-", "list"),
    ("info-", "info"),
    ("mapping-", "map"),
    ("board-", "board"),
    ("usages-", "usages"),
    ("common-", "common"),
    ("health-", "health"),
    ("topo-", "topo"),
)
_LINE_NUMBER = re.compile(r"line ([0-9]+): ")

# NPUSMI_FUZZ_EXAMPLES raises the example count for a longer local run.
FUZZ = settings(
    max_examples=int(os.environ.get("NPUSMI_FUZZ_EXAMPLES", "250")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _kind(name: str) -> str:
    return next(kind for prefix, kind in _KIND_BY_PREFIX if name.startswith(prefix))


@cache
def corpus() -> tuple[tuple[str, str, str], ...]:
    """(file name, kind, text) of every shared sample and hand-made variant."""
    files = sorted(require_samples().glob("*.txt")) + sorted(DATA.glob("*.txt"))
    return tuple((path.name, _kind(path.name), path.read_text(encoding="utf-8")) for path in files)


def check_outcome(kind: str, text: str | bytes) -> None:
    """Parse; success must give JSON-able data, failure a one-line ParseError with a line number."""
    try:
        result = PARSERS[kind](text)
    except ParseError as error:
        message = str(error)
        assert "\n" not in message and "\r" not in message
        match = _LINE_NUMBER.match(message)
        assert match, message
        newlines = text.count("\n") if isinstance(text, str) else text.count(b"\n")
        assert 1 <= int(match.group(1)) == error.lineno <= newlines + 1
        return
    json.dumps(result.to_dict())


garbage = st.text(min_size=0, max_size=12)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    """A sample with one to four random edits, and the parser it belongs to."""
    _name, kind, text = draw(st.sampled_from(corpus()))
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 4))):
        edit = draw(
            st.sampled_from(
                ["delete", "duplicate", "swap", "cell", "token", "truncate", "insert", "char"]
            )
        )
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        if edit == "delete":
            del lines[i]
        elif edit == "duplicate":
            lines.insert(i, lines[i])
        elif edit == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif edit == "cell":
            cells = lines[i].split("|")
            k = draw(st.integers(0, len(cells) - 1))
            cells[k] = draw(garbage)
            lines[i] = "|".join(cells)
        elif edit == "token":
            tokens = re.split(r"(\s+)", lines[i])
            k = draw(st.integers(0, len(tokens) - 1))
            tokens[k] = draw(
                st.sampled_from(["-", "NA", "", "/", "x", "1e9", "٣", "0.5"]) | garbage
            )
            lines[i] = "".join(tokens)
        elif edit == "truncate":
            joined = "\n".join(lines)
            lines = joined[: draw(st.integers(0, len(joined)))].split("\n")
        elif edit == "insert":
            k = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:k] + draw(garbage) + lines[i][k:]
        else:
            if lines[i]:
                k = draw(st.integers(0, len(lines[i]) - 1))
                lines[i] = lines[i][:k] + draw(st.characters()) + lines[i][k + 1 :]
    return kind, "\n".join(lines)


@FUZZ
@given(mutated())
def test_mutated_samples_parse_or_raise_parse_error(case: tuple[str, str]) -> None:
    kind, text = case
    check_outcome(kind, text)


@FUZZ
@given(mutated(), st.sampled_from(sorted(PARSERS)))
def test_any_parser_on_any_mutated_sample_parses_or_raises_parse_error(
    case: tuple[str, str], kind: str
) -> None:
    check_outcome(kind, case[1])


@FUZZ
@given(st.data())
def test_lines_recombined_from_all_samples_parse_or_raise_parse_error(data: st.DataObject) -> None:
    pool = [line for _name, _kind, text in corpus() for line in text.split("\n")]
    lines = data.draw(st.lists(st.sampled_from(pool), min_size=0, max_size=30))
    kind = data.draw(st.sampled_from(sorted(PARSERS)))
    check_outcome(kind, "\n".join(lines))


@FUZZ
@given(st.text(max_size=300), st.sampled_from(sorted(PARSERS)))
def test_random_unicode_parses_or_raises_parse_error(text: str, kind: str) -> None:
    check_outcome(kind, text)


@FUZZ
@given(st.binary(max_size=200), st.sampled_from(sorted(PARSERS)))
def test_random_bytes_parse_or_raise_parse_error(blob: bytes, kind: str) -> None:
    check_outcome(kind, blob)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_unmutated_samples_always_parse(data: st.DataObject) -> None:
    _name, kind, text = data.draw(st.sampled_from(corpus()))
    assert parse(kind, text).to_dict()


def test_deleting_any_single_line_never_changes_the_chips_silently() -> None:
    for name, kind, text in corpus():
        if kind != "info":
            continue
        original = PARSERS[kind](text)
        lines = text.split("\n")
        for index in range(len(lines)):
            shortened = "\n".join(lines[:index] + lines[index + 1 :])
            try:
                result = PARSERS[kind](shortened)
            except ParseError:
                continue
            assert result.devices == original.devices, f"{name}: deleting line {index + 1}"
