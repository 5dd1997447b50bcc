"""Where everything of a simulated fleet lives on disk."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from fleet.choices import device_path

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
LOGIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def fleet_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The fleet folder: --dir, else $DEVSIM_DIR, else ./.devsim."""
    raw = explicit or os.environ.get("DEVSIM_DIR") or ".devsim"
    return Path(raw).expanduser().absolute()


def check_name(name: str) -> str:
    """Validate a node name (it becomes a folder name and part of sshd config)."""
    if not NAME_RE.match(name):
        raise ValueError(f"bad node name {name!r}: use lowercase letters, digits and '-'")
    return name


@dataclass(frozen=True)
class FleetPaths:
    """Files shared by all nodes of one fleet."""

    root: Path

    @property
    def nodes(self) -> Path:
        """Folder holding one sub-folder per node."""
        return self.root / "nodes"

    @property
    def client_key(self) -> Path:
        """Private half of the fleet's client key (ed25519)."""
        return self.root / "client" / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        """known_hosts file listing every node's host key."""
        return self.root / "known_hosts"

    @property
    def containers(self) -> Path:
        """Watcher output: node -> card -> processes of real containers."""
        return self.root / "containers.json"

    @property
    def lib(self) -> Path:
        """Shared code of the fleet's nodes (the npu-smi implementation)."""
        return self.root / "lib"

    @property
    def npu_smi_package(self) -> Path:
        """Copy of devsim/npu_smi that every node's npu-smi launcher imports."""
        return self.lib / "devsim_npu_smi"

    @property
    def watcher_pid(self) -> Path:
        """Pid file of the fleet's container watcher."""
        return self.root / "watcher.pid"

    @property
    def watcher_log(self) -> Path:
        """Log of the container watcher."""
        return self.root / "watcher.log"

    def node(self, name: str) -> NodePaths:
        """Paths of one node."""
        return NodePaths(self.nodes / check_name(name))

    def node_names(self) -> list[str]:
        """Names of the nodes created in this fleet, in natural order."""
        if not self.nodes.is_dir():
            return []
        names = [p.name for p in self.nodes.iterdir() if (p / "state.json").is_file()]
        return sorted(names, key=natural_key)


def natural_key(name: str) -> list[object]:
    """Sort key so node-2 comes before node-10."""
    return [int(tok) if tok.isdigit() else tok for tok in re.split(r"(\d+)", name)]


@dataclass(frozen=True)
class NodePaths:
    """Files of one simulated DevServer (its 'root filesystem' lives under root)."""

    root: Path

    @property
    def name(self) -> str:
        """Node name (the folder name)."""
        return self.root.name

    @property
    def state(self) -> Path:
        """npu-smi state (chip, cards, faults)."""
        return self.root / "state.json"

    @property
    def meta(self) -> Path:
        """Connection metadata for the dashboard."""
        return self.root / "node.json"

    @property
    def ssh(self) -> Path:
        """Folder with this node's sshd config, host key, pid file and log."""
        return self.root / "ssh"

    @property
    def sshd_config(self) -> Path:
        """sshd_config of the node."""
        return self.ssh / "sshd_config"

    @property
    def host_key(self) -> Path:
        """Private host key (ed25519)."""
        return self.ssh / "ssh_host_ed25519_key"

    @property
    def authorized_keys(self) -> Path:
        """Keys allowed to log in."""
        return self.ssh / "authorized_keys"

    @property
    def sshd_pid(self) -> Path:
        """PidFile written by sshd."""
        return self.ssh / "sshd.pid"

    @property
    def sshd_log(self) -> Path:
        """sshd log (-E)."""
        return self.ssh / "sshd.log"

    @property
    def dev(self) -> Path:
        """Stand-in for /dev: davinciN and the management devices."""
        return self.root / "dev"

    def davinci(self, card: int) -> Path:
        """Device node of one card."""
        return Path(device_path(str(self.dev), card))

    @property
    def driver(self) -> Path:
        """Stand-in for /usr/local/Ascend/driver."""
        return self.root / "usr" / "local" / "Ascend" / "driver"

    @property
    def version_info(self) -> Path:
        """Driver version.info."""
        return self.driver / "version.info"

    @property
    def install_info(self) -> Path:
        """Stand-in for /etc/ascend_install.info."""
        return self.root / "etc" / "ascend_install.info"

    @property
    def sbin(self) -> Path:
        """Stand-in for /usr/local/sbin (first in the login PATH)."""
        return self.root / "usr" / "local" / "sbin"

    @property
    def npu_smi(self) -> Path:
        """The simulated npu-smi (real nodes keep it at /usr/local/sbin/npu-smi)."""
        return self.sbin / "npu-smi"

    @property
    def npu_log(self) -> Path:
        """Stand-in for /var/log/npu (mounted at /usr/slog in containers)."""
        return self.root / "var" / "log" / "npu"
