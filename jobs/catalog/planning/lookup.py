"""Catalog lookups for planning: version fallbacks, card limits, quantization support."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from jobs.catalog import data
from jobs.catalog.data import CardRow, EnvRequirement, QuantFlag, QuantRow
from jobs.catalog.planning.source import CatalogSource


def normalize_version(version: str) -> str:
    """'v0.6.0' -> '0.6.0'."""
    return version.strip().lower().removeprefix("v")


def card_version(catalog: CatalogSource, version: str) -> str | None:
    """The card table used for a vLLM version (itself, or the documented fallback)."""
    if version in catalog.card_versions():
        return version
    return catalog.fallback_version("card_table", version)


def quant_version(catalog: CatalogSource, version: str) -> str | None:
    """The supported-model table used for a vLLM version (itself, or the fallback)."""
    if version in catalog.quant_versions():
        return version
    return catalog.fallback_version("quant_table", version)


def card_rows(catalog: CatalogSource, key: str, version: str) -> tuple[CardRow, ...]:
    """All card-table rows of a model family for a vLLM version (after fallback)."""
    table = card_version(catalog, version)
    if table is None:
        return ()
    return tuple(r for r in catalog.card_table(table) if r.key == key)


def quant_row(catalog: CatalogSource, key: str, version: str) -> QuantRow | None:
    """The supported-model row of a family for a vLLM version (after fallback)."""
    table = quant_version(catalog, version)
    if table is None:
        return None
    return next((r for r in catalog.quant_table(table) if r.key == key), None)


def known_keys(catalog: CatalogSource, version: str) -> set[str]:
    """Every model key the tables list for a vLLM version."""
    keys: set[str] = set()
    cv = card_version(catalog, version)
    if cv:
        keys |= {r.key for r in catalog.card_table(cv)}
    qv = quant_version(catalog, version)
    if qv:
        keys |= {r.key for r in catalog.quant_table(qv)}
    return keys


def versions_listing(catalog: CatalogSource, key: str) -> list[str]:
    """vLLM versions whose tables list the model."""
    return [v for v in catalog.vllm_versions() if key in known_keys(catalog, v)]


def close_matches(catalog: CatalogSource, key: str, version: str) -> list[str]:
    """Known model keys that look like a mistyped one."""
    return difflib.get_close_matches(key, sorted(known_keys(catalog, version)), n=3, cutoff=0.6)


def quantization_flags() -> tuple[QuantFlag, ...]:
    """Scheme -> vLLM `--quantization` value: fixed by vLLM and the manuals, not a table."""
    return data.quantization_flags()


def env_requirements() -> tuple[EnvRequirement, ...]:
    """Environment variables the manuals require per model: fixed facts, not a table."""
    return data.env_requirements()


def scheme_of(value: str | None) -> str | None:
    """Scheme name or vLLM flag -> scheme (W4A16/W8A8/W8A16); KeyError when unknown."""
    if value is None:
        return None
    low = value.strip().lower()
    for flag in quantization_flags():
        if low in (flag.scheme.lower(), flag.flag.lower()):
            return flag.scheme
    raise KeyError(value)


def flag_of(scheme: str) -> str:
    """The `--quantization` value for a scheme (W8A8 -> smoothquant)."""
    for flag in quantization_flags():
        if flag.scheme == scheme:
            return flag.flag
    raise KeyError(scheme)


def row_label(row: CardRow, version_label: str | None = None) -> str:
    """'seed 000 table 1 (vLLM 0.6.0) row 5 llama2-13b'."""
    return f"{row.source.cite(version_label or row.vllm_version)} {row.model}"


@dataclass(frozen=True)
class Limit:
    """What the card table says for one family on one card size."""

    card_gb: int
    min_cards: int | None
    max_model_len_k: int | None
    cards_cite: str
    len_cite: str

    @property
    def supported(self) -> bool:
        """False when the table prints '-' for this card size."""
        return self.min_cards is not None

    @property
    def max_model_len(self) -> int | None:
        """The length in tokens (K = 1024)."""
        return None if self.max_model_len_k is None else self.max_model_len_k * 1024


def applicable_rows(rows: tuple[CardRow, ...], scheme: str | None) -> tuple[CardRow, ...]:
    """Rows that apply to a quantization: variant rows (…-AWQ) only with their scheme."""
    return tuple(r for r in rows if r.variant_quantization in (None, scheme))


def limit_for(rows: tuple[CardRow, ...], card_gb: int) -> Limit | None:
    """The stricter limit over a family's rows (the 0.6.0 table lists mixtral twice)."""
    if not rows:
        return None
    cells = [(r, r.cell(card_gb)) for r in rows]
    unsupported = [r for r, c in cells if not c.supported]
    if unsupported:
        cite = row_label(unsupported[0])
        return Limit(card_gb, None, None, cite, cite)
    by_cards = max(cells, key=lambda rc: (rc[1].min_cards, -(rc[1].max_model_len_k or 0)))
    by_len = min(cells, key=lambda rc: rc[1].max_model_len_k or 0)
    return Limit(
        card_gb=card_gb,
        min_cards=by_cards[1].min_cards,
        max_model_len_k=by_len[1].max_model_len_k,
        cards_cite=row_label(by_cards[0]),
        len_cite=row_label(by_len[0]),
    )
