"""Catalog serializers: each table's rows with their provenance (read-only) and editable values."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobs.catalog.choices import CARD_TABLE_GB
from jobs.catalog.data import CardRow, QuantRow
from jobs.catalog.models import (
    AscendSpeedSetting,
    BaseImage,
    CardRequirement,
    LlamaFactorySetting,
    ModelAlias,
    ModelSupport,
    SoftwareStack,
    VllmVersion,
)

# The model's VERSION_RE ends in `$`; input is matched to its very end.
VERSION_INPUT_RE = r"^[0-9]+\.[0-9]+(?:\.[0-9]+)?\Z"
PROVENANCE = ("seed", "seed_line", "seed_table", "printed", "provenance", "origin", "edited_at")


class CatalogRowSerializer(serializers.ModelSerializer):
    """Provenance columns are read-only; the service stamps them."""

    origin = serializers.CharField(read_only=True, help_text="Provenance plus the last edit.")
    edited_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Null: never edited."
    )

    class Meta:
        read_only_fields = PROVENANCE

    @classmethod
    def meta(cls, model: type, fields: tuple[str, ...]) -> Any:  # a Meta class built at run time
        """A Meta for a table: its fields, the provenance columns, id and edited_by."""
        return type(
            "Meta",
            (),
            {
                "model": model,
                "fields": ("id", *fields, *PROVENANCE, "edited_by", "note"),
                "read_only_fields": PROVENANCE,
            },
        )


def _version_field() -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        source="version", slug_field="version", queryset=VllmVersion.objects.all()
    )


class CardRequirementSerializer(CatalogRowSerializer):
    vllm_version = _version_field()

    class Meta(CatalogRowSerializer.Meta):
        model = CardRequirement
        fields = (
            "id",
            "vllm_version",
            "row",
            "model",
            "min_cards_32",
            "max_model_len_k_32",
            "min_cards_64",
            "max_model_len_k_64",
            *PROVENANCE,
            "edited_by",
            "note",
        )
        extra_kwargs = {"row": {"required": False}}
        validators: list = []  # uniqueness of (version, row) is checked by the service


class ModelSupportSerializer(CatalogRowSerializer):
    vllm_version = _version_field()

    class Meta(CatalogRowSerializer.Meta):
        model = ModelSupport
        fields = (
            "id",
            "vllm_version",
            "row",
            "model",
            "fp16_bf16",
            "w4a16",
            "w8a8",
            "w8a16",
            "kv_cache_int8",
            "weights_text",
            "weight_urls",
            *PROVENANCE,
            "edited_by",
            "note",
        )
        extra_kwargs = {"row": {"required": False}}
        validators: list = []  # uniqueness of (version, row) is checked by the service


class ModelAliasSerializer(CatalogRowSerializer):
    Meta = CatalogRowSerializer.meta(ModelAlias, ("family", "spelling", "quantization", "seen_in"))


class BaseImageSerializer(CatalogRowSerializer):
    Meta = CatalogRowSerializer.meta(
        BaseImage,
        ("image", "repository", "tag", "purpose", "versions", "versions_printed", "context"),
    )


class SoftwareStackSerializer(CatalogRowSerializer):
    Meta = CatalogRowSerializer.meta(
        SoftwareStack, ("doc", "ascendcloud", "packages", "vllm", "cann", "driver", "dtypes")
    )


class AscendSpeedSerializer(CatalogRowSerializer):
    Meta = CatalogRowSerializer.meta(
        AscendSpeedSetting,
        (
            "row",
            "sub_row",
            "family",
            "model",
            "strategy",
            "seq_len",
            "tp",
            "pp",
            "mbs",
            "nodes",
            "cards_per_node",
            "inconsistent",
        ),
    )


class LlamaFactorySerializer(CatalogRowSerializer):
    Meta = CatalogRowSerializer.meta(
        LlamaFactorySetting,
        (
            "row",
            "model",
            "template",
            "size",
            "model_keys",
            "strategies",
            "cutoff_len",
            "gradient_accumulation_steps",
            "deepspeed",
            "zero_stage",
            "offload",
            "nodes",
            "cards_per_node",
            "merged_cells",
        ),
    )


class VllmVersionSerializer(serializers.ModelSerializer):
    card_table_fallback: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="version", read_only=True, allow_null=True
    )
    quant_table_fallback: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="version", read_only=True, allow_null=True
    )
    card_rows = serializers.IntegerField(read_only=True, source="card_row_count")
    support_rows = serializers.IntegerField(read_only=True, source="support_row_count")

    class Meta:
        model = VllmVersion
        fields = (
            "version",
            "position",
            "card_table_fallback",
            "quant_table_fallback",
            "fallback_note",
            "card_rows",
            "support_rows",
            "provenance",
            "note",
        )
        read_only_fields = fields


class VllmVersionCreateSerializer(serializers.Serializer):
    version = serializers.RegexField(
        VERSION_INPUT_RE,
        max_length=20,
        error_messages={"invalid": "Use a version number like 0.6.3."},
    )
    copy_from: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="version",
        queryset=VllmVersion.objects.all(),
        required=False,
        allow_null=True,
        help_text="Start with a copy of this version's card-table and model-table rows.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class CatalogLinesQuerySerializer(serializers.Serializer):
    vllm_version = serializers.CharField(default="0.6.0")
    card_gb = serializers.ChoiceField(choices=CARD_TABLE_GB, required=False)
    cards = serializers.IntegerField(min_value=1, max_value=64, required=False)
    quantization = serializers.ChoiceField(
        choices=["fp16_bf16", "W4A16", "W8A8", "W8A16", "kv_cache_int8"], required=False
    )
    search = serializers.CharField(required=False, default="", allow_blank=True)


def card_row_dict(row: CardRow | None) -> dict[str, Any] | None:
    """A card-table row with both cells and its citation."""
    if row is None:
        return None
    return {
        "row": row.row,
        "model": row.model,
        "vllm_version": row.vllm_version,
        "cells": {
            str(gb): {
                "min_cards": row.cell(gb).min_cards,
                "max_model_len_k": row.cell(gb).max_model_len_k,
            }
            for gb in CARD_TABLE_GB
        },
        "quantized_checkpoint": row.variant_quantization,
        "cite": row.source.cite(row.vllm_version),
    }


def support_row_dict(row: QuantRow | None) -> dict[str, Any] | None:
    """A supported-model row with its √/x columns and weight URLs."""
    if row is None:
        return None
    return {
        "row": row.row,
        "model": row.model,
        "vllm_version": row.vllm_version,
        "support": dict(row.support),
        "weight_urls": list(row.weight_urls),
        "weights_text": row.weights_text,
        "cite": row.source.cite(row.vllm_version),
    }


class CardCellSerializer(serializers.Serializer):
    min_cards = serializers.IntegerField(allow_null=True, help_text="Null: the manual prints '-'.")
    max_model_len_k = serializers.IntegerField(allow_null=True)


class CardRowSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    model = serializers.CharField()
    vllm_version = serializers.CharField()
    cells = serializers.DictField(child=CardCellSerializer(), help_text="By card GB: 32, 64.")
    quantized_checkpoint = serializers.CharField(allow_null=True)
    cite = serializers.CharField()


class SupportRowSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    model = serializers.CharField()
    vllm_version = serializers.CharField()
    support = serializers.DictField(child=serializers.BooleanField(), help_text="Column → √.")
    weight_urls = serializers.ListField(child=serializers.CharField())
    weights_text = serializers.CharField()
    cite = serializers.CharField()


class CatalogLineSerializer(serializers.Serializer):
    """One model of a vLLM version: its card-table row and supported-model row."""

    model = serializers.CharField()
    key = serializers.CharField()
    card_row = serializers.SerializerMethodField()
    support = serializers.SerializerMethodField()

    @extend_schema_field(CardRowSerializer(allow_null=True))
    def get_card_row(self, line: Any) -> dict[str, Any] | None:
        return card_row_dict(line.card)

    @extend_schema_field(SupportRowSerializer(allow_null=True))
    def get_support(self, line: Any) -> dict[str, Any] | None:
        return support_row_dict(line.support)
