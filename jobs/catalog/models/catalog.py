"""The catalog from the manuals, as admin-editable rows that keep their provenance."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from jobs.catalog.choices import SupportColumn

VERSION_RE = r"^[0-9]+\.[0-9]+(\.[0-9]+)?$"


class CatalogQuerySet(models.QuerySet):
    def visible_to(self, user) -> CatalogQuerySet:
        """Everyone signed in reads the catalog; anonymous users read nothing."""
        if not user.is_authenticated:
            return self.none()
        return self


class CatalogRow(models.Model):
    """Where a row came from (seed file, line, table, printed text) and who changed it since."""

    seed = models.CharField(max_length=60, blank=True, help_text="Seed file; blank if added.")
    seed_line = models.PositiveIntegerField(null=True, blank=True)
    seed_table = models.CharField(max_length=200, blank=True, help_text="Table title as printed.")
    printed = models.TextField(blank=True, help_text="The row as the seed prints it.")
    provenance = models.CharField(max_length=300, help_text="Seed citation or who added it.")
    note = models.TextField(blank=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    edited_at = models.DateTimeField(null=True, blank=True)

    objects = CatalogQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def from_seed(self) -> bool:
        """True for rows transcribed from a manual (not added by an admin)."""
        return bool(self.seed)

    @property
    def origin(self) -> str:
        """Provenance plus the last edit, e.g. 'seed 000 table 1 row 5, edited by alice …'."""
        if self.edited_at is None:
            return self.provenance
        who = self.edited_by.get_username() if self.edited_by else "a deleted user"
        return f"{self.provenance}, edited by {who} on {self.edited_at:%Y-%m-%d}"


class VllmVersion(CatalogRow):
    """A vLLM version the catalog covers, with the version whose table stands in when missing."""

    version = models.CharField(
        max_length=20,
        unique=True,
        validators=[RegexValidator(VERSION_RE, "Use a version number like 0.6.3.")],
    )
    position = models.PositiveIntegerField(default=0, help_text="Order of the card tables.")
    card_table_fallback = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    quant_table_fallback = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fallback_note = models.TextField(blank=True)

    class Meta:
        db_table = "jobs_vllmversion"
        ordering = ["position", "version"]

    def __str__(self) -> str:
        return f"vLLM {self.version}"


def _both_or_neither(gb: int) -> models.CheckConstraint:
    """A card-table cell holds both numbers, or neither when the seed prints '-'."""
    cards, length = f"min_cards_{gb}", f"max_model_len_k_{gb}"
    return models.CheckConstraint(
        condition=Q(**{f"{cards}__isnull": True, f"{length}__isnull": True})
        | Q(**{f"{cards}__gte": 1, f"{length}__gte": 1}),
        name=f"card_cell_{gb}_both_or_neither",
    )


class CardRequirement(CatalogRow):
    """A row of the card-count table: minimum cards and max-model-len (K) on 32 and 64 GB."""

    version = models.ForeignKey(VllmVersion, on_delete=models.CASCADE, related_name="card_rows")
    row = models.PositiveIntegerField(help_text="序号 in the table.")
    model = models.CharField(max_length=100, help_text="As the table spells it.")
    min_cards_32 = models.PositiveSmallIntegerField(null=True, blank=True)
    max_model_len_k_32 = models.PositiveIntegerField(null=True, blank=True)
    min_cards_64 = models.PositiveSmallIntegerField(null=True, blank=True)
    max_model_len_k_64 = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        db_table = "jobs_cardrequirement"
        ordering = ["version__position", "row"]
        constraints = [
            models.UniqueConstraint(fields=["version", "row"], name="card_row_unique"),
            *[_both_or_neither(gb) for gb in (32, 64)],
        ]

    def __str__(self) -> str:
        return f"{self.model} (vLLM {self.version.version} row {self.row})"

    def cell(self, card_gb: int) -> tuple[int | None, int | None]:
        """(min cards, max-model-len K) for 32 or 64 GB cards; (None, None) for '-'."""
        return getattr(self, f"min_cards_{card_gb}"), getattr(self, f"max_model_len_k_{card_gb}")


class ModelSupport(CatalogRow):
    """A row of the supported-model table: √/x per precision and quantization, weight URLs."""

    version = models.ForeignKey(VllmVersion, on_delete=models.CASCADE, related_name="support_rows")
    row = models.PositiveIntegerField()
    model = models.CharField(max_length=100)
    fp16_bf16 = models.BooleanField(default=True)
    w4a16 = models.BooleanField(default=False)
    w8a8 = models.BooleanField(default=False)
    w8a16 = models.BooleanField(default=False)
    kv_cache_int8 = models.BooleanField(default=False)
    weights_text = models.TextField(blank=True)
    weight_urls = models.JSONField(default=list, blank=True)

    COLUMNS: ClassVar[dict[str, str]] = {
        SupportColumn.FP16_BF16: "fp16_bf16",
        SupportColumn.W4A16: "w4a16",
        SupportColumn.W8A8: "w8a8",
        SupportColumn.W8A16: "w8a16",
        SupportColumn.KV_CACHE_INT8: "kv_cache_int8",
    }

    class Meta:
        db_table = "jobs_modelsupport"
        ordering = ["version__position", "row"]
        constraints = [
            models.UniqueConstraint(fields=["version", "row"], name="support_row_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.model} (vLLM {self.version.version} row {self.row})"

    def support(self) -> dict[str, bool]:
        """The √/x columns keyed as the seed JSON keys them (fp16_bf16, W4A16, …)."""
        return {str(column): getattr(self, attr) for column, attr in self.COLUMNS.items()}


class ModelAlias(CatalogRow):
    """A spelling of a model family; with a quantization, it names that quantized checkpoint."""

    family = models.CharField(max_length=100, help_text="Canonical key, lower case.")
    spelling = models.CharField(max_length=100)
    quantization = models.CharField(max_length=10, blank=True)
    seen_in = models.JSONField(default=list, blank=True)

    class Meta:
        db_table = "jobs_modelalias"
        ordering = ["family", "spelling"]
        verbose_name_plural = "model aliases"
        constraints = [
            models.UniqueConstraint(Lower("spelling"), name="alias_spelling_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.spelling} -> {self.family}"


class BaseImage(CatalogRow):
    """A base container image a manual names, with its CANN / PyTorch / Python versions."""

    image = models.CharField(max_length=400)
    repository = models.CharField(max_length=300)
    tag = models.CharField(max_length=200)
    purpose = models.CharField(max_length=200, blank=True)
    versions = models.JSONField(default=dict, blank=True)
    versions_printed = models.CharField(max_length=200, blank=True)
    context = models.CharField(max_length=300, blank=True)

    class Meta:
        db_table = "jobs_baseimage"
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.image


class SoftwareStack(CatalogRow):
    """The software one manual pins: AscendCloud bundle, vLLM, CANN and driver versions."""

    doc = models.CharField(max_length=300)
    ascendcloud = models.CharField(max_length=40)
    packages = models.JSONField(default=list, blank=True)
    vllm = models.CharField(max_length=20, blank=True)
    cann = models.CharField(max_length=40, blank=True)
    driver = models.CharField(max_length=40, blank=True)
    dtypes = models.JSONField(default=list, blank=True)

    class Meta:
        db_table = "jobs_softwarestack"
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.doc} ({self.ascendcloud})"


class AscendSpeedSetting(CatalogRow):
    """A recommended AscendSpeed TP / PP / micro-batch / nodes setting (seed 002 表2)."""

    row = models.PositiveIntegerField()
    sub_row = models.PositiveIntegerField(default=1)
    family = models.CharField(max_length=60)
    model = models.CharField(max_length=100)
    strategy = models.CharField(max_length=40, help_text="pretrain, sft, lora or pretrain/sft.")
    seq_len = models.PositiveIntegerField()
    tp = models.PositiveSmallIntegerField()
    pp = models.PositiveSmallIntegerField()
    mbs = models.PositiveSmallIntegerField()
    nodes = models.PositiveSmallIntegerField()
    cards_per_node = models.PositiveSmallIntegerField()
    inconsistent = models.TextField(blank=True, help_text="Why the seed row cannot be applied.")

    class Meta:
        db_table = "jobs_ascendspeedsetting"
        ordering = ["row", "sub_row"]
        constraints = [
            models.UniqueConstraint(fields=["row", "sub_row"], name="ascendspeed_row_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.strategy} {self.seq_len}"


class LlamaFactorySetting(CatalogRow):
    """A recommended LLaMA-Factory cards / ZeRO / gradient accumulation setting (seed 002 表1)."""

    row = models.PositiveIntegerField(unique=True)
    model = models.CharField(max_length=60)
    template = models.CharField(max_length=60)
    size = models.CharField(max_length=20)
    model_keys = models.JSONField(default=list)
    strategies = models.JSONField(default=list)
    cutoff_len = models.JSONField(default=list)
    gradient_accumulation_steps = models.PositiveIntegerField()
    deepspeed = models.CharField(max_length=20)
    zero_stage = models.PositiveSmallIntegerField()
    offload = models.BooleanField(default=False)
    nodes = models.PositiveSmallIntegerField()
    cards_per_node = models.PositiveSmallIntegerField()
    merged_cells = models.JSONField(default=list, blank=True)

    class Meta:
        db_table = "jobs_llamafactorysetting"
        ordering = ["row"]

    def __str__(self) -> str:
        return f"{self.model} {self.size}"
