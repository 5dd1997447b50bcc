"""Preflight: the manuals' "check the environment" step, made permanent (pure functions)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from fleet.choices import CheckStatus

FIX_DRIVER = (
    "Upgrade the NPU firmware and driver to {minimum} or later (manual: 'Install firmware and "
    'driver\'), then check: npu-smi info -t board -i 1 | egrep -i "software|firmware"'
)
FIX_DOCKER = "yum install -y docker-engine.aarch64 docker-engine-selinux.noarch docker-runc.aarch64"
FIX_IP_FORWARD = (
    "sed -i 's/net\\.ipv4\\.ip_forward=0/net\\.ipv4\\.ip_forward=1/g' /etc/sysctl.conf && "
    "sysctl -p | grep net.ipv4.ip_forward"
)
FIX_NPU = (
    "Install the firmware and driver properly, or release the NPU mounted by another container; "
    "check with: npu-smi info -l | grep Total"
)
FIX_FOREIGN = (
    "Release the card: stop the process or container holding it (docker ps; docker stop NAME)"
)
FIX_DISK = "Free space in the weights folder, or mount a larger disk there (check with: df -h)"


@dataclass(frozen=True)
class Check:
    """One preflight line: pass, warn or fail, with the fix when it is not a pass."""

    name: str
    status: str
    message: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def version_key(text: str) -> tuple[int, ...] | None:
    """Orders Ascend driver versions: 23.0.rc3 < 23.0.0 < 23.0.6 < 24.1.rc1 < 24.1.0."""
    parts = text.strip().lower().split(".")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    key = [int(parts[0]), int(parts[1])]
    rest = parts[2:] or ["0"]
    rc = re.fullmatch(r"rc(\d+)", rest[0])
    if rc:
        key += [0, int(rc.group(1))]
    elif rest[0].isdigit():
        key += [1, int(rest[0])]
    else:
        return None
    key += [int(p) for p in rest[1:] if p.isdigit()]
    return tuple(key)


def run_checks(
    facts: dict[str, Any],
    cards: list[dict[str, Any]],
    *,
    npu_smi_error: str,
    expected_cards: int,
    min_driver: str,
    min_free_disk_gb: int,
) -> list[Check]:
    """Every check for a node, from its facts and cards (each card: device, health, processes)."""
    checks = [
        _driver(facts, min_driver),
        _docker(facts),
        _ip_forward(facts),
        _card_count(cards, npu_smi_error, expected_cards),
        _health(cards, npu_smi_error),
        _foreign(cards),
        _disk(facts, min_free_disk_gb),
    ]
    return checks


def _driver(facts: dict[str, Any], minimum: str) -> Check:
    found = facts.get("driver_version") or facts.get("npu_driver_version") or ""
    fix = FIX_DRIVER.format(minimum=minimum)
    if not found:
        return Check("driver", CheckStatus.WARN, "driver version not known yet", fix)
    have, need = version_key(found), version_key(minimum)
    if have is None or need is None:
        return Check(
            "driver", CheckStatus.WARN, f"driver version {found!r} cannot be compared", fix
        )
    if have < need:
        return Check("driver", CheckStatus.FAIL, f"driver {found} is older than {minimum}", fix)
    return Check("driver", CheckStatus.PASS, f"driver {found} (at least {minimum})")


def _docker(facts: dict[str, Any]) -> Check:
    if facts.get("docker_installed"):
        version = facts.get("docker_version") or "installed"
        return Check("docker", CheckStatus.PASS, f"docker {version}")
    return Check("docker", CheckStatus.FAIL, "docker is not installed", FIX_DOCKER)


def _ip_forward(facts: dict[str, Any]) -> Check:
    value = facts.get("ip_forward")
    if value == 1:
        return Check("ip_forward", CheckStatus.PASS, "net.ipv4.ip_forward = 1")
    return Check(
        "ip_forward",
        CheckStatus.FAIL,
        f"net.ipv4.ip_forward = {value}, containers need 1",
        FIX_IP_FORWARD,
    )


def _card_count(cards: list[dict[str, Any]], error: str, expected: int) -> Check:
    if error:
        return Check("cards", CheckStatus.FAIL, f"npu-smi failed: {error}", FIX_NPU)
    if len(cards) != expected:
        return Check(
            "cards", CheckStatus.FAIL, f"{len(cards)} cards visible, {expected} expected", FIX_NPU
        )
    return Check("cards", CheckStatus.PASS, f"{len(cards)} cards visible, as expected")


def _health(cards: list[dict[str, Any]], error: str) -> Check:
    if error:
        return Check("health", CheckStatus.FAIL, "card health unknown: npu-smi failed", FIX_NPU)
    bad = [c for c in cards if c["health"] != "OK"]
    if not bad:
        return Check("health", CheckStatus.PASS, "every card reports Health OK")
    listed = ", ".join(f"davinci{c['device']} {c['health']}" for c in bad)
    worst = CheckStatus.WARN if all(c["health"] == "Warning" for c in bad) else CheckStatus.FAIL
    return Check(
        "health",
        worst,
        f"not OK: {listed}",
        "Inspect the card: npu-smi info -t health -i <NPU ID>; cordon it until it is repaired",
    )


def _foreign(cards: list[dict[str, Any]]) -> Check:
    held = [
        f"davinci{c['device']} pid {p['pid']} {p.get('name') or '(no name)'}"
        + (f" in container {p['container']}" if p.get("container") else "")
        for c in cards
        for p in c.get("processes", [])
        if not p.get("managed")
    ]
    if held:
        return Check(
            "foreign_processes",
            CheckStatus.FAIL,
            "held outside the dashboard's containers: " + "; ".join(held),
            FIX_FOREIGN,
        )
    return Check("foreign_processes", CheckStatus.PASS, "no card held outside the dashboard")


def _disk(facts: dict[str, Any], minimum_gb: int) -> Check:
    free = facts.get("disk_free_gb")
    where = facts.get("disk_mount") or "weights folder"
    if free is None:
        return Check("disk", CheckStatus.WARN, "free disk unknown", FIX_DISK)
    if free < minimum_gb:
        return Check(
            "disk", CheckStatus.WARN, f"{free} GB free on {where}, want {minimum_gb}", FIX_DISK
        )
    return Check("disk", CheckStatus.PASS, f"{free} GB free on {where}")
