"""Serializers of bookings, availability, cordons, audit, notifications and teams: shape only."""

from __future__ import annotations

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from fleet.models import AuditEntry, Booking, Node, Notification, Team


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 moment that must carry its UTC offset (or Z)."""

    default_error_messages = {
        "naive": "Give the time with its offset, e.g. 2025-06-01T09:00:00+08:00 or ...Z.",
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            parsed = parse_datetime(value.strip())
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        return super().to_internal_value(value)


@extend_schema_field(OpenApiTypes.STR)
class PkOrNameField(serializers.RelatedField):
    """A related object by id, or by its slug/name field."""

    def __init__(self, lookup: str, **kwargs) -> None:
        self.lookup = lookup
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        text = str(data).strip()
        key = {"pk": int(text)} if text.isdigit() else {self.lookup: text}
        try:
            return self.get_queryset().get(**key)
        except self.get_queryset().model.DoesNotExist:
            kind = self.get_queryset().model._meta.verbose_name
            raise serializers.ValidationError(f"No {kind} {text!r}.") from None

    def to_representation(self, value):
        return value.pk


class VisibleNodeField(PkOrNameField):
    """A node the requesting user can see."""

    def __init__(self, **kwargs) -> None:
        super().__init__("name", **kwargs)

    def get_queryset(self):
        return Node.objects.visible_to(self.context["request"].user)


class BookingSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True)
    node_name = serializers.CharField(source="node.name", read_only=True)
    cards = serializers.ListField(
        source="devices", child=serializers.IntegerField(), read_only=True
    )
    created_by = serializers.CharField(source="created_by.username", read_only=True, default="")

    class Meta:
        model = Booking
        fields = [
            "id",
            "team",
            "team_name",
            "node",
            "node_name",
            "cards",
            "start",
            "end",
            "purpose",
            "status",
            "ended_at",
            "end_reason",
            "allocation_note",
            "override_reason",
            "deployment_seen_at",
            "containers_stopped_at",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CardsOrCountMixin(serializers.Serializer):
    cards = serializers.ListField(
        child=serializers.IntegerField(min_value=0),
        required=False,
        allow_empty=False,
        help_text="Device numbers N of /dev/davinciN; or give `count`.",
    )
    count = serializers.IntegerField(
        min_value=1, required=False, help_text="How many cards the allocator should pick."
    )


class BookingCreateSerializer(CardsOrCountMixin):
    team = PkOrNameField("slug", queryset=Team.objects.all(), help_text="Team id or slug.")
    node = VisibleNodeField(help_text="Node id or name.")
    start = AwareDateTimeField()
    end = AwareDateTimeField()
    purpose = serializers.CharField(max_length=200)
    override_reason = serializers.CharField(
        max_length=300, required=False, allow_blank=True, help_text="Site admins: quota override."
    )

    def validate(self, attrs):
        if ("cards" in attrs) == ("count" in attrs):
            raise serializers.ValidationError({"cards": "Give either `cards` or `count`."})
        return attrs


class BookingUpdateSerializer(CardsOrCountMixin):
    purpose = serializers.CharField(max_length=200, required=False)
    end = AwareDateTimeField(required=False)
    node = VisibleNodeField(required=False, help_text="Move to this node (id or name).")
    override_reason = serializers.CharField(max_length=300, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)

    def validate(self, attrs):
        if "cards" in attrs and "count" in attrs:
            raise serializers.ValidationError({"cards": "Give either `cards` or `count`."})
        return attrs


class ExtendSerializer(serializers.Serializer):
    end = AwareDateTimeField()
    override_reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class AvailabilityQuerySerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=1)
    hours = serializers.FloatField(min_value=0.01)
    earliest = AwareDateTimeField(required=False)
    nodes = serializers.CharField(
        required=False, help_text="Comma-separated node ids or names (default: the whole fleet)."
    )


class OptionSerializer(serializers.Serializer):
    node = serializers.IntegerField(source="node.pk")
    node_name = serializers.CharField(source="node.name")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    cards = serializers.ListField(source="devices", child=serializers.IntegerField())
    reason = serializers.CharField()


class TimelineQuerySerializer(serializers.Serializer):
    start = AwareDateTimeField(required=False)
    hours = serializers.IntegerField(min_value=1, max_value=24 * 31, default=48)


class SegmentSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    team = serializers.CharField()
    booking = serializers.IntegerField(source="booking_id", allow_null=True)
    mine = serializers.BooleanField()


class CardLineSerializer(serializers.Serializer):
    card = serializers.IntegerField(source="card.pk")
    device = serializers.IntegerField(source="card.device")
    health = serializers.CharField(source="card.health")
    cordoned = serializers.BooleanField(source="card.cordoned")
    blocker = serializers.CharField(allow_null=True)
    segments = SegmentSerializer(many=True)


class CordonSerializer(serializers.Serializer):
    node = VisibleNodeField(help_text="Node id or name.")
    cards = serializers.ListField(
        child=serializers.IntegerField(min_value=0),
        required=False,
        allow_empty=False,
        help_text="Device numbers; leave out to cordon the whole node.",
    )
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class CordonedNodeSerializer(serializers.ModelSerializer):
    cordoned_cards = serializers.SerializerMethodField()

    class Meta:
        model = Node
        fields = ["id", "name", "cordoned", "cordon_reason", "cordoned_cards"]
        read_only_fields = fields

    def get_cordoned_cards(self, node: Node) -> list[dict]:
        return [
            {"device": c.device, "reason": c.cordon_reason} for c in node.cards.all() if c.cordoned
        ]


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None, read_only=True)
    team_name = serializers.CharField(source="team.name", default=None, read_only=True)
    node_name = serializers.CharField(source="node.name", default=None, read_only=True)
    card_device = serializers.IntegerField(source="card.device", default=None, read_only=True)

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "actor",
            "action",
            "summary",
            "reason",
            "changes",
            "team",
            "team_name",
            "booking",
            "node",
            "node_name",
            "card",
            "card_device",
        ]
        read_only_fields = fields


class NotificationSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "team", "team_name", "booking", "kind", "text", "created_at", "read"]
        read_only_fields = fields


class TeamSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = [
            "id",
            "name",
            "slug",
            "role",
            "max_cards",
            "max_card_hours_per_week",
            "webhook_url",
        ]
        read_only_fields = ["id", "name", "slug", "role"]

    def get_role(self, team: Team) -> str | None:
        roles = self.context.get("roles", {})
        return roles.get(
            team.pk, "site admin" if self.context["request"].user.is_superuser else None
        )


class TeamUpdateSerializer(serializers.Serializer):
    max_cards = serializers.IntegerField(min_value=0, required=False)
    max_card_hours_per_week = serializers.IntegerField(min_value=0, required=False)
    webhook_url = serializers.CharField(max_length=200, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)
