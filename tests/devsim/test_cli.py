"""`python -m devsim`: up is idempotent and fast, status/ssh/fault work, down stops everything."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from devsim import sshd, watcher
from devsim.client import DevsimNode, connect, run
from devsim.fleet import Fleet
from devsim.image import IMAGE, ensure_image

pytestmark = pytest.mark.devsim
REPO = Path(__file__).resolve().parents[2]


def devsim_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI the way a person would, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "devsim", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@pytest.fixture
def fleet_dir() -> Iterator[Path]:
    """A fresh fleet folder (world-readable, like a checkout), always brought down after."""
    root = Path(tempfile.mkdtemp(prefix="devsim-cli-"))
    root.chmod(0o755)
    yield root
    Fleet(root).down(purge=True)
    shutil.rmtree(root, ignore_errors=True)


def sshd_pids(root: Path) -> dict[str, int | None]:
    """Running sshd listener per node."""
    fleet = Fleet(root)
    return {n: sshd.read_pid(fleet.paths.node(n)) for n in fleet.names()}


def test_up_is_idempotent_and_down_stops_everything(fleet_dir: Path) -> None:
    start = time.monotonic()
    first = devsim_cli("--dir", str(fleet_dir), "up", "--nodes", "3", "--chip", "910B1")
    assert first.returncode == 0, first.stderr
    assert time.monotonic() - start < 10
    pids, ports = sshd_pids(fleet_dir), {r.name: r.port for r in Fleet(fleet_dir).status()}
    assert list(pids) == ["node-1", "node-2", "node-3"] and all(pids.values())

    again = devsim_cli("--dir", str(fleet_dir), "up", "--nodes", "3")
    assert again.returncode == 0, again.stderr
    assert sshd_pids(fleet_dir) == pids  # running nodes are reused, not restarted
    assert {r.name: r.port for r in Fleet(fleet_dir).status()} == ports

    status = devsim_cli("--dir", str(fleet_dir), "status").stdout.splitlines()
    assert status[0].split() == ["NAME", "PORT", "STATE", "CHIP", "CARDS", "FAULTS"]
    assert status[1].split()[:5] == ["node-1", str(ports["node-1"]), "up", "910B1", "8"]
    paths = Fleet(fleet_dir).paths
    assert watcher.running_pid(paths)

    down = devsim_cli("--dir", str(fleet_dir), "down")
    assert down.returncode == 0, down.stderr
    assert set(sshd_pids(fleet_dir).values()) == {None}
    assert not any(sshd.listening(p) for p in ports.values() if p)
    assert watcher.running_pid(paths) is None
    assert "stopped" in devsim_cli("--dir", str(fleet_dir), "status").stdout


def test_ssh_prints_a_working_command_line(fleet_dir: Path) -> None:
    env = {"DEVSIM_DIR": str(fleet_dir)}
    up = devsim_cli("up", "--node", "box", "--chip", "910B4", "--cards", "4", env=env)
    assert up.returncode == 0, up.stderr
    line = devsim_cli("ssh", "box", env=env).stdout.strip()
    assert line.startswith("ssh -i ")
    argv = [*shlex.split(line), "-o", "BatchMode=yes", "npu-smi info -l | head -1"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(":")[1].strip() == "4"


def test_per_node_options_and_cli_faults(fleet_dir: Path) -> None:
    d = ("--dir", str(fleet_dir))
    assert devsim_cli(*d, "up", "--nodes", "1").returncode == 0
    changed = devsim_cli(*d, "up", "--node", "node-1", "--chip", "310P3", "--cards", "2",
                         "--driver", "24.1.rc2", "--firmware", "7.5.0.1.129")  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    node = DevsimNode.from_meta(Fleet(fleet_dir).meta("node-1"))
    assert (node.chip, node.cards, node.driver_version) == ("310P3", 2, "24.1.rc2")
    assert not Path(node.device(2)).exists()

    def smi(*args: str) -> str:
        client = connect(node)
        try:
            return run(client, shlex.join(["npu-smi", *args])).stdout
        finally:
            client.close()

    assert "Chip    Device" in smi("info")
    assert "Version: 24.1.rc2" in smi("info")
    assert devsim_cli(*d, "fault", "node-1", "card-health", "1", "Alarm").returncode == 0
    assert "| Alarm " in smi("info")
    assert "python3" in devsim_cli(*d, "fault", "node-1", "foreign-process", "0").stdout
    assert "python3" in smi("info")
    assert devsim_cli(*d, "fault", "node-1", "foreign-process", "0", "--clear").returncode == 0
    assert "python3" not in smi("info")
    assert devsim_cli(*d, "fault", "node-1", "npu-smi", "fail").returncode == 0
    assert "dcmi" in smi("info")
    assert devsim_cli(*d, "fault", "node-1", "npu-smi", "ok").returncode == 0
    assert devsim_cli(*d, "fault", "node-1", "down").returncode == 0
    assert "down (fault)" in devsim_cli(*d, "status").stdout
    assert devsim_cli(*d, "fault", "node-1", "up").returncode == 0
    assert "Alarm" in smi("info", "-t", "health", "-i", "1")
    bad = devsim_cli(*d, "fault", "node-9", "down")
    assert bad.returncode == 1 and "no node 'node-9'" in bad.stderr


def test_watcher_is_restarted_by_up_after_it_died(fleet_dir: Path) -> None:
    d = ("--dir", str(fleet_dir))
    assert devsim_cli(*d, "up", "--nodes", "1").returncode == 0
    paths = Fleet(fleet_dir).paths
    first = watcher.running_pid(paths)
    assert first
    os.kill(first, 9)
    for _ in range(100):
        if watcher.running_pid(paths) is None:
            break
        time.sleep(0.02)
    assert devsim_cli(*d, "up").returncode == 0
    assert watcher.running_pid(paths) not in (None, first)
    assert json.loads(paths.containers.read_text())["docker"] is True


def test_password_user_can_log_in_and_run_npu_smi(fleet_dir: Path) -> None:
    d = ("--dir", str(fleet_dir))
    up = devsim_cli(*d, "up", "--nodes", "1", "--cards", "2", "--password-user")
    assert up.returncode == 0, up.stderr
    meta = Fleet(fleet_dir).meta("node-1")
    assert (meta["password_user"], meta["password"]) == ("devsim", "devsim")
    client = paramiko.SSHClient()
    client.load_host_keys(meta["known_hosts"])
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        meta["host"], port=meta["port"], username="devsim", password="devsim",
        look_for_keys=False, allow_agent=False, timeout=10,
    )  # fmt: skip
    try:
        result = run(client, "id -un; npu-smi info -l | head -1")
    finally:
        client.close()
    assert result.ok, result.stderr
    assert result.stdout.splitlines()[0] == "devsim"
    assert result.stdout.splitlines()[1].split(":")[1].strip() == "2"


def test_image_builder_is_idempotent() -> None:
    first = ensure_image()
    assert ensure_image() == first
    out = devsim_cli("image")
    assert out.returncode == 0 and out.stdout.split() == [IMAGE, first]
