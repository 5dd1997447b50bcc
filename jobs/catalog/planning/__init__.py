"""Validation of inference and training recipes against the catalog tables."""

# Messages are {level: error|warning, field, message, fix}. The card table gives the minimum
# cards and the max-model-len measured AT that minimum; that length is treated as the
# guaranteed floor for any card count at or above the minimum: asking for more is a warning
# (more cards usually fit more, but the seeds only measured the minimum), never an error.

from __future__ import annotations

from dataclasses import replace

from jobs.catalog.planning.alternatives import suggest_alternatives
from jobs.catalog.planning.inference import check_recipe
from jobs.catalog.planning.memory import card_memory_gb, table_column
from jobs.catalog.planning.source import CatalogSource, resolve
from jobs.catalog.planning.training import check_training
from jobs.catalog.planning.types import (
    ERROR,
    WARNING,
    Alternative,
    Message,
    Mount,
    NodeFacts,
    RecipeSpec,
    TrainingSpec,
)

__all__ = [
    "ERROR",
    "WARNING",
    "Alternative",
    "CatalogSource",
    "Message",
    "Mount",
    "NodeFacts",
    "RecipeSpec",
    "TrainingSpec",
    "card_memory_gb",
    "check_recipe",
    "check_training",
    "has_errors",
    "suggest_alternatives",
    "table_column",
    "validate_recipe",
    "validate_training",
]

# Findings on these fields can be fixed by another card count, card size, length or scheme.
_TABLE_FIELDS = {"tensor_parallel_size", "model", "max_model_len", "quantization", "node", "cards"}


def validate_recipe(
    spec: RecipeSpec,
    node: NodeFacts,
    cards: int | None = None,
    *,
    catalog: CatalogSource | None = None,
) -> list[Message]:
    """Findings for an inference recipe; table findings list passing alternatives in the fix.

    `catalog` is the database's (jobs.catalog.tables.DbCatalog) unless one is given."""
    catalog = resolve(catalog)
    messages = check_recipe(spec, node, cards, catalog=catalog)
    if not any(m.field in _TABLE_FIELDS for m in messages):
        return messages
    options = [a.description for a in suggest_alternatives(spec, node, catalog)]
    if not options:
        return messages
    extra = ". Alternatives that pass: " + "; ".join(options) + "."
    return [replace(m, fix=m.fix + extra) if m.field in _TABLE_FIELDS else m for m in messages]


def validate_training(
    spec: TrainingSpec,
    node: NodeFacts | None = None,
    *,
    catalog: CatalogSource | None = None,
) -> list[Message]:
    """Findings for a training recipe (AscendSpeed or LLaMA-Factory), against `catalog` or the
    database's."""
    return check_training(spec, node, catalog)


def has_errors(messages: list[Message]) -> bool:
    """True when any message is an error."""
    return any(m.level == ERROR for m in messages)
