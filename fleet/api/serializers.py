"""Serializers of nodes, cards and samples: shape only; services decide."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from fleet.choices import AuthMethod, CheckStatus, Health
from fleet.holders import redact_cards
from fleet.models import Card, CardSample, Node

HOLDERS = serializers.ListField(child=serializers.DictField())


class CardSerializer(serializers.ModelSerializer):
    node_name = serializers.CharField(source="node.name", read_only=True)
    used = serializers.BooleanField(source="is_used", read_only=True)
    effective_health = serializers.ChoiceField(
        choices=Health.choices,
        read_only=True,
        help_text="Health as it may be trusted now: Unknown while the node does not answer "
        "(`health` keeps the last reported value).",
    )
    processes = serializers.SerializerMethodField(
        help_text="NPU processes on the card: pid, name, memory_mb, container, booking. Other "
        "teams' show only as {busy, team, managed, memory_mb} (every team's for site admins)."
    )
    containers = serializers.SerializerMethodField(
        help_text="Containers holding /dev/davinciN: id, name, managed, booking. Other teams' "
        "show only as {busy, team, managed}."
    )

    class Meta:
        model = Card
        fields = [
            "id",
            "node",
            "node_name",
            "device",
            "npu_id",
            "chip_id",
            "chip_name",
            "bus_id",
            "health",
            "effective_health",
            "hbm_used_mb",
            "hbm_total_mb",
            "aicore_pct",
            "temp_c",
            "power_w",
            "processes",
            "containers",
            "used",
            "present",
            "cordoned",
            "cordon_reason",
            "updated_at",
        ]
        read_only_fields = fields

    def _shown(self, card: Card, name: str) -> list[dict]:
        """What the caller may see; redacted here when the view did not do it for a page."""
        if not hasattr(card, name):
            request = self.context.get("request")
            redact_cards(getattr(request, "user", None), [card])
        return getattr(card, name)

    @extend_schema_field(HOLDERS)
    def get_processes(self, card: Card) -> list[dict]:
        return self._shown(card, "shown_processes")

    @extend_schema_field(HOLDERS)
    def get_containers(self, card: Card) -> list[dict]:
        return self._shown(card, "shown_containers")


class NodeSerializer(serializers.ModelSerializer):
    """A node; secrets are write-only and never returned."""

    private_key = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        style={"base_template": "textarea.html"},
    )
    passphrase = serializers.CharField(write_only=True, required=False, allow_blank=True)
    password = serializers.CharField(write_only=True, required=False, allow_blank=True)
    # Names and addresses are checked by the service, whose messages say how to fix them.
    name = serializers.CharField(max_length=63)
    auth_method = serializers.ChoiceField(choices=AuthMethod.choices, default=AuthMethod.KEY)
    labels = serializers.ListField(child=serializers.CharField(max_length=63), required=False)
    has_private_key = serializers.SerializerMethodField()
    has_password = serializers.SerializerMethodField()
    card_count = serializers.SerializerMethodField()
    card_memory_gb = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Null until a probe reads the chip."
    )
    jump_host_key_fingerprint = serializers.CharField(read_only=True)
    seen_jump_host_key_fingerprint = serializers.CharField(read_only=True)
    chip_name = serializers.CharField(read_only=True)

    class Meta:
        model = Node
        fields = [
            "id",
            "name",
            "host",
            "port",
            "username",
            "auth_method",
            "private_key",
            "passphrase",
            "password",
            "has_private_key",
            "has_password",
            "jump_host",
            "labels",
            "notes",
            "device_dir",
            "driver_dir",
            "npu_smi_path",
            "install_info_path",
            "weights_dir",
            "workspace_root",
            "expected_cards",
            "network_mode",
            "host_key_fingerprint",
            "host_key_status",
            "seen_host_key_fingerprint",
            "jump_host_key_fingerprint",
            "seen_jump_host_key_fingerprint",
            "status",
            "consecutive_failures",
            "last_error",
            "last_error_kind",
            "last_probe_at",
            "last_seen_at",
            "probe_ms",
            "facts",
            "preflight",
            "preflight_at",
            "cordoned",
            "cordon_reason",
            "chip_name",
            "card_memory_gb",
            "card_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "host_key_fingerprint",
            "host_key_status",
            "seen_host_key_fingerprint",
            "status",
            "consecutive_failures",
            "last_error",
            "last_error_kind",
            "last_probe_at",
            "last_seen_at",
            "probe_ms",
            "facts",
            "preflight",
            "preflight_at",
            "cordoned",
            "cordon_reason",
            "created_at",
            "updated_at",
        ]

    def get_has_private_key(self, node: Node) -> bool:
        return bool(node.private_key)

    def get_has_password(self, node: Node) -> bool:
        return bool(node.password)

    def get_card_count(self, node: Node) -> int:
        cards = getattr(node, "present_cards", None)
        return len(cards) if cards is not None else node.cards.filter(present=True).count()


class AcceptHostKeySerializer(serializers.Serializer):
    jump_fingerprint = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="The bastion's fingerprint (seen_jump_host_key_fingerprint), when it has one.",
    )
    fingerprint = serializers.CharField(
        help_text="The SHA256 fingerprint the admin reviewed (seen_host_key_fingerprint)."
    )


class CardSampleSerializer(serializers.ModelSerializer):
    class Meta:
        model = CardSample
        fields = ["id", "card", "at", "health", "hbm_used_mb", "aicore_pct", "temp_c", "power_w"]
        read_only_fields = fields


class QueuedSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What was queued.")


class PreflightCheckSerializer(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=CheckStatus.choices)
    message = serializers.CharField()
    fix = serializers.CharField(help_text="The command or step that fixes it (blank on a pass).")


class PreflightSerializer(serializers.Serializer):
    node = serializers.CharField(help_text="The node's name.")
    checked_at = serializers.DateTimeField(allow_null=True, help_text="Null: never probed.")
    checks = PreflightCheckSerializer(many=True)


class SamplePointSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    hbm_used_mb = serializers.FloatField(allow_null=True)
    aicore_pct = serializers.FloatField(allow_null=True)
    temp_c = serializers.FloatField(allow_null=True)
    power_w = serializers.FloatField(allow_null=True)


class SeriesSerializer(serializers.Serializer):
    card = serializers.IntegerField()
    range = serializers.CharField()
    points = SamplePointSerializer(many=True, help_text="Averaged per bucket on 24h and 7d.")
