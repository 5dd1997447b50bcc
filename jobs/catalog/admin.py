"""Django admin for the catalog (edits stamp their provenance) and recipes (versions read-only)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin

from jobs.catalog.models import (
    AscendSpeedSetting,
    BaseImage,
    CardRequirement,
    LlamaFactorySetting,
    ModelAlias,
    ModelSupport,
    Recipe,
    RecipeVersion,
    SoftwareStack,
    VllmVersion,
)
from jobs.catalog.services import catalog_edits

PROVENANCE = ("seed", "seed_line", "seed_table", "printed", "provenance", "edited_by", "edited_at")


class CatalogAdmin(admin.ModelAdmin):
    """Only site admins change the catalog; each save records who changed what."""

    readonly_fields = PROVENANCE
    search_fields: ClassVar[tuple[str, ...]] = ("model",)

    def has_add_permission(self, request: Any) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return request.user.is_superuser

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        values = {name: getattr(obj, name) for name in form.changed_data}
        table = next(k for k, v in catalog_edits.EDITABLE.items() if v is type(obj))
        if change:
            saved = catalog_edits.update_row(request.user, obj, values)
        else:
            values = {f: form.cleaned_data[f] for f in form.cleaned_data if f not in PROVENANCE}
            saved = catalog_edits.add_row(request.user, table, values)
        obj.pk = saved.pk

    def delete_model(self, request: Any, obj: Any) -> None:
        catalog_edits.delete_row(request.user, obj)


@admin.register(CardRequirement)
class CardRequirementAdmin(CatalogAdmin):
    list_display: tuple[str, ...] = ("model", "version", "row", "min_cards_32")
    list_display += ("max_model_len_k_32", "min_cards_64", "max_model_len_k_64", "provenance")
    list_filter = ("version",)


@admin.register(ModelSupport)
class ModelSupportAdmin(CatalogAdmin):
    list_display: tuple[str, ...] = ("model", "version", "row", "fp16_bf16")
    list_display += ("w4a16", "w8a8", "w8a16", "kv_cache_int8")
    list_filter = ("version",)


@admin.register(ModelAlias)
class ModelAliasAdmin(CatalogAdmin):
    list_display = ("spelling", "family", "quantization", "provenance")
    search_fields = ("spelling", "family")


@admin.register(BaseImage)
class BaseImageAdmin(CatalogAdmin):
    list_display = ("image", "purpose", "provenance")
    search_fields = ("image",)


@admin.register(SoftwareStack)
class SoftwareStackAdmin(CatalogAdmin):
    list_display = ("doc", "ascendcloud", "vllm", "cann", "driver")
    search_fields = ("doc",)


@admin.register(AscendSpeedSetting)
class AscendSpeedAdmin(CatalogAdmin):
    list_display = ("model", "strategy", "seq_len", "tp", "pp", "mbs", "nodes", "cards_per_node")
    list_filter = ("family",)


@admin.register(LlamaFactorySetting)
class LlamaFactoryAdmin(CatalogAdmin):
    list_display: tuple[str, ...] = ("model", "size", "deepspeed")
    list_display += ("gradient_accumulation_steps", "nodes", "cards_per_node")


@admin.register(VllmVersion)
class VllmVersionAdmin(admin.ModelAdmin):
    list_display = ("version", "position", "card_table_fallback", "quant_table_fallback")
    readonly_fields = ("provenance",)

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return request.user.is_superuser


class VersionInline(admin.TabularInline):
    model = RecipeVersion
    fields: ClassVar[tuple[str, ...]] = ("number", "model", "vllm_version")
    fields += ("tensor_parallel_size", "created_by", "created_at", "change_note")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Recipe)
class RecipeAdmin(admin.ModelAdmin):
    """Recipes change through the recipe pages and API (each edit makes a version)."""

    list_display = ("name", "kind", "team", "current_version", "archived", "created_by")
    list_filter = ("kind", "archived", "team")
    readonly_fields = ("current_version", "created_by", "kind", "team")
    inlines = [VersionInline]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(RecipeVersion)
class RecipeVersionAdmin(admin.ModelAdmin):
    """Versions are immutable: viewable, never changed."""

    list_display = ("recipe", "number", "model", "vllm_version", "created_by", "created_at")

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
