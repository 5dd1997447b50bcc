"""Provisioning of one simulated node: its Ascend files, devices, keys, sshd and node.json."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devsim import sshd
from devsim.chips import DEFAULT_DRIVER, DEFAULT_FIRMWARE, chip
from devsim.layout import FleetPaths, NodePaths
from devsim.state import build_state, empty_faults, read_json, write_json
from fleet.choices import MANAGEMENT_DEVICES

NPU_SMI_SOURCE = Path(__file__).with_name("npu_smi")
# Where containers may mount data from (the dashboard's defaults for a node's weights folder and
# team workspaces): simulated nodes share this machine's filesystem, so they share these too.
WEIGHTS_DIR = "/data/models"
WORKSPACE_ROOT = "/data/npufleet/workspaces"
PYTHON = "/usr/bin/python3"  # the node's system interpreter; -IS keeps start-up near 10 ms
# Character device the simulated /dev/davinci* nodes point at: /dev/null's 1:3, so a
# container that opens them reads EOF and swallows writes.
DEVICE_MAJOR_MINOR = (1, 3)
INSTALL_INFO = """\
UserName=HwHiAiUser
UserGroup=HwHiAiUser
Driver_Install_Type=full
Driver_Install_Path_Param=/usr/local/Ascend
Driver_Install_For_All=no
Driver_Install_Mode=normal
Driver_Install_Status=complete
"""


@dataclass
class NodeSpec:
    """What to bring up for one node; None keeps the node's current (or default) value."""

    name: str
    chip: str | None = None
    cards: int | None = None
    driver: str | None = None
    firmware: str | None = None


def version_info(driver: str, firmware: str) -> str:
    """Driver version.info in the key=value format of real Ascend driver packages."""
    fw_major = ".".join(firmware.split(".")[:2])
    return (
        f"Version={driver}\n"
        "ascendhal_version=7.35.19\n"
        "aicpu_version=1.0\n"
        "tdt_version=1.0\n"
        "log_version=1.0\n"
        "prof_version=2.0\n"
        "dvppkernels_version=1.1\n"
        "tsfw_version=1.0\n"
        "Innerversion=V100R001C15SPC006B220\n"
        "compatible_version=[V100R001C30],[V100R001C13],[V100R001C15],[V100R001C17]\n"
        f"compatible_version_fw=[{fw_major}.0,{fw_major}.99]\n"
        f"package_version={driver}\n"
    )


def _char_device(path: Path) -> None:
    """Create (or fix) a character device node."""
    try:
        st = path.lstat()
        if stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == DEVICE_MAJOR_MINOR[0]:
            return
        path.unlink()
    except FileNotFoundError:
        pass
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(*DEVICE_MAJOR_MINOR))
    path.chmod(0o666)


def make_devices(node: NodePaths, cards: int) -> None:
    """davinci0..N-1 plus the management devices; stale higher-numbered cards are removed."""
    node.dev.mkdir(parents=True, exist_ok=True)
    for card in range(cards):
        _char_device(node.davinci(card))
    for name in MANAGEMENT_DEVICES:
        _char_device(node.dev / name)
    for extra in node.dev.glob("davinci[0-9]*"):
        if int(extra.name[len("davinci") :]) >= cards:
            extra.unlink()


def _replace(path: Path, text: str, mode: int) -> None:
    """Atomically replace a file's content (a running npu-smi never sees half a file)."""
    if path.exists() and path.read_text() == text:
        return
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    os.replace(tmp, path)


def install_tool(fleet: FleetPaths) -> None:
    """Copy the npu-smi implementation (stdlib only) into the fleet and byte-compile it once."""
    target = fleet.npu_smi_package
    target.mkdir(parents=True, exist_ok=True)
    for folder in (fleet.lib, target):
        folder.chmod(0o755)
    for source in NPU_SMI_SOURCE.glob("*.py"):
        _replace(target / source.name, source.read_text(), 0o644)
    subprocess.run([PYTHON, "-IS", "-m", "compileall", "-q", str(target)], capture_output=True)


def launcher(fleet: FleetPaths, node: NodePaths) -> str:
    """The node's npu-smi: a stub that runs the cached, compiled implementation for this node."""
    return (
        f"#!{PYTHON} -IS\n"
        '"""npu-smi of simulated node ' + node.name + '."""\n'
        "import sys\n\n"
        f"sys.path.insert(0, {str(fleet.lib)!r})\n"
        "from devsim_npu_smi.cli import main  # noqa: E402\n\n"
        f"sys.exit(main(sys.argv[1:], {str(node.root)!r}))\n"
    )


def install_files(fleet: FleetPaths, node: NodePaths, driver: str, firmware: str) -> None:
    """Driver folder, version.info, ascend_install.info, npu-smi and the npu log folder."""
    for folder in (node.driver / "lib64", node.install_info.parent, node.sbin, node.npu_log):
        folder.mkdir(parents=True, exist_ok=True)
    _replace(node.version_info, version_info(driver, firmware), 0o644)
    _replace(node.install_info, INSTALL_INFO, 0o644)
    _replace(node.npu_smi, launcher(fleet, node), 0o755)


def merged_state(fleet: FleetPaths, node: NodePaths, spec: NodeSpec) -> dict[str, Any]:
    """The node's new state: explicit spec values, else current values, else defaults."""
    old = read_json(node.state) if node.state.exists() else {}
    cards = spec.cards if spec.cards is not None else len(old.get("cards", [])) or 8
    if not 1 <= cards <= 16:
        raise ValueError("cards must be between 1 and 16")
    faults = old.get("faults") or empty_faults()
    faults["down"] = False
    for key in ("health", "foreign"):
        faults[key] = {k: v for k, v in faults.get(key, {}).items() if int(k) < cards}
    return build_state(
        node.name,
        chip(spec.chip or old.get("chip") or "910B3"),
        cards,
        spec.driver or old.get("driver") or DEFAULT_DRIVER,
        spec.firmware or old.get("firmware") or DEFAULT_FIRMWARE,
        fleet.containers,
        faults,
    )


def load_meta(node: NodePaths) -> dict[str, Any]:
    """node.json, or {} for a node that was never brought up."""
    return read_json(node.meta) if node.meta.exists() else {}


def ssh_command(fleet: FleetPaths, meta: dict[str, Any]) -> str:
    """The exact ssh command line that logs into a node."""
    return shlex.join(
        [
            "ssh",
            "-i",
            str(fleet.client_key),
            "-p",
            str(meta["port"]),
            "-o",
            f"UserKnownHostsFile={fleet.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            f"{meta['user']}@{meta['host']}",
        ]
    )


def build_meta(
    fleet: FleetPaths, node: NodePaths, state: dict[str, Any], port: int, password_user: bool
) -> dict[str, Any]:
    """node.json: everything the dashboard needs to reach and configure the node."""
    cards = len(state["cards"])
    meta: dict[str, Any] = {
        "name": node.name,
        "host": "127.0.0.1",
        "port": port,
        "user": "root",
        "key_path": str(fleet.client_key),
        "public_key_path": str(fleet.client_key.with_suffix(".pub")),
        "password_user": sshd.PASSWORD_USER if password_user else None,
        "password": sshd.PASSWORD if password_user else None,
        "host_key": sshd.public_key(node.host_key),
        "host_key_fingerprint": sshd.fingerprint(node.host_key),
        "known_hosts": str(fleet.known_hosts),
        "node_dir": str(node.root),
        "device_dir": str(node.dev),
        "devices": [str(node.davinci(i)) for i in range(cards)],
        "management_devices": [str(node.dev / n) for n in MANAGEMENT_DEVICES],
        "driver_dir": str(node.driver),
        "version_info_path": str(node.version_info),
        "npu_smi_path": str(node.npu_smi),
        "install_info_path": str(node.install_info),
        "npu_log_dir": str(node.npu_log),
        # The node's filesystem is this machine's: the dashboard's default data folders.
        "weights_dir": WEIGHTS_DIR,
        "workspace_root": WORKSPACE_ROOT,
        "chip": state["chip"],
        "cards": cards,
        "hbm_mb": state["hbm_mb"] or state["ddr_mb"],
        "driver_version": state["driver"],
        "firmware_version": state["firmware"],
        "state_path": str(node.state),
    }
    meta["ssh_command"] = ssh_command(fleet, meta)
    return meta


def provision(
    fleet: FleetPaths, spec: NodeSpec, taken_ports: set[int], password_user: bool
) -> dict[str, Any]:
    """Create or update a node and make sure its sshd runs; return its node.json."""
    node = fleet.node(spec.name)
    node.root.mkdir(parents=True, exist_ok=True)
    node.root.chmod(0o755)
    state = merged_state(fleet, node, spec)
    make_devices(node, len(state["cards"]))
    for folder in (WEIGHTS_DIR, WORKSPACE_ROOT):
        Path(folder).mkdir(parents=True, exist_ok=True)
    install_files(fleet, node, state["driver"], state["firmware"])
    write_json(node.state, state)
    sshd.keygen(node.host_key, f"devsim-host-{node.name}")
    node.authorized_keys.write_text(sshd.public_key(fleet.client_key) + "\n")
    old = load_meta(node)
    port = int(old.get("port") or sshd.free_port(taken_ports))
    if sshd.read_pid(node) is None and sshd.listening(port):
        port = sshd.free_port(taken_ports)  # someone else took the old port meanwhile
    taken_ports.add(port)
    config = sshd.render_config(node, port, password_user)
    changed = not node.sshd_config.exists() or node.sshd_config.read_text() != config
    if changed:
        node.sshd_config.write_text(config)
        sshd.stop(node)
    sshd.start(node, port)
    meta = build_meta(fleet, node, state, port, password_user)
    write_json(node.meta, meta)
    return meta
