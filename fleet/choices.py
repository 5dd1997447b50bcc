"""Choices and Ascend constants of the fleet app: one home for each."""

from __future__ import annotations

from django.db import models

DEFAULT_DEVICE_DIR = "/dev"
DEFAULT_DRIVER_DIR = "/usr/local/Ascend/driver"
DEFAULT_NPU_SMI_PATH = "/usr/local/sbin/npu-smi"
DEFAULT_INSTALL_INFO_PATH = "/etc/ascend_install.info"
DEFAULT_WEIGHTS_DIR = "/data/models"
# Each team's workspace on a node is <workspace root>/<team slug>.
DEFAULT_WORKSPACE_ROOT = "/data/npufleet/workspaces"
MANAGEMENT_DEVICES = ("davinci_manager", "devmm_svm", "hisi_hdc")
# Docker label set on every container the dashboard starts.
MANAGED_LABEL = "npufleet.managed"

# HBM per card by exact chip name (GB); the card table has 32 GB and 64 GB columns.
CHIP_MEMORY_GB: dict[str, int] = {
    "910B1": 64,
    "910B2": 64,
    "910B3": 64,
    "910B4-1": 64,
    "910B4": 32,
    "910A": 32,
    "310P3": 24,
}


def chip_memory_gb(chip_name: str | None, hbm_total_mb: int | None) -> int | None:
    """HBM per card in GB: from the exact chip name, else from the reported HBM total, else None."""
    if chip_name and chip_name in CHIP_MEMORY_GB:
        return CHIP_MEMORY_GB[chip_name]
    return round(hbm_total_mb / 1024) if hbm_total_mb else None


def device_path(device_dir: str, index: int | str) -> str:
    """`/dev/davinciN` (or a management device) below a node's device folder."""
    name = index if isinstance(index, str) else f"davinci{index}"
    return f"{device_dir.rstrip('/')}/{name}"


class AuthMethod(models.TextChoices):
    KEY = "key", "Private key"
    PASSWORD = "password", "Password"


class NodeStatus(models.TextChoices):
    NEW = "new", "New (host key not accepted)"
    ONLINE = "online", "Online"
    DEGRADED = "degraded", "Degraded"
    UNREACHABLE = "unreachable", "Unreachable"
    HOST_KEY_CHANGED = "host_key_changed", "Host key changed"


# Statuses of a node that stopped answering: what it last reported is no longer current. (A new
# node was never probed, so it has no readings to distrust.)
NOT_ANSWERING = (NodeStatus.UNREACHABLE, NodeStatus.HOST_KEY_CHANGED)


class HostKeyStatus(models.TextChoices):
    UNKNOWN = "unknown", "Not yet seen"
    PENDING = "pending", "Seen, waiting for an admin"
    ACCEPTED = "accepted", "Accepted"
    CHANGED = "changed", "Changed (connection refused)"


class Health(models.TextChoices):
    OK = "OK", "OK"
    WARNING = "Warning", "Warning"
    ALARM = "Alarm", "Alarm"
    CRITICAL = "Critical", "Critical"
    UNKNOWN = "Unknown", "Unknown"


class CheckStatus(models.TextChoices):
    PASS = "pass", "Pass"
    WARN = "warn", "Warn"
    FAIL = "fail", "Fail"


class TeamRole(models.TextChoices):
    ADMIN = "admin", "Team admin"
    MEMBER = "member", "Member"
