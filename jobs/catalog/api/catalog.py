"""Catalog endpoints: every table readable by anyone signed in, changed by site admins only."""

from __future__ import annotations

import django_filters
from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from fleet.api.permissions import AdminWritesOthersRead
from jobs.catalog.api.catalog_serializers import (
    AscendSpeedSerializer,
    BaseImageSerializer,
    CardRequirementSerializer,
    CatalogLineSerializer,
    CatalogLinesQuerySerializer,
    LlamaFactorySerializer,
    ModelAliasSerializer,
    ModelSupportSerializer,
    SoftwareStackSerializer,
    VllmVersionCreateSerializer,
    VllmVersionSerializer,
)
from jobs.catalog.choices import SupportColumn
from jobs.catalog.models import (
    AscendSpeedSetting,
    BaseImage,
    CardRequirement,
    CatalogRow,
    LlamaFactorySetting,
    ModelAlias,
    ModelSupport,
    SoftwareStack,
    VllmVersion,
)
from jobs.catalog.services import catalog_edits
from jobs.catalog.services.catalog import DbCatalog, catalog_lines


class CatalogTableViewSet(viewsets.ModelViewSet):
    """A catalog table: reads for everyone signed in; admins add, edit and delete rows."""

    permission_classes = [AdminWritesOthersRead]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    table = ""
    model: type[CatalogRow] = CardRequirement

    def get_queryset(self):
        return self.model.objects.visible_to(self.request.user).select_related("edited_by")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = catalog_edits.add_row(self.request.user, self.table, data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = catalog_edits.update_row(self.request.user, serializer.instance, data)

    def perform_destroy(self, instance):
        catalog_edits.delete_row(self.request.user, instance)


class CardRequirementFilter(django_filters.FilterSet):
    vllm_version = django_filters.CharFilter(field_name="version__version")
    model = django_filters.CharFilter(lookup_expr="icontains")
    card_gb = django_filters.ChoiceFilter(
        choices=[(32, "32"), (64, "64")], method="filter_card_gb", label="Supported on"
    )
    cards = django_filters.NumberFilter(method="filter_cards", label="Runs on at most N cards")

    class Meta:
        model = CardRequirement
        fields = ["vllm_version", "model", "card_gb", "cards"]

    def filter_card_gb(self, queryset, name, value):
        return queryset.filter(**{f"min_cards_{value}__isnull": False})

    def filter_cards(self, queryset, name, value):
        gb = self.data.get("card_gb")
        if gb in ("32", "64"):
            return queryset.filter(**{f"min_cards_{gb}__lte": value})
        return queryset.filter(Q(min_cards_32__lte=value) | Q(min_cards_64__lte=value))


class CardRequirementViewSet(CatalogTableViewSet):
    """The card-count table (seed 000): minimum cards and max-model-len (K) on 32/64 GB cards."""

    serializer_class = CardRequirementSerializer
    filterset_class = CardRequirementFilter
    table, model = "card", CardRequirement

    def get_queryset(self):
        return super().get_queryset().select_related("version")


class ModelSupportFilter(django_filters.FilterSet):
    vllm_version = django_filters.CharFilter(field_name="version__version")
    model = django_filters.CharFilter(lookup_expr="icontains")
    quantization = django_filters.ChoiceFilter(
        choices=SupportColumn.choices, method="filter_quantization", label="Marked √"
    )

    class Meta:
        model = ModelSupport
        fields = ["vllm_version", "model", "quantization"]

    def filter_quantization(self, queryset, name: str, value: str):
        return queryset.filter(**{ModelSupport.COLUMNS[value]: True})


class ModelSupportViewSet(CatalogTableViewSet):
    """The supported-model tables (vLLM 0.6.0 seed 000, 0.6.3 seed 002) with weight URLs."""

    serializer_class = ModelSupportSerializer
    filterset_class = ModelSupportFilter
    table, model = "support", ModelSupport

    def get_queryset(self):
        return super().get_queryset().select_related("version")


class ModelAliasViewSet(CatalogTableViewSet):
    """Model spellings that differ between tables, mapped to one family key."""

    serializer_class = ModelAliasSerializer
    filterset_fields = ["family"]
    table, model = "alias", ModelAlias


class BaseImageViewSet(CatalogTableViewSet):
    """Base container images the manuals name."""

    serializer_class = BaseImageSerializer
    table, model = "image", BaseImage


class SoftwareStackViewSet(CatalogTableViewSet):
    """Software versions the manuals pin (AscendCloud, vLLM, CANN, driver)."""

    serializer_class = SoftwareStackSerializer
    filterset_fields = ["vllm"]
    table, model = "software", SoftwareStack


class AscendSpeedViewSet(CatalogTableViewSet):
    """AscendSpeed recommended TP/PP/MBS/nodes (seed 002, 124 rows)."""

    serializer_class = AscendSpeedSerializer
    filterset_fields = ["model", "strategy", "seq_len", "family"]
    table, model = "ascendspeed", AscendSpeedSetting


class LlamaFactoryViewSet(CatalogTableViewSet):
    """LLaMA-Factory recommended cards, DeepSpeed ZeRO stage and gradient accumulation."""

    serializer_class = LlamaFactorySerializer
    filterset_fields = ["model", "deepspeed"]
    table, model = "llamafactory", LlamaFactorySetting


class VllmVersionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """vLLM versions; admins add one, optionally as a copy of another version's rows."""

    serializer_class = VllmVersionSerializer
    permission_classes = [AdminWritesOthersRead]
    lookup_field = "version"
    lookup_value_regex = r"[0-9][0-9.]*"

    def get_queryset(self):
        return (
            VllmVersion.objects.visible_to(self.request.user)
            .select_related("card_table_fallback", "quant_table_fallback")
            .annotate(
                card_row_count=Count("card_rows", distinct=True),
                support_row_count=Count("support_rows", distinct=True),
            )
            .order_by("position", "version")
        )

    @extend_schema(request=VllmVersionCreateSerializer, responses={201: VllmVersionSerializer})
    def create(self, request, *args, **kwargs):
        body = VllmVersionCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        new = catalog_edits.add_vllm_version(request.user, **body.validated_data)
        fresh = self.get_queryset().get(pk=new.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)


class CatalogModelsViewSet(viewsets.GenericViewSet):
    """The models of a vLLM version, card-table row beside supported-model row, filterable."""

    serializer_class = CatalogLineSerializer
    filter_backends: list = []

    @extend_schema(parameters=[CatalogLinesQuerySerializer])
    def list(self, request):
        query = CatalogLinesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = dict(query.validated_data)
        lines = catalog_lines(DbCatalog(), data.pop("vllm_version"), **data)
        page = self.paginate_queryset(lines)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
