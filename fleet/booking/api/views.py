"""Booking endpoints: bookings, availability, timeline, cordons, audit, notifications, teams.

Members act for their own teams only; people outside a team see other teams' bookings only as
busy time in the availability answer and the timeline. Writes go through fleet.booking services.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_filters
from django.db.models import Prefetch, Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from fleet.api.fields import as_id
from fleet.booking import permissions
from fleet.booking.api.serializers import (
    AuditEntrySerializer,
    AvailabilityQuerySerializer,
    AvailabilitySerializer,
    BookingCreateSerializer,
    BookingSerializer,
    BookingUpdateSerializer,
    CancelSerializer,
    CardLineSerializer,
    CordonedNodeSerializer,
    CordonResultSerializer,
    CordonSerializer,
    ExtendSerializer,
    MarkedSerializer,
    NotificationSerializer,
    OptionSerializer,
    TeamDetailSerializer,
    TeamSerializer,
    TeamUpdateSerializer,
    TimelineQuerySerializer,
    TimelineSerializer,
)
from fleet.booking.choices import AuditObject
from fleet.booking.models import AuditEntry, Booking, Notification
from fleet.booking.services import bookings, cordon, teams
from fleet.booking.services.availability import find_available, node_timeline
from fleet.errors import Invalid
from fleet.models import Card, Node


class IsSiteAdmin(BasePermission):
    message = "Only site admins may do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_superuser)


class IsSiteOrTeamAdmin(BasePermission):
    message = "Only site admins and team admins may read the audit log."

    def has_permission(self, request, view) -> bool:
        return permissions.is_any_team_admin(request.user)


class BookingViewSet(viewsets.ModelViewSet):
    """Bookings of your teams (every team's for site admins). DELETE cancels (kept as history)."""

    serializer_class = BookingSerializer
    filterset_fields = ["team", "node", "status"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return Booking.objects.visible_to(self.request.user).with_cards().order_by("-start", "-pk")

    def _reply(self, booking: Booking, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=booking.pk)
        return Response(BookingSerializer(fresh, context=self.get_serializer_context()).data, code)

    @extend_schema(request=BookingCreateSerializer, responses={201: BookingSerializer})
    def create(self, request, *args, **kwargs):
        """Book cards: `cards` by device number, or `count` for the allocator to choose."""
        body = BookingCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = body.validated_data
        booking = bookings.book_cards(
            request.user,
            team=data["team"],
            node=data["node"],
            start=data["start"],
            end=data["end"],
            purpose=data["purpose"],
            devices=data.get("cards"),
            count=data.get("count"),
            override_reason=data.get("override_reason", ""),
        )
        return self._reply(booking, status.HTTP_201_CREATED)

    @extend_schema(request=BookingUpdateSerializer, responses=BookingSerializer)
    def partial_update(self, request, *args, **kwargs):
        """Change purpose, end, node or cards of a live booking (cards are re-checked)."""
        booking = self.get_object()
        body = BookingUpdateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = body.validated_data
        booking = bookings.change_booking(
            request.user,
            booking,
            purpose=data.get("purpose"),
            end=data.get("end"),
            node=data.get("node"),
            devices=data.get("cards"),
            count=data.get("count"),
            override_reason=data.get("override_reason", ""),
            reason=data.get("reason", ""),
        )
        return self._reply(booking)

    def perform_destroy(self, instance):
        bookings.cancel_booking(self.request.user, instance)

    @extend_schema(request=CancelSerializer, responses=BookingSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel the booking, with an optional reason; its cards are free from now on."""
        body = CancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        booking = bookings.cancel_booking(
            request.user, self.get_object(), reason=body.validated_data.get("reason", "")
        )
        return self._reply(booking)

    @extend_schema(request=ExtendSerializer, responses=BookingSerializer)
    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None):
        """Move the end later, when the booked cards are free until then."""
        body = ExtendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        booking = bookings.extend_booking(
            request.user,
            self.get_object(),
            body.validated_data["end"],
            override_reason=body.validated_data.get("override_reason", ""),
        )
        return self._reply(booking)


class AvailabilityViewSet(viewsets.ViewSet):
    """The earliest window with N free cards for H hours, per node, earliest first."""

    @extend_schema(parameters=[AvailabilityQuerySerializer], responses=AvailabilitySerializer)
    def list(self, request):
        query = AvailabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        nodes = None
        if data.get("nodes"):
            names = [n.strip() for n in data["nodes"].split(",") if n.strip()]
            ids = [pk for pk in map(as_id, names) if pk is not None]
            visible = Node.objects.visible_to(request.user)
            nodes = list(visible.filter(pk__in=ids) | visible.filter(name__in=names))
            if not nodes:
                raise Invalid(f"No node named {data['nodes']!r}.", field="nodes")
        answer = find_available(
            request.user,
            count=data["count"],
            hours=data["hours"],
            earliest=data.get("earliest"),
            nodes=nodes,
        )
        return Response(
            {
                "count": data["count"],
                "hours": data["hours"],
                "options": OptionSerializer(answer.options, many=True).data,
                "unavailable": answer.unavailable,
            }
        )


class TimelineViewSet(viewsets.GenericViewSet):
    """A node's cards with the bookings holding them; other teams' bookings show as busy."""

    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return Node.objects.visible_to(self.request.user)

    @extend_schema(parameters=[TimelineQuerySerializer], responses=TimelineSerializer)
    def retrieve(self, request, pk=None):
        node = self.get_object()
        query = TimelineQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start = query.validated_data.get("start") or timezone.now()
        end = start + timedelta(hours=query.validated_data["hours"])
        lines = node_timeline(request.user, node, start, end)
        return Response(
            {
                "node": node.pk,
                "node_name": node.name,
                "cordoned": node.cordoned,
                "cordon_reason": node.cordon_reason,
                "start": start,
                "end": end,
                "cards": CardLineSerializer(lines, many=True).data,
            }
        )


class CordonViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Site admins: what is cordoned; cordon or release a node or some of its cards."""

    serializer_class = CordonedNodeSerializer
    permission_classes = [IsSiteAdmin]

    def get_queryset(self):
        cordoned_cards = Card.objects.filter(cordoned=True).values("node_id")
        return Node.objects.filter(Q(cordoned=True) | Q(pk__in=cordoned_cards)).prefetch_related(
            Prefetch("cards", Card.objects.order_by("device"))
        )

    @extend_schema(request=CordonSerializer, responses={201: CordonResultSerializer})
    def create(self, request):
        """Cordon a node (no `cards`) or some of its cards; lists the bookings left on it."""
        body = CordonSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = cordon.cordon(
            request.user, data["node"], devices=data.get("cards"), reason=data.get("reason", "")
        )
        return Response(
            {
                "node": result.node.name,
                "cards": result.devices,
                "affected_bookings": BookingSerializer(result.affected, many=True).data,
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=CordonSerializer, responses={200: CordonedNodeSerializer})
    @action(detail=False, methods=["post"])
    def release(self, request):
        """Return a node (no `cards`) or some of its cards to booking."""
        body = CordonSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        node = cordon.uncordon(
            request.user, data["node"], devices=data.get("cards"), reason=data.get("reason", "")
        )
        return Response(CordonedNodeSerializer(node).data)


def audit_teams(request):
    """Teams whose entries the caller may filter by: a team admin's own, every team for site
    admins (another team's id is refused like an unknown one, so ids reveal nothing)."""
    return permissions.admin_teams(getattr(request, "user", None))


class AuditEntryFilter(django_filters.FilterSet):
    team = django_filters.ModelChoiceFilter(queryset=audit_teams)
    object_type = django_filters.ChoiceFilter(
        choices=AuditObject.choices, help_text="What the entries are about."
    )
    object_id = django_filters.CharFilter(help_text="With object_type: one object's entries.")
    actor = django_filters.CharFilter(
        method="filter_actor",
        help_text="Who acted: a username or user id; 'automatic' for the system's own actions.",
    )
    since = django_filters.IsoDateTimeFilter(
        field_name="at", lookup_expr="gte", help_text="Entries at or after this moment (ISO 8601)."
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="at", lookup_expr="lt", help_text="Entries before this moment (ISO 8601)."
    )

    class Meta:
        model = AuditEntry
        fields = ["action", "object_type", "object_id", "team", "booking", "node", "actor"]

    def filter_actor(self, queryset, name, value):
        return queryset.by_actor(value)


class AuditEntryViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit log: every team's for site admins, their own team's for team admins.

    Filter by object type (and id), team, actor, action and time (`since`, `until`).
    """

    serializer_class = AuditEntrySerializer
    permission_classes = [IsSiteOrTeamAdmin]
    filterset_class = AuditEntryFilter

    def get_queryset(self):
        return AuditEntry.objects.visible_to(self.request.user).select_related(
            "actor", "team", "node", "card"
        )


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Messages to your teams: warnings before the end, releases, cancellations, cordons."""

    serializer_class = NotificationSerializer
    filterset_fields = ["team", "read", "kind"]

    def get_queryset(self):
        return Notification.objects.visible_to(self.request.user).select_related("team")

    @extend_schema(request=None, responses=MarkedSerializer)
    @action(detail=False, methods=["post"], url_path="mark-read")
    def mark_read(self, request):
        """Mark all of your teams' notifications read."""
        marked = self.get_queryset().filter(read=False).update(read=True)
        return Response({"marked": marked})


class TeamViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Your teams, your role in each, quotas and usage; admins change quotas and webhooks."""

    serializer_class = TeamSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return permissions.teams_of(self.request.user)

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        user = self.request.user
        if user.is_authenticated:
            context["roles"] = permissions.roles(user)
        return context

    @extend_schema(responses=TeamDetailSerializer)
    def retrieve(self, request, *args, **kwargs):
        from fleet.booking.services.quotas import team_usage

        team = self.get_object()
        team.usage = team_usage(team, timezone.now())
        return Response(TeamDetailSerializer(team, context=self.get_serializer_context()).data)

    @extend_schema(request=TeamUpdateSerializer, responses=TeamSerializer)
    def partial_update(self, request, *args, **kwargs):
        team = self.get_object()
        body = TeamUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        team = teams.update_team(request.user, team, **body.validated_data)
        return Response(self.get_serializer(team).data)


__all__ = [
    "AuditEntryViewSet",
    "AvailabilityViewSet",
    "BookingViewSet",
    "CordonViewSet",
    "NotificationViewSet",
    "TeamViewSet",
    "TimelineViewSet",
]
