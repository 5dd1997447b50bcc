"""The node probe: one shell script over one SSH round trip, read back into a `ProbeReport`.

A quick probe (every few seconds) reads the cards and the few facts that change; a full probe
(first contact, on demand, and every `FULL_EVERY` probes) also reads the slow-changing inventory:
OS, CPU, driver and firmware versions, the NPU → /dev/davinciN map and the Docker version.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from fleet.npusmi import ParseError, parse_board, parse_info, parse_list, parse_mapping
from fleet.npusmi.info import NpuSmiInfo

MARK = "@@NPUFLEET:"
FULL_EVERY = 20


@dataclass(frozen=True)
class ProbePaths:
    """The node's Ascend paths and weights folder, as configured."""

    npu_smi: str
    driver_dir: str
    weights_dir: str


def build_script(paths: ProbePaths, *, full: bool, board_npu: int = 0) -> str:
    """The probe's shell script; every path is quoted."""
    smi = shlex.quote(paths.npu_smi)
    # Shell builtins where possible: on a busy node every fork counts.
    parts = [
        "export LC_ALL=C",
        _section("ipfwd", 'read -r v < /proc/sys/net/ipv4/ip_forward; echo "$v"'),
        _section(
            "mem",
            'while read -r k v _; do case $k in MemTotal:|MemAvailable:) echo "$k $v kB";; '
            "esac; done < /proc/meminfo",
        ),
        _section("docker", "command -v docker || echo absent"),
        _section("npusmi", f'{smi} info 2>&1; echo "{MARK}rc=$?"'),
    ]
    if full:
        # Slow-changing facts (free disk included): every FULL_EVERY probes, not every probe.
        parts += [
            _section("disk", f"df -Pk {shlex.quote(paths.weights_dir)}"),
            _section("os", "cat /etc/os-release 2>/dev/null"),
            _section("uname", "uname -m; uname -r; nproc"),
            _section("cpu", "grep -m1 -E '^(model name|CPU part|Model)' /proc/cpuinfo"),
            _section("dockerv", "docker -v 2>/dev/null || echo absent"),
            _section("driver", f"cat {shlex.quote(paths.driver_dir + '/version.info')} 2>&1"),
            _section("npulist", f"{smi} info -l 2>&1"),
            _section("npumap", f"{smi} info -m 2>&1"),
            _section("board", f"{smi} info -t board -i {int(board_npu)} 2>&1"),
        ]
    return "\n".join(parts) + "\n"


def _section(name: str, command: str) -> str:
    return f"echo '{MARK}{name}'; {command}"


def split_sections(output: str) -> dict[str, str]:
    """The script's output by section name."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith(MARK):
            if not line.startswith(MARK + "rc="):
                current = sections.setdefault(line[len(MARK) :].strip(), [])
            continue
        if current is not None:
            current.append(line)
    return {name: "\n".join(lines) for name, lines in sections.items()}


@dataclass
class CardReading:
    """One chip as the probe saw it."""

    npu_id: int
    chip_id: int
    device: int
    chip_name: str
    bus_id: str
    health: str
    hbm_used_mb: int | None
    hbm_total_mb: int | None
    aicore_pct: int | None
    temp_c: int | None
    power_w: float | None
    processes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ProbeReport:
    """What one probe learnt; `npu_smi_error` set when npu-smi could not be read."""

    full: bool
    facts: dict[str, Any]
    cards: list[CardReading]
    npu_smi_error: str = ""


def _int(text: str) -> int | None:
    match = re.search(r"-?\d+", text)
    return int(match.group()) if match else None


def _meminfo(text: str) -> dict[str, int]:
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        number = _int(rest)
        if number is not None:
            values[key.strip()] = number // 1024
    return {
        "mem_total_mb": values.get("MemTotal", 0),
        "mem_available_mb": values.get("MemAvailable", 0),
    }


def _disk(text: str) -> dict[str, Any]:
    lines = text.strip().splitlines()
    cols = lines[-1].split() if lines else []
    if len(cols) >= 6 and cols[3].isdigit():
        return {"disk_free_gb": round(int(cols[3]) / 1024 / 1024, 1), "disk_mount": cols[5]}
    return {"disk_free_gb": None, "disk_error": text.strip()[:200]}


def _os_release(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return ""


def _driver_version(text: str) -> str:
    # version.info: "Version=23.0.6" (also seen: "package_version=...")
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().lower() in ("version", "package_version"):
            return value.strip()
    return ""


def parse_report(
    output: str, *, full: bool, device_map: dict[str, int] | None = None
) -> ProbeReport:
    """Read the probe script's output. `device_map` maps "npu:chip" to davinci N (from info -m)."""
    sec = split_sections(output)
    facts: dict[str, Any] = {}
    facts["ip_forward"] = _int(sec.get("ipfwd", ""))
    facts.update(_meminfo(sec.get("mem", "")))
    if "disk" in sec:
        facts.update(_disk(sec["disk"]))
    facts["docker_installed"] = sec.get("docker", "absent").strip() not in ("", "absent")
    device_map = dict(device_map or {})
    if full:
        uname = [*sec.get("uname", "").splitlines(), "", "", ""]
        facts.update(
            os=_os_release(sec.get("os", "")),
            arch=uname[0].strip(),
            kernel=uname[1].strip(),
            cpus=_int(uname[2]) or None,
            cpu_model=sec.get("cpu", "").partition(":")[2].strip(),
            docker_version=_docker_version(sec.get("dockerv", "")),
            driver_version=_driver_version(sec.get("driver", "")),
        )
        facts.update(_inventory(sec, device_map))
    info_text = sec.get("npusmi", "")
    rc_match = re.search(re.escape(MARK) + r"rc=(\d+)", output)
    rc = int(rc_match.group(1)) if rc_match else None
    if rc not in (0, None):
        error = f"npu-smi info exited with {rc}: {_last_lines(info_text)}"
        return ProbeReport(full, facts, [], npu_smi_error=error)
    try:
        info = parse_info(info_text)
    except ParseError as exc:
        return ProbeReport(full, facts, [], npu_smi_error=str(exc))
    facts["npu_smi_version"] = info.npu_smi_version or ""
    facts["npu_driver_version"] = info.version or ""
    cards = _cards(info, device_map)
    if cards:
        facts["chip_name"] = cards[0].chip_name
        facts["hbm_total_mb"] = cards[0].hbm_total_mb
        facts["card_count"] = len(cards)
    return ProbeReport(full, facts, cards)


def _docker_version(text: str) -> str:
    match = re.search(r"version\s+([^\s,]+)", text, re.IGNORECASE)
    return match.group(1) if match else ""


def _last_lines(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " / ".join(lines[-3:])[:300] or "no output"


def _inventory(sec: dict[str, str], device_map: dict[str, int]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    try:
        facts["npu_total_count"] = parse_list(sec.get("npulist", "")).total_count
    except ParseError:
        facts["npu_total_count"] = None
    try:
        mapping = parse_mapping(sec.get("npumap", ""))
        device_map.clear()
        for chip in mapping.compute_chips:
            device_map[f"{chip.npu_id}:{chip.chip_id}"] = int(chip.chip_logic_id or 0)
        facts["device_map"] = dict(device_map)
    except ParseError:
        pass
    try:
        board = parse_board(sec.get("board", ""))
        facts["firmware_version"] = board.firmware_version or ""
        facts["board_software_version"] = board.software_version or ""
    except ParseError:
        pass
    return facts


def _cards(info: NpuSmiInfo, device_map: dict[str, int]) -> list[CardReading]:
    cards: list[CardReading] = []
    by_chip: dict[tuple[int, int], CardReading] = {}
    for index, chip in enumerate(info.devices):
        chip_id = chip.chip_id or 0
        device = device_map.get(f"{chip.npu_id}:{chip_id}")
        if device is None:
            device = chip.device_id if chip.device_id is not None else index
        reading = CardReading(
            npu_id=chip.npu_id,
            chip_id=chip_id,
            device=device,
            chip_name=chip.name,
            bus_id=chip.bus_id or "",
            health=chip.health or "Unknown",
            hbm_used_mb=chip.hbm_used_mb,
            hbm_total_mb=chip.hbm_total_mb,
            aicore_pct=chip.aicore_pct if chip.aicore_pct is not None else chip.npu_util_pct,
            temp_c=chip.temp_c,
            power_w=chip.power_w,
        )
        cards.append(reading)
        by_chip[(chip.npu_id, chip_id)] = reading
    for proc in info.processes:
        holder = by_chip.get((proc.npu_id, proc.chip_id or 0))
        if holder is not None:
            holder.processes.append(
                {"pid": proc.pid, "name": proc.name, "memory_mb": proc.memory_mb}
            )
    return cards


def holders_script(pids: list[int]) -> str:
    """Second round trip: which container each process and each davinci device belongs to."""
    fmt = '{{.Id}}\t{{.Name}}\t{{.State.Pid}}\t{{index .Config.Labels "npufleet.managed"}}\t'
    fmt += "{{range .HostConfig.Devices}}{{.PathOnHost}} {{end}}\t"
    fmt += '{{index .Config.Labels "npufleet.booking"}}'
    lines = [
        f"echo '{MARK}containers'",
        "ids=$(docker ps -q 2>/dev/null); "
        f'[ -n "$ids" ] && docker inspect --format {shlex.quote(fmt)} $ids',
        f"echo '{MARK}cgroups'",
    ]
    for pid in sorted(set(pids)):
        lines.append(
            f"printf '%s ' {int(pid)}; tr '\\n' ' ' < /proc/{int(pid)}/cgroup 2>/dev/null; echo"
        )
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Container:
    """A running container on the node."""

    id: str
    name: str
    pid: int
    managed: bool
    devices: tuple[str, ...]
    booking: str = ""


def _label(text: str) -> str:
    """A label's value; docker's template prints '<no value>' for a missing one."""
    text = text.strip()
    return "" if text == "<no value>" else text


def parse_holders(output: str) -> tuple[list[Container], dict[int, str]]:
    """Containers with their devices, and process id → container id from cgroups."""
    sec = split_sections(output)
    containers = []
    for line in sec.get("containers", "").splitlines():
        cols = line.split("\t")
        if len(cols) < 5 or not cols[0]:
            continue
        containers.append(
            Container(
                id=cols[0],
                name=cols[1].lstrip("/"),
                pid=_int(cols[2]) or 0,
                managed=_label(cols[3]).lower() in ("1", "true", "yes"),
                devices=tuple(cols[4].split()),
                booking=_label(cols[5]) if len(cols) > 5 else "",
            )
        )
    owners: dict[int, str] = {}
    for line in sec.get("cgroups", "").splitlines():
        pid_text, _, cgroup = line.partition(" ")
        if not pid_text.isdigit():
            continue
        for container in containers:
            if container.id in cgroup:
                owners[int(pid_text)] = container.id
    for container in containers:
        owners.setdefault(container.pid, container.id)
    return containers, owners


def attribute(
    cards: list[CardReading], containers: list[Container], owners: dict[int, str], device_dir: str
) -> dict[int, list[dict[str, Any]]]:
    """Mark each process with its container; return device → containers holding /dev/davinciN."""
    by_id = {c.id: c for c in containers}
    for card in cards:
        for proc in card.processes:
            container = by_id.get(owners.get(int(proc["pid"]), ""))
            proc["container"] = container.name if container else ""
            proc["container_id"] = container.id[:12] if container else ""
            proc["managed"] = bool(container and container.managed)
            if container and container.booking:
                proc["booking"] = container.booking
    holders: dict[int, list[dict[str, Any]]] = {}
    prefix = device_dir.rstrip("/") + "/davinci"
    for container in containers:
        for path in container.devices:
            if path.startswith(prefix) and path[len(prefix) :].isdigit():
                entry = {
                    "id": container.id[:12],
                    "name": container.name,
                    "managed": container.managed,
                }
                if container.booking:
                    entry["booking"] = container.booking
                holders.setdefault(int(path[len(prefix) :]), []).append(entry)
    return holders
