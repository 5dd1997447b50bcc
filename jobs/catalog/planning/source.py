"""Where planning reads its tables: the shipped seed JSON by default, or an injected catalog."""

# The Django layer keeps an admin-editable copy of the catalog in the database; it builds an
# object with the same functions as jobs.catalog.data and activates it for one validation with
# `using(...)` (or the `catalog=` argument of validate_recipe / validate_training). A context
# variable keeps concurrent requests (threads or async tasks) from seeing each other's source.

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from jobs.catalog import data as catalog_data
from jobs.catalog.data import (
    AscendSpeedRow,
    CardRow,
    EnvRequirement,
    LlamaFactoryRow,
    QuantFlag,
    QuantRow,
)


class CatalogSource(Protocol):
    """The catalog functions planning calls (jobs.catalog.data itself is one)."""

    def vllm_versions(self) -> tuple[str, ...]: ...
    def card_versions(self) -> tuple[str, ...]: ...
    def card_table(self, version: str | None = None) -> tuple[CardRow, ...]: ...
    def quant_versions(self) -> tuple[str, ...]: ...
    def quant_table(self, version: str) -> tuple[QuantRow, ...]: ...
    def fallback_version(self, table: str, version: str) -> str | None: ...
    def resolve_model(self, name: str) -> str: ...
    def quantization_flags(self) -> tuple[QuantFlag, ...]: ...
    def env_requirements(self) -> tuple[EnvRequirement, ...]: ...
    def ascendspeed_table(self) -> tuple[AscendSpeedRow, ...]: ...
    def llamafactory_table(self) -> tuple[LlamaFactoryRow, ...]: ...


_active: ContextVar[CatalogSource | None] = ContextVar("planning_catalog", default=None)


def active() -> CatalogSource:
    """The catalog in effect: the injected one, else the seed JSON."""
    return _active.get() or catalog_data


@contextmanager
def using(source: CatalogSource | None) -> Iterator[None]:
    """Run planning against `source` inside the block (None keeps the current one)."""
    if source is None:
        yield
        return
    token = _active.set(source)
    try:
        yield
    finally:
        _active.reset(token)


class _Active:
    """Forwards attribute access to the active catalog, so planning modules read one name."""

    def __getattr__(self, name: str) -> Any:
        return getattr(active(), name)


catalog: Any = _Active()
