"""The catalog's export and browser, read from the database rows (jobs.catalog.tables)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fleet.errors import Invalid
from jobs.catalog.data import CardRow, QuantRow
from jobs.catalog.planning import lookup
from jobs.catalog.tables import DbCatalog, db_source

__all__ = ["CatalogLine", "DbCatalog", "catalog_lines", "db_source", "export_cells"]


def export_cells() -> list[dict[str, Any]]:
    """One dict per card-table cell, as `catalog export --json` prints them."""
    return [
        {
            "model": row.model,
            "vllm_version": row.vllm_version,
            "card_gb": gb,
            "min_cards": row.cell(gb).min_cards,
            "max_model_len_k": row.cell(gb).max_model_len_k,
        }
        for row in DbCatalog().card_table()
        for gb in (32, 64)
    ]


# ------------------------------------------------------------------ browsing


@dataclass(frozen=True)
class CatalogLine:
    """One line of the catalog browser: a card-table row and/or a supported-model row."""

    model: str
    key: str
    card: CardRow | None
    support: QuantRow | None

    @property
    def cite(self) -> str:
        """Where the line comes from: the card-table row, else the supported-model row."""
        row = self.card or self.support
        return row.source.cite(row.vllm_version) if row else ""


def catalog_lines(
    source: DbCatalog,
    version: str,
    *,
    card_gb: int | None = None,
    cards: int | None = None,
    quantization: str | None = None,
    search: str = "",
) -> list[CatalogLine]:
    """The models of a vLLM version, one line per card-table row (both mixtral rows kept)."""
    if version not in source.vllm_versions():
        raise Invalid(f"vLLM {version} is not in the catalog", field="vllm_version")
    card_v, quant_v = lookup.card_version(source, version), lookup.quant_version(source, version)
    card_rows = source.card_table(card_v) if card_v in source.card_versions() else ()
    quant_rows = source.quant_table(quant_v) if quant_v in source.quant_versions() else ()
    support = {r.key: r for r in quant_rows}
    lines = [CatalogLine(r.model, r.key, r, support.get(r.key)) for r in card_rows]
    listed = {r.key for r in card_rows}
    lines += [CatalogLine(s.model, k, None, s) for k, s in support.items() if k not in listed]
    return [line for line in lines if _keep(line, card_gb, cards, quantization, search)]


def _keep(
    line: CatalogLine, card_gb: int | None, cards: int | None, quant: str | None, search: str
) -> bool:
    """Whether a line passes the browser filters."""
    if search and search.lower() not in line.model.lower():
        return False
    if card_gb is not None or cards is not None:
        if line.card is None:
            return False
        cells = [line.card.cell(card_gb)] if card_gb else [line.card.gb32, line.card.gb64]
        fits = [
            c for c in cells if c.min_cards is not None and (cards is None or c.min_cards <= cards)
        ]
        if not fits:
            return False
    if quant:
        variant = line.card.variant_quantization if line.card else None
        marked = line.support is not None and line.support.support.get(quant, False)
        return bool(marked or variant == quant)
    return True
