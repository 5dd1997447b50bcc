"""Variants of a recipe that pass validation, offered as fixes."""

from __future__ import annotations

from dataclasses import replace

from jobs.catalog.planning import lookup
from jobs.catalog.planning.generic import k_label
from jobs.catalog.planning.inference import check_recipe
from jobs.catalog.planning.memory import CHIPS_BY_GB, card_memory_gb, table_column
from jobs.catalog.planning.source import CatalogSource, resolve
from jobs.catalog.planning.types import ERROR, Alternative, NodeFacts, RecipeSpec

MAX_ALTERNATIVES = 4


def _hypothetical_node(card_gb: int, node: NodeFacts) -> NodeFacts:
    """An idle node of the given card size with as many cards as this one (8 when unknown)."""
    return NodeFacts(chip_name=CHIPS_BY_GB[card_gb][0], card_count=node.card_count or 8)


def _wanted(spec: RecipeSpec) -> str | None:
    """The requested scheme, or None when absent or unknown."""
    try:
        return lookup.scheme_of(spec.quantization)
    except KeyError:
        return None


def _valid_scheme(catalog: CatalogSource, spec: RecipeSpec, key: str, version: str) -> bool:
    """Whether the requested quantization is known, supported and covered by a card row."""
    try:
        wanted = lookup.scheme_of(spec.quantization)
    except KeyError:
        return False
    row = lookup.quant_row(catalog, key, version)
    if row is not None and not row.supports(wanted or "fp16_bf16"):
        return False
    rows = lookup.card_rows(catalog, key, version)
    return not rows or bool(lookup.applicable_rows(rows, wanted))


def _schemes(catalog: CatalogSource, spec: RecipeSpec, key: str, version: str) -> list[str | None]:
    """Quantizations worth trying: the requested one if valid, else what the tables support."""
    wanted = _wanted(spec)
    if _valid_scheme(catalog, spec, key, version):
        return [wanted]
    row = lookup.quant_row(catalog, key, version)
    options: list[str | None] = []
    if row is not None:
        if row.supports("fp16_bf16"):
            options.append(None)
        options += list(row.supported_schemes)
    variants = {r.variant_quantization for r in lookup.card_rows(catalog, key, version)}
    options += sorted(v for v in variants if v)
    return list(dict.fromkeys(options))


def _describe(spec: RecipeSpec, new: RecipeSpec, gb: int, here: bool, table_len: int) -> str:
    """'4 x 64 GB cards with max-model-len 4K (up to 64K)'."""
    cards = new.tensor_parallel_size
    text = f"{cards} x {gb} GB card{'s' if cards > 1 else ''} with max-model-len "
    text += k_label(new.max_model_len)
    if new.max_model_len < table_len:
        text += f" (up to {k_label(table_len)})"
    if new.quantization != spec.quantization:
        what = f"the {new.quantization} variant" if new.quantization else "unquantized"
        text = f"{what} on {text}"
    if here:
        text += " (this node)"
    return text


def suggest_alternatives(
    spec: RecipeSpec, node: NodeFacts, catalog: CatalogSource | None = None
) -> list[Alternative]:
    """Up to four nearby recipes (cards, max-model-len, quantization) with no errors, on the
    node's own card size and card count."""
    catalog = resolve(catalog)
    version = lookup.normalize_version(spec.vllm_version)
    if version not in catalog.vllm_versions():
        return []
    key = catalog.resolve_model(spec.model)
    known_gb = card_memory_gb(node)
    here_gb = table_column(known_gb)
    # Only the card size the node has (its chip or HBM per card): another size would be another
    # node. Both table sizes are tried only when the node's card memory is unknown.
    sizes = [here_gb] if known_gb is not None else [32, 64]
    sizes = [gb for gb in sizes if gb is not None]
    wanted = _wanted(spec)

    def keep(scheme: str | None) -> bool:
        """Keep the spelling the user gave when it is the same, valid scheme."""
        return scheme == wanted and (spec.quantization is None or wanted is not None)

    out: list[Alternative] = []
    seen: set[tuple[int, int, int, str | None]] = set()
    for scheme in _schemes(catalog, spec, key, version):
        rows = lookup.applicable_rows(lookup.card_rows(catalog, key, version), scheme)
        for gb in dict.fromkeys(sizes):
            limit = lookup.limit_for(rows, gb)
            if limit is None or not limit.supported:
                continue
            assert limit.min_cards is not None and limit.max_model_len is not None
            here = gb == here_gb
            tp = spec.tensor_parallel_size
            cards = tp if here and tp >= limit.min_cards else limit.min_cards
            length = min(spec.max_model_len, limit.max_model_len)
            new = replace(
                spec,
                tensor_parallel_size=cards,
                max_model_len=length,
                max_num_batched_tokens=max(spec.batched_tokens, length),
                quantization=spec.quantization if keep(scheme) else scheme,
            )
            target = node if here else _hypothetical_node(gb, node)
            ident = (gb, cards, length, scheme)
            if ident in seen or (new == spec and target == node):
                continue
            seen.add(ident)
            if any(m.level == ERROR for m in check_recipe(new, target, catalog=catalog)):
                continue
            desc = _describe(spec, new, gb, here, limit.max_model_len)
            out.append(Alternative(desc, new, gb, cards))
    return out[:MAX_ALTERNATIVES]
