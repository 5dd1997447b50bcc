"""The installed package and the production image hold the dashboard only: every app's code,
templates, static files and the catalog's seed JSON, never the simulator, the tests or bench."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("config", "fleet", "jobs", "frontend")
NOT_SHIPPED = ("devsim", "tests", "bench")
# What a checkout may hold besides its sources (builds, caches, local state).
SKIP = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", ".devsim", ".demo", "build", "dist", "*.egg-info",
    "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", "staticfiles",
    "test-results", "db.sqlite3*", ".test-db.sqlite3*", ".env",
)  # fmt: skip


def sources(app: str) -> set[str]:
    """The files of an app that the installed package needs (code, templates, static, data)."""
    found = set()
    for path in (ROOT / app).rglob("*"):
        rel = path.relative_to(ROOT)
        if not path.is_file() or {"__pycache__", "node_modules"} & set(rel.parts):
            continue
        if path.name.startswith("."):  # build stamps, editor files
            continue
        data = {"templates", "static"} & set(rel.parts) or rel.parent.name == "data"
        if path.suffix == ".py" or data:
            found.add(rel.as_posix())
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> set[str]:
    """The names in the wheel built from a copy of the checkout, as `pip install .` builds it."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=SKIP, symlinks=True)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "out"), "."],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    (whl,) = (tmp / "out").glob("npu_fleet-*.whl")
    with zipfile.ZipFile(whl) as archive:
        return set(archive.namelist())


def test_the_wheel_holds_no_simulator_tests_or_bench(wheel):
    tops = {name.split("/", 1)[0] for name in wheel}
    assert not tops & set(NOT_SHIPPED)
    assert {"config", "fleet", "jobs", "frontend"} <= tops


def test_the_wheel_holds_every_apps_code_templates_static_and_catalog_data(wheel):
    for app in APPS:
        missing = sorted(sources(app) - wheel)
        assert missing == [], f"{app}: not in the wheel: {missing[:20]}"
    assert "frontend/templates/base.html" in wheel
    assert "jobs/catalog/data/card_table.json" in wheel
    for folder in (
        "fleet/templates/fleet/",
        "fleet/booking/templates/booking/",
        "jobs/templates/jobs/",
        "jobs/templates/images/",
        "jobs/catalog/templates/recipes/",
        "frontend/templates/registration/",
        "frontend/static/app/",
    ):
        assert any(name.startswith(folder) for name in wheel), folder


def test_the_production_image_copies_no_simulator_tests_or_bench():
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    copies = [line.split() for line in dockerfile.splitlines() if line.startswith("COPY ")]
    sources_copied = {part.rstrip("/") for words in copies for part in words[1:-1]}
    assert "." not in sources_copied  # a blanket COPY would bring the checkout along
    assert not sources_copied & set(NOT_SHIPPED)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert set(NOT_SHIPPED) <= set(ignored)
