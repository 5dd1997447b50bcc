"""pytest plugin: a real simulated fleet per test session (register with pytest_plugins)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from devsim.client import DevsimFleet
from devsim.fleet import Fleet


def _require_host() -> None:
    """Fail (never skip) with the fix when sshd or the Docker engine is missing."""
    problems = []
    if os.geteuid() != 0:
        problems.append("devsim must run as root (it starts one sshd per node)")
    if not Path("/usr/sbin/sshd").exists():
        problems.append("OpenSSH server missing: run scripts/ensure-sshd.sh")
    try:
        import docker

        docker.from_env(timeout=10).ping()
    except Exception as exc:
        problems.append(f"Docker engine unreachable ({exc}): run scripts/ensure-docker.sh")
    if problems:
        pytest.fail("devsim fleet unavailable:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def devsim_fleet() -> Iterator[DevsimFleet]:
    """The demo fleet in a fresh folder, up for the whole session (DEVSIM_KEEP=1 keeps it)."""
    # node-a 8x910B3, node-b 8x910B4, node-c 8x910B3 with card 5 Warning + a foreign process on 7.
    _require_host()
    from devsim.image import ensure_image

    ensure_image()
    root = Path(tempfile.mkdtemp(prefix="devsim-"))
    root.chmod(0o755)  # the optional password user must reach npu-smi and state files
    fleet = Fleet(root)
    try:
        fleet.demo()
    except Exception as exc:
        fleet.down(purge=True)
        pytest.fail(f"devsim fleet failed to start: {exc}", pytrace=False)
    handle = DevsimFleet(root)
    try:
        yield handle
    finally:
        if os.environ.get("DEVSIM_KEEP") != "1":
            fleet.down(purge=True)
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def devsim(devsim_fleet: DevsimFleet) -> Iterator[DevsimFleet]:
    """The session fleet with faults reset to the demo baseline before and after the test."""
    devsim_fleet.reset_faults()
    yield devsim_fleet
    devsim_fleet.reset_faults()
