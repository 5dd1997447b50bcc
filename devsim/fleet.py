"""A simulated fleet: bring nodes up and down, flip fault switches, report status."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devsim import sshd, watcher
from devsim.layout import FleetPaths, NodePaths, fleet_dir
from devsim.nodes import NodeSpec, install_tool, load_meta, provision
from devsim.state import (
    DEFAULT_FOREIGN_HBM_MB,
    DEFAULT_FOREIGN_NAME,
    empty_faults,
    read_json,
    set_foreign,
    set_health,
    set_npu_smi,
    write_json,
)

DEMO_NODES = (
    NodeSpec("node-a", chip="910B3", cards=8),
    NodeSpec("node-b", chip="910B4", cards=8),
    NodeSpec("node-c", chip="910B3", cards=8),
)
DEMO_FAULTS = {"node-c": {"health": {"5": "Warning"}, "foreign": [7]}}


@dataclass
class NodeStatus:
    """One row of `devsim status`."""

    name: str
    port: int | None
    state: str
    chip: str
    cards: int
    faults: str


class Fleet:
    """All nodes that share one fleet folder, one client key and one container watcher."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.paths = FleetPaths(fleet_dir(root))

    @property
    def root(self) -> Path:
        """The fleet folder."""
        return self.paths.root

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise commands that change the fleet (up, down, faults)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def names(self) -> list[str]:
        """Node names in this fleet."""
        return self.paths.node_names()

    def node(self, name: str) -> NodePaths:
        """Paths of an existing node, or a clear error."""
        node = self.paths.node(name)
        if not node.state.exists():
            known = ", ".join(self.names()) or "none"
            raise ValueError(f"no node {name!r} in {self.root} (nodes: {known})")
        return node

    def meta(self, name: str) -> dict[str, Any]:
        """node.json of a node."""
        return load_meta(self.node(name))

    def up(self, specs: list[NodeSpec], password_user: bool = False) -> list[dict[str, Any]]:
        """Create or refresh the given nodes, start their sshd and the container watcher."""
        sshd.require_sshd()
        with self.locked():
            self.root.mkdir(parents=True, exist_ok=True)
            self.root.chmod(0o755)
            sshd.keygen(self.paths.client_key, "devsim-client")
            if password_user:
                sshd.ensure_password_user()
            sshd.ensure_profile_hook()
            install_tool(self.paths)
            taken = {int(load_meta(self.paths.node(n)).get("port") or 0) for n in self.names()}
            metas = [provision(self.paths, spec, taken, password_user) for spec in specs]
            self._write_known_hosts()
            if not self.paths.containers.exists():
                write_json(self.paths.containers, {"docker": False, "nodes": {}, "updated": 0})
            if watcher.running_pid(self.paths) is None:
                watcher.spawn(self.paths)
        return metas

    def _write_known_hosts(self) -> None:
        lines = []
        for name in self.names():
            meta = load_meta(self.paths.node(name))
            if meta:
                lines.append(f"[{meta['host']}]:{meta['port']} {meta['host_key']}")
        self.paths.known_hosts.write_text("\n".join(lines) + "\n")

    def down(self, remove_containers: bool = True, purge: bool = False) -> list[str]:
        """Stop every sshd and the watcher; remove containers that hold this fleet's cards."""
        stopped: list[str] = []
        if not self.root.is_dir():
            return stopped
        with self.locked():
            watcher.terminate(self.paths)
            for name in self.names():
                if sshd.stop(self.paths.node(name)):
                    stopped.append(name)
            if remove_containers:
                self.remove_containers()
        if purge:
            shutil.rmtree(self.root, ignore_errors=True)
        return stopped

    def remove_containers(self) -> list[str]:
        """Force-remove every container (any state) whose devices live in this fleet."""

        import docker

        try:
            client = docker.from_env(timeout=30)
            client.ping()
        except Exception:
            return []
        prefix = os.path.realpath(self.paths.nodes) + "/"
        removed = []
        for summary in client.api.containers(all=True):
            try:
                ins = client.api.inspect_container(summary["Id"])
            except docker.errors.NotFound:  # removed meanwhile
                ins = {}
            devices = (ins.get("HostConfig") or {}).get("Devices") or []
            if any(os.path.realpath(d.get("PathOnHost", "")).startswith(prefix) for d in devices):
                client.api.remove_container(summary["Id"], force=True)
                removed.append(ins["Name"].lstrip("/"))
        client.close()
        return removed

    def status(self) -> list[NodeStatus]:
        """State of each node."""
        rows = []
        for name in self.names():
            node = self.paths.node(name)
            state, meta = read_json(node.state), load_meta(node)
            port = meta.get("port")
            running = sshd.read_pid(node) is not None and port and sshd.listening(int(port))
            down = "down (fault)" if state["faults"].get("down") else "stopped"
            word = "up" if running else down
            rows.append(
                NodeStatus(
                    name, port, word, state["chip"], len(state["cards"]), describe(state["faults"])
                )
            )
        return rows

    def watcher_pid(self) -> int | None:
        """Pid of the running container watcher."""
        return watcher.running_pid(self.paths)

    # Fault switches -------------------------------------------------------------------

    def _edit_state(self, name: str, change: Any) -> Any:
        node = self.node(name)
        with self.locked():
            state = read_json(node.state)
            result = change(state)
            write_json(node.state, state)
        return result

    def set_down(self, name: str, down: bool) -> None:
        """Node unreachable (sshd stopped, sessions dropped, port kept) or back up."""
        node = self.node(name)

        def change(state: dict[str, Any]) -> None:
            state["faults"]["down"] = down

        self._edit_state(name, change)
        with self.locked():
            if down:
                sshd.stop(node)
            else:
                sshd.start(node, int(load_meta(node)["port"]))

    def set_health(self, name: str, card: int, word: str) -> None:
        """Card reports this health word in npu-smi."""
        self._edit_state(name, lambda s: set_health(s, card, word))

    def set_foreign(
        self,
        node: str,
        card: int,
        clear: bool = False,
        pid: int | None = None,
        proc_name: str = DEFAULT_FOREIGN_NAME,
        hbm_mb: int = DEFAULT_FOREIGN_HBM_MB,
    ) -> dict[str, Any] | None:
        """A process nobody launched through the dashboard holds the card (or clear it)."""
        return self._edit_state(
            node,
            lambda s: set_foreign(s, card, clear=clear, pid=pid, name=proc_name, hbm_mb=hbm_mb),
        )

    def set_npu_smi(self, name: str, mode: str, seconds: float = 0.0) -> None:
        """npu-smi on the node fails, answers slowly, or behaves."""
        self._edit_state(name, lambda s: set_npu_smi(s, mode, seconds))

    def reset_faults(
        self, baseline: dict[str, dict[str, Any]] | None = None, names: list[str] | None = None
    ) -> None:
        """Clear every fault of the nodes (all by default; downed ones come back), then re-apply
        a baseline."""
        for name in self.names() if names is None else names:
            node = self.paths.node(name)
            was_down = read_json(node.state)["faults"].get("down")

            def clear(state: dict[str, Any]) -> None:
                state["faults"] = empty_faults()

            self._edit_state(name, clear)
            if was_down or sshd.read_pid(node) is None:
                with self.locked():
                    sshd.start(node, int(load_meta(node)["port"]))
        self.apply_faults(baseline or {})

    def apply_faults(self, faults: dict[str, dict[str, Any]]) -> None:
        """Apply a {node: {"health": {card: word}, "foreign": [cards]}} fault set."""
        for name, spec in faults.items():
            for card, word in spec.get("health", {}).items():
                self.set_health(name, int(card), word)
            for card in spec.get("foreign", []):
                self.set_foreign(name, int(card))

    def demo(self) -> list[dict[str, Any]]:
        """The demo fleet: node-a 8x910B3, node-b 8x910B4, node-c 8x910B3 with two faults.

        Nodes added with `up` are started again as they were (same port, key and faults).
        """
        demo = [spec.name for spec in DEMO_NODES]
        extra = [NodeSpec(name) for name in self.names() if name not in demo]
        metas = self.up([*DEMO_NODES, *extra])
        self.reset_faults(DEMO_FAULTS, names=demo)
        return metas[: len(demo)]


def describe(faults: dict[str, Any]) -> str:
    """Short human summary of a node's active faults."""
    parts = []
    if faults.get("down"):
        parts.append("down")
    parts += [f"card{c}={w}" for c, w in sorted(faults.get("health", {}).items())]
    parts += [f"card{c}=foreign" for c in sorted(faults.get("foreign", {}))]
    mode = faults.get("npu_smi", {}).get("mode", "ok")
    if mode != "ok":
        parts.append(f"npu-smi={mode}")
    return ",".join(parts) or "-"
