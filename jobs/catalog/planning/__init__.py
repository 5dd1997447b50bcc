"""Pure validation of inference and training recipes against the seed tables."""

# Messages are {level: error|warning, field, message, fix}. The card table gives the minimum
# cards and the max-model-len measured AT that minimum; that length is treated as the
# guaranteed floor for any card count at or above the minimum: asking for more is a warning
# (more cards usually fit more, but the seeds only measured the minimum), never an error.

from __future__ import annotations

from dataclasses import replace

from jobs.catalog.planning.alternatives import suggest_alternatives
from jobs.catalog.planning.inference import check_recipe
from jobs.catalog.planning.memory import CARD_MEMORY_GB, card_memory_gb, table_column
from jobs.catalog.planning.source import CatalogSource, using
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
    "CARD_MEMORY_GB",
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
    "using",
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
    """Findings for an inference recipe; table findings list passing alternatives in the fix."""
    with using(catalog):
        return _validate_recipe(spec, node, cards)


def _validate_recipe(spec: RecipeSpec, node: NodeFacts, cards: int | None) -> list[Message]:
    """validate_recipe against the active catalog."""
    messages = check_recipe(spec, node, cards)
    if not any(m.field in _TABLE_FIELDS for m in messages):
        return messages
    options = [a.description for a in suggest_alternatives(spec, node)]
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
    """Findings for a training recipe (AscendSpeed or LLaMA-Factory)."""
    with using(catalog):
        return check_training(spec, node)


def has_errors(messages: list[Message]) -> bool:
    """True when any message is an error."""
    return any(m.level == ERROR for m in messages)
