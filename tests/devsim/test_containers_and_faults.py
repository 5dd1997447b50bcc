"""Real containers show up on the cards they hold; every fault switch takes effect."""

from __future__ import annotations

import shlex
import socket
import time
import uuid
from collections.abc import Iterator

import paramiko
import pytest

from devsim.client import DevsimFleet, wait_for
from devsim.image import IMAGE
from tests.devsim.layout import device_rows, processes

pytestmark = pytest.mark.devsim
LABEL = "npufleet.devsim=1"


@pytest.fixture
def container_names(devsim: DevsimFleet) -> Iterator[list[str]]:
    """Names of containers a test starts; all removed afterwards."""
    names: list[str] = []
    yield names
    if names:
        devsim.ssh("node-a", shlex.join(["docker", "rm", "-f", *names]))


def seed_docker_run(devsim: DevsimFleet, node: str, cards: list[int], name: str, *extra: str):
    """`docker run -itd` the way the seed does it, with this node's host paths, over SSH."""
    dev = devsim.node(node)
    cmd = [
        "docker", "run", "-itd", "--label", LABEL, "--name", name, "--net=host",
        *dev.docker_run_args(cards), *extra, IMAGE, "sh", "-c", "sleep 600",
    ]  # fmt: skip
    result = devsim.ssh(node, shlex.join(cmd))
    assert result.ok, result.stderr
    pid = devsim.ssh(node, shlex.join(["docker", "inspect", "-f", "{{.State.Pid}}", name]))
    return result.stdout.strip(), int(pid.stdout)


def test_container_process_appears_on_its_cards(
    devsim: DevsimFleet, container_names: list[str]
) -> None:
    name = f"devsim-test-{uuid.uuid4().hex[:8]}"
    container_names.append(name)
    cid, pid = seed_docker_run(devsim, "node-a", [4, 5], name, "-e", "DEVSIM_HBM_MB=20480")
    assert len(cid) == 64

    def rows() -> list[tuple[int, int, str, int]]:
        return processes(devsim.npu_smi("node-a", "info").stdout)

    started = time.monotonic()
    assert wait_for(rows, timeout=3.0) == [(4, pid, "sleep", 20480), (5, pid, "sleep", 20480)]
    assert time.monotonic() - started < 3.0
    hbm = device_rows(devsim.npu_smi("node-a", "info").stdout)
    assert hbm[4][2] > 20480 > hbm[3][2]
    assert processes(devsim.npu_smi("node-b", "info").stdout) == []  # other nodes unaffected
    inside = devsim.ssh("node-a", f"docker exec {name} ls /dev /usr/local/Ascend/driver").stdout
    assert {"davinci4", "davinci5", "davinci_manager", "version.info"} <= set(inside.split())

    devsim.ssh("node-a", f"docker rm -f {name}")
    wait_for(lambda: not rows(), timeout=3.0)


def test_default_process_memory_and_label_override(
    devsim: DevsimFleet, container_names: list[str]
) -> None:
    plain, labelled = (f"devsim-test-{uuid.uuid4().hex[:8]}" for _ in range(2))
    container_names += [plain, labelled]
    seed_docker_run(devsim, "node-a", [0], plain)
    seed_docker_run(devsim, "node-a", [1], labelled, "--label", "npufleet.devsim.hbm-mb=1234")
    rows = wait_for(lambda: processes(devsim.npu_smi("node-a", "info").stdout), timeout=3.0)
    wait_for(lambda: len(processes(devsim.npu_smi("node-a", "info").stdout)) == 2, timeout=3.0)
    rows = processes(devsim.npu_smi("node-a", "info").stdout)
    assert {(r[0], r[3]) for r in rows} == {(0, 3000), (1, 1234)}


def test_fault_down_closes_the_port_and_up_restores_it(devsim: DevsimFleet) -> None:
    node = devsim.node("node-a")
    client = devsim.connect("node-a")
    devsim.fault_down("node-a")
    with pytest.raises(OSError):
        socket.create_connection((node.host, node.port), timeout=2).close()
    with pytest.raises((EOFError, OSError, paramiko.SSHException)):
        client.exec_command("true", timeout=5)[1].read()  # open sessions are dropped too
    client.close()
    assert devsim.fleet.meta("node-a")["port"] == node.port
    assert devsim.ssh("node-b", "true").ok
    devsim.fault_up("node-a")
    assert devsim.ssh("node-a", "npu-smi info -l").ok


def test_card_health_fault(devsim: DevsimFleet) -> None:
    for word in ("Alarm", "Critical", "Warning", "OK"):
        devsim.set_card_health("node-a", 2, word)
        assert device_rows(devsim.npu_smi("node-a", "info").stdout)[2][1] == word
        health = devsim.npu_smi("node-a", "info", "-t", "health", "-i", "2", "-c", "0").stdout
        assert health.splitlines()[0].split(": ")[1] == word


def test_foreign_process_fault(devsim: DevsimFleet) -> None:
    proc = devsim.add_foreign_process("node-b", 6)
    rows = processes(devsim.npu_smi("node-b", "info").stdout)
    assert rows == [(6, proc["pid"], "python3", proc["hbm_mb"])]
    devsim.clear_foreign_process("node-b", 6)
    assert processes(devsim.npu_smi("node-b", "info").stdout) == []


def test_npu_smi_fail_slow_and_ok(devsim: DevsimFleet) -> None:
    devsim.npu_smi_fail("node-b")
    failed = devsim.npu_smi("node-b", "info")
    assert failed.exit_status != 0
    assert "dcmi model initialized failed" in failed.stdout
    devsim.npu_smi_slow("node-b", 1.0)
    start = time.monotonic()
    assert devsim.npu_smi("node-b", "info", "-l").ok
    assert time.monotonic() - start >= 1.0
    devsim.npu_smi_ok("node-b")
    assert devsim.npu_smi("node-b", "info").ok


def test_reset_restores_the_demo_baseline(devsim: DevsimFleet) -> None:
    devsim.fault_down("node-c")
    devsim.set_card_health("node-a", 0, "Critical")
    devsim.reset_faults()
    assert device_rows(devsim.npu_smi("node-a", "info").stdout)[0][1] == "OK"
    out = devsim.npu_smi("node-c", "info").stdout
    assert device_rows(out)[5][1] == "Warning"
    assert [p[0] for p in processes(out)] == [7]
