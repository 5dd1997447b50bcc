"""Serializers of bookings, availability, cordons, audit, notifications and teams: shape only."""

from __future__ import annotations

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from fleet.api.fields import as_id, bounded_float, bounded_int
from fleet.booking.choices import EARLIEST_MOMENT, LATEST_MOMENT, MOMENT_RANGE_TEXT
from fleet.booking.models import AuditEntry, Booking, Notification, Team
from fleet.models import Node

MAX_DEVICE = 255  # /dev/davinciN numbers
MAX_CARDS = 64  # cards in one booking
MAX_HOURS = 24 * 366  # length of a window searched for


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 moment that must carry its UTC offset (or Z), between 2000 and 2100."""

    default_error_messages = {
        "naive": "Give the time with its offset, e.g. 2025-06-01T09:00:00+08:00 or ...Z.",
        "invalid": "Give an ISO 8601 time with its offset, e.g. 2025-06-01T09:00:00+08:00.",
        "overflow": f"Give a time {MOMENT_RANGE_TEXT}.",
        "range": f"Give a time {MOMENT_RANGE_TEXT}.",
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:  # well formed but impossible, e.g. 2025-02-30 or +25:00
                self.fail("invalid")
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        moment = super().to_internal_value(value)
        if not EARLIEST_MOMENT <= moment < LATEST_MOMENT:
            self.fail("range")
        return moment


@extend_schema_field(OpenApiTypes.STR)
class PkOrNameField(serializers.RelatedField):
    """A related object by id, or by its slug/name field."""

    def __init__(self, lookup: str, **kwargs) -> None:
        self.lookup = lookup
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        text = str(data).strip()
        pk = as_id(text)
        key = {"pk": pk} if pk is not None else {self.lookup: text}
        queryset = self.get_queryset()
        assert queryset is not None  # each subclass names its queryset
        try:
            return queryset.get(**key)
        except queryset.model.DoesNotExist:
            kind = queryset.model._meta.verbose_name
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
        child=bounded_int(0, MAX_DEVICE),
        required=False,
        allow_empty=False,
        help_text="Device numbers N of /dev/davinciN; or give `count`.",
    )
    count = bounded_int(1, MAX_CARDS, required=False, help_text="How many cards to pick.")


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
    count = bounded_int(1, MAX_CARDS)
    hours = bounded_float(0.01, MAX_HOURS)
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
    healthy = serializers.BooleanField(
        help_text="The node passes every preflight check and each card reports OK; healthy "
        "nodes are listed first."
    )
    health = serializers.CharField(
        help_text="Why the node is not fully healthy (failing or warning preflight checks, "
        "cards not OK); empty when it is."
    )


@extend_schema_serializer(many=False)  # the answer of a `list` action, but one object
class AvailabilitySerializer(serializers.Serializer):
    """The availability answer: the question, the windows found, and why nodes have none."""

    count = serializers.IntegerField()
    hours = serializers.FloatField()
    options = OptionSerializer(many=True)
    unavailable = serializers.DictField(
        child=serializers.CharField(), help_text="Node name → why it has no window."
    )


class TimelineQuerySerializer(serializers.Serializer):
    start = AwareDateTimeField(required=False)
    hours = bounded_int(1, 24 * 31, default=48)


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


class TimelineSerializer(serializers.Serializer):
    """A node's cards over a window, each with the bookings that hold it."""

    node = serializers.IntegerField()
    node_name = serializers.CharField()
    cordoned = serializers.BooleanField()
    cordon_reason = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    cards = CardLineSerializer(many=True)


class CordonSerializer(serializers.Serializer):
    node = VisibleNodeField(help_text="Node id or name.")
    cards = serializers.ListField(
        child=bounded_int(0, MAX_DEVICE),
        required=False,
        allow_empty=False,
        help_text="Device numbers; leave out to cordon the whole node.",
    )
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class CordonResultSerializer(serializers.Serializer):
    node = serializers.CharField(help_text="The node's name.")
    cards = serializers.ListField(
        child=serializers.IntegerField(), allow_null=True, help_text="Null: the whole node."
    )
    affected_bookings = BookingSerializer(many=True, help_text="Bookings left on what is cordoned.")


class CordonedCardSerializer(serializers.Serializer):
    device = serializers.IntegerField()
    reason = serializers.CharField()


class CordonedNodeSerializer(serializers.ModelSerializer):
    cordoned_cards = serializers.SerializerMethodField()

    class Meta:
        model = Node
        fields = ["id", "name", "cordoned", "cordon_reason", "cordoned_cards"]
        read_only_fields = fields

    @extend_schema_field(CordonedCardSerializer(many=True))
    def get_cordoned_cards(self, node: Node) -> list[dict]:
        return [
            {"device": c.device, "reason": c.cordon_reason} for c in node.cards.all() if c.cordoned
        ]


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(
        source="actor.username", default=None, read_only=True, allow_null=True
    )
    team_name = serializers.CharField(
        source="team.name", default=None, read_only=True, allow_null=True
    )
    node_name = serializers.CharField(
        source="node.name", default=None, read_only=True, allow_null=True
    )
    card_device = serializers.IntegerField(
        source="card.device", default=None, read_only=True, allow_null=True
    )

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "actor",
            "action",
            "object_type",
            "object_id",
            "object_label",
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


class TeamUsageSerializer(serializers.Serializer):
    max_cards = serializers.IntegerField()
    cards_now = serializers.IntegerField()
    max_card_hours_per_week = serializers.IntegerField()
    card_hours_this_week = serializers.FloatField()
    week_start = serializers.DateTimeField()


class TeamDetailSerializer(TeamSerializer):
    """A team with its usage now and this week."""

    usage = TeamUsageSerializer(read_only=True)

    class Meta(TeamSerializer.Meta):
        fields = [*TeamSerializer.Meta.fields, "usage"]
        read_only_fields = [*TeamSerializer.Meta.read_only_fields, "usage"]


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many notifications were marked read.")


class TeamUpdateSerializer(serializers.Serializer):
    max_cards = bounded_int(0, 100_000, required=False)
    max_card_hours_per_week = bounded_int(0, 10_000_000, required=False)
    webhook_url = serializers.CharField(max_length=200, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)
