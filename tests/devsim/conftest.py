"""Fixtures of the simulator's own tests (devsim_fleet/devsim come from devsim.pytest_plugin)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO.parent / "shared" / "samples" / "npu-smi"


def pytest_configure(config: pytest.Config) -> None:
    """Load the devsim plugin when the root conftest was left out (--confcutdir)."""
    if not config.pluginmanager.has_plugin("devsim.pytest_plugin"):
        config.pluginmanager.import_plugin("devsim.pytest_plugin")


@pytest.fixture(scope="session")
def samples() -> Path:
    """Folder of real npu-smi outputs (../shared/samples/npu-smi next to the repo)."""
    if not (SAMPLES / "info-007.txt").is_file():
        pytest.fail(f"real npu-smi samples not found at {SAMPLES}", pytrace=False)
    return SAMPLES


def sample(samples: Path, name: str) -> list[str]:
    """Lines of one sample file, exactly as published."""
    return (samples / name).read_text(encoding="utf-8").splitlines()
