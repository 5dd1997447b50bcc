"""The catalog planning reads: typed tables, at run time built from the database rows."""

# Planning functions take the catalog as an argument. Callers that hold one (a request's
# DbCatalog, or a stand-in in tests) pass it; `resolve(None)` builds the database's, so the rows
# are the one source at run time (the shipped JSON only seeds them).

from __future__ import annotations

from typing import Protocol

from jobs.catalog.data import AscendSpeedRow, CardRow, LlamaFactoryRow, QuantRow


class CatalogSource(Protocol):
    """The catalog tables planning reads (jobs.catalog.tables.DbCatalog is the run-time one)."""

    def vllm_versions(self) -> tuple[str, ...]: ...
    def card_versions(self) -> tuple[str, ...]: ...
    def card_table(self, version: str | None = None) -> tuple[CardRow, ...]: ...
    def quant_versions(self) -> tuple[str, ...]: ...
    def quant_table(self, version: str) -> tuple[QuantRow, ...]: ...
    def fallback_version(self, table: str, version: str) -> str | None: ...
    def resolve_model(self, name: str) -> str: ...
    def ascendspeed_table(self) -> tuple[AscendSpeedRow, ...]: ...
    def llamafactory_table(self) -> tuple[LlamaFactoryRow, ...]: ...


def resolve(catalog: CatalogSource | None) -> CatalogSource:
    """The given catalog, else the one the database rows make."""
    if catalog is not None:
        return catalog
    from jobs.catalog.tables import DbCatalog  # models need the app registry, so not at import

    return DbCatalog()
