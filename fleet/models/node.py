"""DevServer nodes, their NPU cards and card samples."""

from __future__ import annotations

from django.db import models

from fleet import choices
from fleet.choices import AuthMethod, Health, HostKeyStatus, NodeStatus
from fleet.crypto import EncryptedTextField


class NodeQuerySet(models.QuerySet):
    def visible_to(self, user) -> NodeQuerySet:
        """Every signed-in user sees the fleet's nodes; anonymous users see none."""
        if not user.is_authenticated:
            return self.none()
        return self


class Node(models.Model):
    """One DevServer reached over SSH."""

    name = models.SlugField(max_length=63, unique=True)
    host = models.CharField(max_length=253)
    port = models.PositiveIntegerField(default=22)
    username = models.CharField(max_length=32, default="root")
    auth_method = models.CharField(
        max_length=10, choices=AuthMethod.choices, default=AuthMethod.KEY
    )
    private_key = EncryptedTextField(blank=True, default="")
    passphrase = EncryptedTextField(blank=True, default="")
    password = EncryptedTextField(blank=True, default="")
    jump_host = models.CharField(
        max_length=300, blank=True, help_text="user@host:port of a bastion, same credentials."
    )
    jump_host_key = models.TextField(blank=True, help_text="Accepted bastion key: 'type base64'.")
    seen_jump_host_key = models.TextField(
        blank=True, help_text="Bastion key last offered, awaiting review: 'type base64'."
    )
    labels = models.JSONField(default=list, blank=True)
    notes = models.TextField(blank=True)

    device_dir = models.CharField(max_length=255, default=choices.DEFAULT_DEVICE_DIR)
    driver_dir = models.CharField(max_length=255, default=choices.DEFAULT_DRIVER_DIR)
    npu_smi_path = models.CharField(max_length=255, default=choices.DEFAULT_NPU_SMI_PATH)
    install_info_path = models.CharField(max_length=255, default=choices.DEFAULT_INSTALL_INFO_PATH)
    weights_dir = models.CharField(max_length=255, default=choices.DEFAULT_WEIGHTS_DIR)
    workspace_root = models.CharField(
        max_length=255,
        default=choices.DEFAULT_WORKSPACE_ROOT,
        help_text="Each team's folder on the node is <workspace root>/<team slug>.",
    )
    expected_cards = models.PositiveSmallIntegerField(default=8)
    network_mode = models.CharField(
        max_length=10,
        default="host",
        choices=[("host", "Host network (--net=host)"), ("bridge", "Published port (-p)")],
        help_text="How deployments expose their port; the manuals use the host network.",
    )

    host_key_type = models.CharField(max_length=40, blank=True)
    host_key = models.TextField(blank=True, help_text="Accepted key, base64.")
    host_key_fingerprint = models.CharField(max_length=100, blank=True)
    host_key_status = models.CharField(
        max_length=10, choices=HostKeyStatus.choices, default=HostKeyStatus.UNKNOWN
    )
    seen_host_key_type = models.CharField(max_length=40, blank=True)
    seen_host_key = models.TextField(blank=True, help_text="Last key offered, awaiting review.")
    seen_host_key_fingerprint = models.CharField(max_length=100, blank=True)

    status = models.CharField(max_length=20, choices=NodeStatus.choices, default=NodeStatus.NEW)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_error_kind = models.CharField(max_length=30, blank=True)
    last_probe_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    probe_ms = models.PositiveIntegerField(null=True, blank=True)
    facts = models.JSONField(default=dict, blank=True)
    preflight = models.JSONField(default=list, blank=True)
    preflight_at = models.DateTimeField(null=True, blank=True)
    cordoned = models.BooleanField(default=False)
    cordon_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = NodeQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def jump_host_key_fingerprint(self) -> str:
        """SHA256 fingerprint of the accepted bastion key."""
        return _fingerprint(self.jump_host_key)

    @property
    def seen_jump_host_key_fingerprint(self) -> str:
        """SHA256 fingerprint of the bastion key waiting for review."""
        return _fingerprint(self.seen_jump_host_key)

    @property
    def reachable(self) -> bool:
        """The last probes reached the node (it is online or degraded; see fleet.reachability)."""
        return self.status not in choices.NOT_ANSWERING

    @property
    def chip_name(self) -> str:
        """The chip model of the node's cards, as npu-smi names it."""
        return str(self.facts.get("chip_name", ""))

    @property
    def card_memory_gb(self) -> int | None:
        """HBM per card in GB: from the chip name, else from the reported HBM total."""
        return choices.chip_memory_gb(self.chip_name, self.facts.get("hbm_total_mb"))


def _fingerprint(stored: str) -> str:
    from fleet.remote import HostKey

    return HostKey.parse(stored).fingerprint if stored else ""


class CardQuerySet(models.QuerySet):
    def visible_to(self, user) -> CardQuerySet:
        """Cards of the nodes the user may see."""
        return self.filter(node__in=Node.objects.visible_to(user))


class Card(models.Model):
    """One NPU chip of a node, as npu-smi reports it (`/dev/davinci<device>`)."""

    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="cards")
    npu_id = models.PositiveIntegerField()
    chip_id = models.PositiveIntegerField(default=0)
    device = models.PositiveIntegerField(help_text="N of /dev/davinciN (the chip's logic id).")
    chip_name = models.CharField(max_length=40, blank=True)
    bus_id = models.CharField(max_length=40, blank=True)
    health = models.CharField(max_length=10, choices=Health.choices, default=Health.UNKNOWN)
    hbm_used_mb = models.PositiveIntegerField(null=True, blank=True)
    hbm_total_mb = models.PositiveIntegerField(null=True, blank=True)
    aicore_pct = models.PositiveSmallIntegerField(null=True, blank=True)
    temp_c = models.IntegerField(null=True, blank=True)
    power_w = models.FloatField(null=True, blank=True)
    processes = models.JSONField(default=list, blank=True)
    containers = models.JSONField(
        default=list, blank=True, help_text="Containers holding /dev/davinciN: id, name, managed."
    )
    present = models.BooleanField(default=True, help_text="Seen in the last successful probe.")
    cordoned = models.BooleanField(default=False)
    cordon_reason = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CardQuerySet.as_manager()

    class Meta:
        ordering = ["node", "device"]
        constraints = [
            models.UniqueConstraint(fields=["node", "device"], name="one_card_per_device"),
        ]

    def __str__(self) -> str:
        return f"{self.node.name}/davinci{self.device}"

    @property
    def effective_health(self) -> str:
        """Health as it may be shown: Unknown while the node does not answer."""
        return self.health if self.node.reachable else Health.UNKNOWN

    @property
    def is_used(self) -> bool:
        """A process holds the card."""
        return bool(self.processes)

    @property
    def foreign_processes(self) -> list[dict]:
        """Processes on the card that no dashboard container owns."""
        return [p for p in self.processes if not p.get("managed")]


class CardSample(models.Model):
    """A point of a card's time series."""

    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="samples")
    at = models.DateTimeField(db_index=True)
    health = models.CharField(max_length=10, choices=Health.choices)
    hbm_used_mb = models.PositiveIntegerField(null=True)
    aicore_pct = models.PositiveSmallIntegerField(null=True)
    temp_c = models.IntegerField(null=True)
    power_w = models.FloatField(null=True)

    class Meta:
        ordering = ["card", "at"]
        indexes = [models.Index(fields=["card", "at"], name="sample_card_at")]

    def __str__(self) -> str:
        return f"{self.card} at {self.at:%Y-%m-%d %H:%M:%S}"
