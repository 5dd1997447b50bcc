"""Node, card and sample endpoints: thin views over querysets and services."""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from fleet.api.permissions import AdminWritesOthersRead
from fleet.api.serializers import (
    AcceptHostKeySerializer,
    CardSampleSerializer,
    CardSerializer,
    NodeSerializer,
    PreflightSerializer,
    QueuedSerializer,
    SeriesSerializer,
)
from fleet.dispatch import PROBE_NODE, enqueue
from fleet.errors import Invalid
from fleet.holders import redact_cards
from fleet.models import Card, CardSample, Node
from fleet.services import nodes, probing, samples


class NodeViewSet(viewsets.ModelViewSet):
    """DevServer nodes. Everyone signed in reads; site admins onboard, edit and delete."""

    serializer_class = NodeSerializer
    permission_classes = [AdminWritesOthersRead]
    filterset_fields = {"status": ["exact"], "name": ["exact", "icontains"]}

    def get_queryset(self):
        present = Prefetch("cards", Card.objects.filter(present=True), to_attr="present_cards")
        return Node.objects.visible_to(self.request.user).prefetch_related(present)

    def perform_create(self, serializer):
        serializer.instance = nodes.register_node(
            actor=self.request.user, values=dict(serializer.validated_data)
        )

    def perform_update(self, serializer):
        serializer.instance = nodes.update_node(
            serializer.instance, actor=self.request.user, values=dict(serializer.validated_data)
        )

    def perform_destroy(self, instance):
        nodes.delete_node(instance, actor=self.request.user)

    @extend_schema(
        request=None,
        responses={200: NodeSerializer, 202: QueuedSerializer},
        parameters=[OpenApiParameter("wait", bool, description="Probe now and return the node.")],
    )
    @action(detail=True, methods=["post"])
    def probe(self, request, pk=None):
        """Probe the node now (full inventory); `?wait=1` waits for the result."""
        node = self.get_object()
        if request.query_params.get("wait") in ("1", "true", "yes"):
            probing.probe_node(node.pk, full=True)
            return Response(self.get_serializer(self.get_queryset().get(pk=node.pk)).data)
        enqueue(PROBE_NODE, node.pk, True)
        return Response({"detail": f"probe of {node.name} queued"}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=NodeSerializer)
    @action(detail=True, methods=["post"], url_path="scan-host-key")
    def scan_host_key(self, request, pk=None):
        """Read the key the node offers now, for review (nothing is trusted)."""
        node = nodes.scan_host_key(self.get_object())
        return Response(self.get_serializer(node).data)

    @extend_schema(request=AcceptHostKeySerializer, responses=NodeSerializer)
    @action(detail=True, methods=["post"], url_path="accept-host-key")
    def accept_host_key(self, request, pk=None):
        """Pin the reviewed host key; the node is probed right after."""
        body = AcceptHostKeySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        node = nodes.accept_host_key(
            self.get_object(),
            actor=request.user,
            fingerprint=body.validated_data["fingerprint"],
            jump_fingerprint=body.validated_data["jump_fingerprint"],
        )
        enqueue(PROBE_NODE, node.pk, True)
        return Response(self.get_serializer(node).data)

    @extend_schema(responses=PreflightSerializer)
    @action(detail=True, methods=["get"])
    def preflight(self, request, pk=None):
        """The node's preflight checklist from its last probe, with fix commands."""
        node = self.get_object()
        return Response(
            {"node": node.name, "checked_at": node.preflight_at, "checks": node.preflight}
        )


class CardFilter(django_filters.FilterSet):
    chip = django_filters.CharFilter(field_name="chip_name")
    used = django_filters.BooleanFilter(method="filter_used", label="Held by a process")

    class Meta:
        model = Card
        fields = ["node", "health", "chip", "used", "cordoned", "present"]

    def filter_used(self, queryset, name, value):
        return queryset.exclude(processes=[]) if value else queryset.filter(processes=[])


class CardViewSet(viewsets.ReadOnlyModelViewSet):
    """NPU cards of the fleet, filterable by node, health, chip and free/used."""

    serializer_class = CardSerializer
    filterset_class = CardFilter

    def get_queryset(self):
        return Card.objects.visible_to(self.request.user).select_related("node")

    @extend_schema(
        parameters=[OpenApiParameter("range", str, enum=list(samples.RANGES))],
        responses=SeriesSerializer,
    )
    @action(detail=True, methods=["get"])
    def series(self, request, pk=None):
        """The card's HBM, AICore, temperature and power over 1h, 24h or 7d."""
        range_name = request.query_params.get("range", "1h")
        if range_name not in samples.RANGES:
            raise Invalid(f"range must be one of {', '.join(samples.RANGES)}", field="range")
        card = self.get_object()
        return Response(
            {"card": card.pk, "range": range_name, "points": samples.series(card, range_name)}
        )

    # Defined last: in the class body, `list` names this method from here on.
    def list(self, request, *args, **kwargs):
        """Cards; other teams' processes and containers show only as busy."""
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = redact_cards(request.user, page if page is not None else queryset)
        data = self.get_serializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request, *args, **kwargs):
        (card,) = redact_cards(request.user, [self.get_object()])
        return Response(self.get_serializer(card).data)


class CardSampleFilter(django_filters.FilterSet):
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = CardSample
        fields = ["card", "since", "until"]


class CardSampleViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Raw card samples (the time series), newest first."""

    serializer_class = CardSampleSerializer
    filterset_class = CardSampleFilter

    def get_queryset(self):
        cards = Card.objects.visible_to(self.request.user)
        return CardSample.objects.filter(card__in=cards).order_by("-at")
