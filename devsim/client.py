"""Test-facing handle on a running fleet: node metadata, SSH commands and fault switches."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import paramiko

from devsim.fleet import DEMO_FAULTS, Fleet
from devsim.state import read_json
from fleet.choices import MANAGEMENT_DEVICES, device_path

T = TypeVar("T")


@dataclass(frozen=True)
class DevsimNode:
    """Connection facts and Ascend paths of one simulated node (the content of node.json)."""

    name: str
    host: str
    port: int
    user: str
    key_path: str
    host_key: str
    host_key_fingerprint: str
    known_hosts: str
    node_dir: str
    device_dir: str
    driver_dir: str
    npu_smi_path: str
    install_info_path: str
    version_info_path: str
    npu_log_dir: str
    chip: str
    cards: int
    hbm_mb: int
    driver_version: str
    firmware_version: str
    password_user: str | None = None
    password: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> DevsimNode:
        """Build from a node.json document."""
        names = set(cls.__dataclass_fields__) - {"meta"}
        return cls(**{k: v for k, v in meta.items() if k in names}, meta=meta)

    def onboarding_values(self, name: str | None = None, **overrides: Any) -> dict[str, Any]:
        """What an admin types to onboard this node into the dashboard (key login)."""
        values: dict[str, Any] = {
            "name": name or self.name,
            "host": self.host,
            "port": self.port,
            "username": self.user,
            "auth_method": "key",
            "private_key": Path(self.key_path).read_text(),
            "device_dir": self.device_dir,
            "driver_dir": self.driver_dir,
            "npu_smi_path": self.npu_smi_path,
            "install_info_path": self.install_info_path,
            "weights_dir": self.meta.get("weights_dir", "/data/models"),
            "workspace_root": self.meta.get("workspace_root", "/data/npufleet/workspaces"),
            "expected_cards": self.cards,
        }
        values.update(overrides)
        return values

    def device(self, card: int) -> str:
        """Host path of /dev/davinci<card> on this node."""
        return device_path(self.device_dir, card)

    def docker_run_args(self, cards: list[int]) -> list[str]:
        """The seed's device and mount flags for `docker run`, with this node's host paths."""
        args = [f"--device={self.device(c)}:{device_path('/dev', c)}" for c in cards]
        for dev in MANAGEMENT_DEVICES:
            args.append(f"--device={device_path(self.device_dir, dev)}:{device_path('/dev', dev)}")
        return [
            *args,
            "-v", f"{self.driver_dir}:/usr/local/Ascend/driver",
            "-v", f"{self.install_info_path}:/etc/ascend_install.info",
            "-v", f"{self.npu_smi_path}:/usr/local/sbin/npu-smi",
            "-v", f"{self.npu_log_dir}/:/usr/slog",
        ]  # fmt: skip


@dataclass(frozen=True)
class SshResult:
    """Outcome of one remote command."""

    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        """Whether the command exited with 0."""
        return self.exit_status == 0


def connect(node: DevsimNode, timeout: float = 10.0) -> paramiko.SSHClient:
    """A paramiko client logged into the node as its key user, host key pinned."""
    client = paramiko.SSHClient()
    client.load_host_keys(node.known_hosts)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    sock = socket.create_connection((node.host, node.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        client.connect(
            node.host,
            port=node.port,
            username=node.user,
            key_filename=node.key_path,
            look_for_keys=False,
            allow_agent=False,
            timeout=timeout,
            sock=sock,
        )
    except BaseException:
        sock.close()
        client.close()
        raise
    return client


def run(client: paramiko.SSHClient, command: str, timeout: float = 60.0) -> SshResult:
    """Run one command on an open connection."""
    _, out, err = client.exec_command(command, timeout=timeout)
    stdout = out.read().decode()
    stderr = err.read().decode()
    return SshResult(out.channel.recv_exit_status(), stdout, stderr)


class DevsimFleet:
    """A running simulated fleet, as handed to tests by the devsim_fleet fixture."""

    def __init__(self, root: str | Path, baseline: dict[str, dict[str, Any]] | None = None):
        self.fleet = Fleet(root)
        self.root = self.fleet.root
        self.baseline = DEMO_FAULTS if baseline is None else baseline
        self.nodes: dict[str, DevsimNode] = {}
        self.refresh()

    def refresh(self) -> None:
        """Re-read node.json of every node."""
        self.nodes = {n: DevsimNode.from_meta(self.fleet.meta(n)) for n in self.fleet.names()}

    @property
    def names(self) -> list[str]:
        """Node names."""
        return list(self.nodes)

    def node(self, name: str) -> DevsimNode:
        """One node's facts."""
        return self.nodes[name]

    def connect(self, name: str, timeout: float = 10.0) -> paramiko.SSHClient:
        """Open an SSH connection to a node (the caller closes it)."""
        return connect(self.nodes[name], timeout)

    def ssh(self, name: str, command: str, timeout: float = 60.0) -> SshResult:
        """Run a shell command on a node over a fresh SSH connection."""
        client = self.connect(name)
        try:
            return run(client, command, timeout)
        finally:
            client.close()

    def npu_smi(self, name: str, *args: str) -> SshResult:
        """Run `npu-smi ARGS` on a node through SSH."""
        return self.ssh(name, " ".join(["npu-smi", *args]))

    def card_processes(self, name: str, card: int) -> list[dict[str, Any]]:
        """Processes of real containers on a card, as the watcher last published them."""
        try:
            doc = read_json(self.fleet.paths.containers)
        except (OSError, ValueError):
            return []
        return list(doc.get("nodes", {}).get(name, {}).get(str(card), []))

    # Fault switches.
    def fault_down(self, name: str) -> None:
        """Stop the node's sshd (port kept, open sessions dropped)."""
        self.fleet.set_down(name, True)

    def fault_up(self, name: str) -> None:
        """Start the node's sshd again."""
        self.fleet.set_down(name, False)

    def set_card_health(self, name: str, card: int, health: str) -> None:
        """Card reports OK, Warning, Alarm or Critical."""
        self.fleet.set_health(name, card, health)

    def add_foreign_process(
        self, name: str, card: int, pid: int | None = None, proc_name: str = "python3",
        hbm_mb: int = 12288,
    ) -> dict[str, Any]:  # fmt: skip
        """Put a process no dashboard container owns on a card; return it."""
        proc = self.fleet.set_foreign(name, card, pid=pid, proc_name=proc_name, hbm_mb=hbm_mb)
        if proc is None:
            raise RuntimeError(f"no foreign process was added to {name} card {card}")
        return proc

    def clear_foreign_process(self, name: str, card: int) -> None:
        """Remove the foreign process from a card."""
        self.fleet.set_foreign(name, card, clear=True)

    def npu_smi_fail(self, name: str) -> None:
        """npu-smi prints the dcmi error and exits non-zero."""
        self.fleet.set_npu_smi(name, "fail")

    def npu_smi_slow(self, name: str, seconds: float) -> None:
        """npu-smi sleeps before answering."""
        self.fleet.set_npu_smi(name, "slow", seconds)

    def npu_smi_ok(self, name: str) -> None:
        """npu-smi behaves again."""
        self.fleet.set_npu_smi(name, "ok")

    def reset_faults(self) -> None:
        """Every node up and healthy, then the baseline faults (the demo's) re-applied."""
        self.fleet.reset_faults(self.baseline)

    def down(self, purge: bool = False) -> None:
        """Stop the fleet (and remove its containers)."""
        self.fleet.down(purge=purge)


def wait_for(check: Callable[[], T], timeout: float = 5.0, interval: float = 0.1) -> T:
    """Poll until check() returns something truthy; raise AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(interval)
