"""The catalog at run time: typed values built from the database rows, in one place."""

# Planning (jobs.catalog.planning) reads its tables from a Catalog; DbCatalog is that catalog built
# from the rows, so admin edits take effect on the next validation. Rows straight from a seed build
# the same records as the seed loader (jobs.catalog.data; tests compare them); added or edited rows
# cite who added or changed them. The scheme -> --quantization flags and the environment variables
# the manuals require are not tables: they come with the code (jobs.catalog.data).

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from jobs.catalog import data
from jobs.catalog.data import (
    AscendSpeedRow,
    CardCell,
    CardRow,
    EnvRequirement,
    LlamaFactoryRow,
    QuantFlag,
    QuantRow,
    Software,
    Source,
)
from jobs.catalog.data import BaseImage as BaseImageRecord
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
from jobs.catalog.models.catalog import CatalogRow


@dataclass(frozen=True)
class DbSource(Source):
    """A Source for rows added or edited in the dashboard: its citation says by whom."""

    added: str = ""
    edited: str = ""

    def cite(self, version: str | None = None) -> str:
        """'catalog (vLLM 0.7.0) row 51, added by alice on …' or the seed cite plus the edit."""
        if self.added:
            ver = f" (vLLM {version})" if version else ""
            sub = f".{self.sub_row}" if self.sub_row is not None else ""
            text = f"catalog{ver} row {self.row}{sub}, {self.added}"
        else:
            text = super().cite(version)
        return f"{text}, {self.edited}" if self.edited else text


def _version_key(number: str) -> tuple[int, ...]:
    """'0.6.3' -> (0, 6, 3) for numeric ordering."""
    return tuple(int(part) for part in number.split(".") if part.isdigit())


def db_source(row: CatalogRow, number: int, sub_row: int | None = None) -> Source:
    """The planning Source of a DB row: a plain seed Source unless added or edited."""
    edited = ""
    if row.edited_at is not None:
        who = row.edited_by.get_username() if row.edited_by else "a deleted user"
        edited = f"edited by {who} on {row.edited_at:%Y-%m-%d}"
    if row.seed and not edited:
        return Source(row.seed, row.seed_line or 0, row.seed_table, number, sub_row)
    added = "" if row.seed else row.provenance
    line = row.seed_line or 0
    return DbSource(row.seed, line, row.seed_table, number, sub_row, added=added, edited=edited)


class DbCatalog:
    """The catalog as the database holds it, as typed records; tables load on first use."""

    @cached_property
    def _versions(self) -> dict[str, VllmVersion]:
        rows = VllmVersion.objects.select_related("card_table_fallback", "quant_table_fallback")
        return {v.version: v for v in rows}

    @cached_property
    def _aliases(self) -> tuple[dict[str, str], dict[str, str]]:
        spellings: dict[str, str] = {}
        variants: dict[str, str] = {}
        for alias in ModelAlias.objects.all():
            spellings[alias.family.lower()] = alias.family
            spellings[alias.spelling.lower()] = alias.family
            if alias.quantization:
                variants[alias.spelling.lower()] = alias.quantization
        return spellings, variants

    def resolve_model(self, name: str) -> str:
        """The family key of a model name, aliases resolved case-insensitively."""
        low = name.strip().lower()
        return self._aliases[0].get(low, low)

    def variant_quantization(self, name: str) -> str | None:
        """The quantization a spelling implies (llama-3.1-405B-AWQ -> W4A16), if any."""
        return self._aliases[1].get(name.strip().lower())

    def vllm_versions(self) -> tuple[str, ...]:
        """Every version in the catalog, oldest first."""
        return tuple(sorted(self._versions, key=_version_key))

    def fallback_version(self, table: str, version: str) -> str | None:
        """The version whose table stands in ('card_table' or 'quant_table')."""
        row = self._versions.get(version)
        other = getattr(row, f"{table}_fallback", None) if row else None
        return other.version if other else None

    @cached_property
    def _card_rows(self) -> tuple[CardRow, ...]:
        rows = CardRequirement.objects.select_related("version", "edited_by")
        return tuple(self._card_row(r) for r in rows.order_by("version__position", "row"))

    def _card_row(self, r: CardRequirement) -> CardRow:
        return CardRow(
            vllm_version=r.version.version,
            row=r.row,
            model=r.model,
            key=self.resolve_model(r.model),
            gb32=CardCell(r.min_cards_32, r.max_model_len_k_32),
            gb64=CardCell(r.min_cards_64, r.max_model_len_k_64),
            printed=r.printed,
            source=db_source(r, r.row),
            variant_quantization=self.variant_quantization(r.model),
            note=r.note or None,
        )

    def card_versions(self) -> tuple[str, ...]:
        """Versions with card-table rows, in table order."""
        return tuple(dict.fromkeys(r.vllm_version for r in self._card_rows))

    def card_table(self, version: str | None = None) -> tuple[CardRow, ...]:
        """Card-table rows of one version (or all)."""
        if version is None:
            return self._card_rows
        if version not in self.card_versions():
            raise KeyError(f"no card table for vLLM {version}")
        return tuple(r for r in self._card_rows if r.vllm_version == version)

    @cached_property
    def _quant_rows(self) -> tuple[QuantRow, ...]:
        rows = ModelSupport.objects.select_related("version", "edited_by")
        return tuple(
            QuantRow(
                vllm_version=r.version.version,
                row=r.row,
                model=r.model,
                key=self.resolve_model(r.model),
                support=r.support(),
                weights_text=r.weights_text,
                weight_urls=tuple(r.weight_urls),
                printed=r.printed,
                source=db_source(r, r.row),
            )
            for r in rows.order_by("version__position", "row")
        )

    def quant_versions(self) -> tuple[str, ...]:
        """Versions with a supported-model table."""
        return tuple(dict.fromkeys(r.vllm_version for r in self._quant_rows))

    def quant_table(self, version: str) -> tuple[QuantRow, ...]:
        """Supported-model rows of one version."""
        if version not in self.quant_versions():
            raise KeyError(f"no model table for vLLM {version}")
        return tuple(r for r in self._quant_rows if r.vllm_version == version)

    def quantization_flags(self) -> tuple[QuantFlag, ...]:
        """Scheme -> --quantization flag (from the manuals, not editable)."""
        return data.quantization_flags()

    def env_requirements(self) -> tuple[EnvRequirement, ...]:
        """Environment variables the manuals require per model (not editable)."""
        return data.env_requirements()

    @cached_property
    def _ascendspeed(self) -> tuple[AscendSpeedRow, ...]:
        return tuple(
            AscendSpeedRow(
                row=r.row,
                sub_row=r.sub_row,
                family=r.family,
                model=r.model,
                key=self.resolve_model(r.model),
                strategy=r.strategy,
                seq_len=r.seq_len,
                tp=r.tp,
                pp=r.pp,
                mbs=r.mbs,
                nodes=r.nodes,
                cards_per_node=r.cards_per_node,
                printed=r.printed,
                source=db_source(r, r.row, r.sub_row),
                inconsistent=r.inconsistent or None,
                note=r.note or None,
            )
            for r in AscendSpeedSetting.objects.select_related("edited_by")
        )

    def ascendspeed_table(self) -> tuple[AscendSpeedRow, ...]:
        """The AscendSpeed recommendations."""
        return self._ascendspeed

    @cached_property
    def _llamafactory(self) -> tuple[LlamaFactoryRow, ...]:
        return tuple(
            LlamaFactoryRow(
                row=r.row,
                model=r.model,
                template=r.template,
                size=r.size,
                model_keys=tuple(self.resolve_model(k) for k in r.model_keys),
                strategies=tuple(r.strategies),
                cutoff_len=tuple(r.cutoff_len),
                gradient_accumulation_steps=r.gradient_accumulation_steps,
                deepspeed=r.deepspeed,
                zero_stage=r.zero_stage,
                offload=r.offload,
                nodes=r.nodes,
                cards_per_node=r.cards_per_node,
                printed=r.printed,
                source=db_source(r, r.row),
                merged_cells=tuple(r.merged_cells),
                note=r.note or None,
            )
            for r in LlamaFactorySetting.objects.select_related("edited_by")
        )

    def llamafactory_table(self) -> tuple[LlamaFactoryRow, ...]:
        """The LLaMA-Factory recommendations."""
        return self._llamafactory

    def base_images(self) -> tuple[BaseImageRecord, ...]:
        """Base images the manuals name."""
        return tuple(
            BaseImageRecord(
                image=i.image,
                repository=i.repository,
                tag=i.tag,
                purpose=i.purpose,
                versions=dict(i.versions),
                versions_printed=i.versions_printed or None,
                context=i.context,
                source=db_source(i, 1),
            )
            for i in BaseImage.objects.select_related("edited_by")
        )

    def software(self) -> tuple[Software, ...]:
        """Software stacks the manuals pin."""
        return tuple(
            Software(
                seed=s.seed,
                doc=s.doc,
                ascendcloud=s.ascendcloud,
                packages=tuple(s.packages),
                vllm=s.vllm or None,
                cann=s.cann or None,
                driver=s.driver or None,
                dtypes=tuple(s.dtypes),
            )
            for s in SoftwareStack.objects.all()
        )
