"""`manage.py npusmi parse`: JSON on stdout, or one line on stderr and exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .test_npusmi_samples import expected, require_samples

REPO_ROOT = Path(__file__).resolve().parents[2]
MANAGE = REPO_ROOT / "manage.py"
VENV_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
PYTHON = str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable

pytestmark = pytest.mark.skipif(not MANAGE.exists(), reason="manage.py does not exist yet")


def run_command(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run `manage.py npusmi ...` in a child process."""
    return subprocess.run(
        [PYTHON, str(MANAGE), "npusmi", *args],
        cwd=REPO_ROOT,
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_info_prints_the_expected_json() -> None:
    sample = require_samples() / "info-008.txt"
    done = run_command("parse", "--kind", "info", str(sample))
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == expected()["info-008.txt"]


def test_dash_reads_stdin() -> None:
    text = (require_samples() / "info-023.txt").read_bytes()
    done = run_command("parse", "--kind", "info", "-", stdin=text)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == expected()["info-023.txt"]


@pytest.mark.parametrize(
    ("kind", "name", "key"),
    [
        ("list", "info-list-001.txt", "total_count"),
        ("map", "mapping-002.txt", "chips"),
        ("board", "board-003.txt", "serial_number"),
        ("usages", "usages-002.txt", "chips"),
        ("common", "common-003.txt", "chips"),
        ("health", "health-001.txt", "status"),
        ("topo", "topo-001.txt", "links"),
    ],
)
def test_every_kind_prints_json(kind: str, name: str, key: str) -> None:
    done = run_command("parse", "--kind", kind, str(require_samples() / name))
    assert done.returncode == 0, done.stderr.decode()
    assert key in json.loads(done.stdout)


def _assert_one_line_failure(done: subprocess.CompletedProcess[bytes], fragment: str) -> None:
    stderr = done.stderr.decode()
    assert done.returncode == 2
    assert done.stdout == b""
    assert stderr.endswith("\n") and stderr.count("\n") == 1, stderr
    assert "Traceback" not in stderr
    assert fragment in stderr


def test_unparseable_input_exits_2_with_one_line() -> None:
    text = (require_samples() / "info-007.txt").read_bytes().replace(b"97.9 ", b"9?.9 ")
    done = run_command("parse", "--kind", "info", "-", stdin=text)
    _assert_one_line_failure(done, "line 7: Power(W) is not a number")


def test_empty_input_exits_2_with_one_line() -> None:
    _assert_one_line_failure(run_command("parse", "--kind", "topo", "-", stdin=b""), "line 1")


def test_unreadable_file_exits_2_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    _assert_one_line_failure(
        run_command("parse", "--kind", "info", str(missing)), f"cannot read {missing}"
    )


def test_non_utf8_file_exits_2_with_one_line(tmp_path: Path) -> None:
    blob = tmp_path / "latin1.txt"
    blob.write_bytes(b"\xff\xfe npu-smi\n")
    _assert_one_line_failure(run_command("parse", "--kind", "info", str(blob)), "not UTF-8")
