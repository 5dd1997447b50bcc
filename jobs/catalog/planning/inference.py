"""Validation of a vLLM inference recipe against the seed tables and the node's cards."""

from __future__ import annotations

from jobs.catalog.planning import lookup
from jobs.catalog.planning.generic import ERROR, err, generic_messages, warn
from jobs.catalog.planning.memory import CHIPS_BY_GB, card_memory_gb, describe_memory, table_column
from jobs.catalog.planning.source import CatalogSource, resolve
from jobs.catalog.planning.types import Message, NodeFacts, RecipeSpec


def _quant_messages(
    catalog: CatalogSource, spec: RecipeSpec, key: str, scheme: str | None, version: str
) -> list[Message]:
    """Quantization and kv-cache support per the supported-model table."""
    row = lookup.quant_row(catalog, key, version)
    if row is None:
        return []
    where = f"{row.source.cite(row.vllm_version)} {row.model}"
    options = row.supported_schemes
    listed = ", ".join(options) if options else "none"
    out = []
    if scheme is None and not row.supports("fp16_bf16"):
        out.append(
            err(
                "quantization",
                f"{where} marks fp16/bf16 inference x; the model runs only quantized",
                f"set quantization to one of: {listed}",
            )
        )
    elif scheme is not None and not row.supports(scheme):
        plain = " or none (fp16/bf16)" if row.supports("fp16_bf16") else ""
        out.append(
            err(
                "quantization",
                f"{where} does not support {scheme} quantization",
                f"use one of: {listed}{plain}",
            )
        )
    if spec.kv_cache_dtype == "int8" and not row.supports("kv_cache_int8"):
        out.append(
            err(
                "kv_cache_dtype",
                f"{where} does not support kv-cache-int8 quantization",
                "leave kv_cache_dtype empty",
            )
        )
    if scheme == "W8A8" and spec.dtype != "float16":
        out.append(
            warn(
                "dtype",
                "seed 000 starts SmoothQuant (W8A8) with --dtype=float16",
                "set dtype to float16",
            )
        )
    return out


def _card_messages(
    catalog: CatalogSource,
    spec: RecipeSpec,
    node: NodeFacts,
    key: str,
    scheme: str | None,
    version: str,
) -> list[Message]:
    """Minimum cards, 32 GB support and max-model-len per the card table."""
    rows = lookup.card_rows(catalog, key, version)
    if not rows:
        table = lookup.card_version(catalog, version)
        return [
            warn(
                "model",
                f"the card table (vLLM {table}) has no row for {spec.model}",
                "the minimum cards and max-model-len cannot be checked; start with a short "
                "max-model-len and raise it",
            )
        ]
    usable = lookup.applicable_rows(rows, scheme)
    if not usable:
        row = rows[0]
        return [
            err(
                "quantization",
                f"{lookup.row_label(row)} is the {row.variant_quantization} checkpoint; the "
                f"seeds give no card count for {spec.model} without {row.variant_quantization}",
                f"set quantization to {row.variant_quantization} and use the {row.model} weights",
            )
        ]
    gb = table_column(card_memory_gb(node))
    if gb is None:
        return [
            err(
                "node",
                f"{describe_memory(node)}: the card table has columns for 32 GB and 64 GB "
                "cards only",
                "pick a node with 910B-class cards (32 GB or 64 GB)",
            )
        ]
    limit = lookup.limit_for(usable, gb)
    assert limit is not None
    if not limit.supported:
        other = lookup.limit_for(usable, 64 if gb == 32 else 32)
        fix = "no card size in the table runs it"
        if other is not None and other.supported:
            fix = (
                f"run it on {other.card_gb} GB cards ({'/'.join(CHIPS_BY_GB[other.card_gb])}): "
                f"{other.min_cards} cards with max-model-len up to {other.max_model_len_k}K "
                f"({other.cards_cite})"
            )
        return [
            err(
                "model",
                f"{limit.cards_cite}: {spec.model} is not supported on {gb} GB cards ('-')",
                fix,
            )
        ]
    assert limit.min_cards is not None and limit.max_model_len is not None
    tp = spec.tensor_parallel_size
    if tp < limit.min_cards:
        return [
            err(
                "tensor_parallel_size",
                f"{limit.cards_cite}: {gb} GB cards need at least {limit.min_cards}; "
                f"tensor-parallel-size is {tp}",
                f"set tensor-parallel-size to {limit.min_cards} and book {limit.min_cards} cards",
            )
        ]
    if spec.max_model_len > limit.max_model_len:
        more = (
            f"; with {tp} cards instead of {limit.min_cards} more may fit, but only "
            f"{limit.max_model_len_k}K is measured"
            if tp > limit.min_cards
            else ""
        )
        return [
            warn(
                "max_model_len",
                f"max-model-len {spec.max_model_len} is above the {limit.max_model_len_k}K "
                f"({limit.max_model_len} tokens) {limit.len_cite} recommends on "
                f"{limit.min_cards} x {gb} GB cards{more}",
                f"set max-model-len to {limit.max_model_len} or less",
            )
        ]
    return []


def _env_messages(spec: RecipeSpec, key: str) -> list[Message]:
    """Environment variables the manuals require for some models."""
    out = []
    for req in lookup.env_requirements():
        if key in req.models and spec.env.get(req.env) != req.value:
            why = "must be set" if req.strength == "required" else "should be checked"
            out.append(
                warn(
                    "env",
                    f"{req.env}={req.value} {why} for {spec.model}: without the PFA "
                    "high-precision mode its output is inaccurate (repeated '!')",
                    f"add {req.env}={req.value} to env",
                )
            )
    return out


def check_recipe(
    spec: RecipeSpec,
    node: NodeFacts,
    cards: int | None = None,
    catalog: CatalogSource | None = None,
) -> list[Message]:
    """All findings for a recipe on a node (errors first); no alternatives in the fixes."""
    catalog = resolve(catalog)
    cards = spec.tensor_parallel_size if cards is None else cards
    out = generic_messages(spec, node, cards)
    version = lookup.normalize_version(spec.vllm_version)
    scheme: str | None = None
    try:
        scheme = lookup.scheme_of(spec.quantization)
    except KeyError:
        out.append(
            err(
                "quantization",
                f"quantization {spec.quantization!r} is unknown",
                "use W4A16 (awq), W8A8 (smoothquant), W8A16 (gptq) or none",
            )
        )
    if version not in catalog.vllm_versions():
        known = ", ".join(catalog.vllm_versions())
        out.append(
            err("vllm_version", f"vLLM {spec.vllm_version} is not in the manuals", f"use {known}")
        )
        return _ordered(out)
    key = catalog.resolve_model(spec.model)
    if key not in lookup.known_keys(catalog, version):
        out.append(_unknown_model(catalog, spec.model, key, version))
        return _ordered(out)
    out += _fallback_messages(catalog, key, version)
    out += _quant_messages(catalog, spec, key, scheme, version)
    out += _card_messages(catalog, spec, node, key, scheme, version)
    out += _env_messages(spec, key)
    return _ordered(out)


def _unknown_model(catalog: CatalogSource, model: str, key: str, version: str) -> Message:
    """Error for a model no table lists for this vLLM version."""
    others = [v for v in lookup.versions_listing(catalog, key) if v != version]
    if others:
        fix = f"it is listed for vLLM {', '.join(others)}; change vllm_version"
    else:
        near = lookup.close_matches(catalog, key, version)
        fix = f"did you mean {', '.join(near)}?" if near else "pick a model from the catalog"
    return err("model", f"{model} is not in the vLLM {version} tables", fix)


def _fallback_messages(catalog: CatalogSource, key: str, version: str) -> list[Message]:
    """Warn when a table of another vLLM version stands in for a missing one."""
    out = []
    cv = lookup.card_version(catalog, version)
    if cv and cv != version and lookup.card_rows(catalog, key, version):
        out.append(
            warn(
                "vllm_version",
                f"the seeds print no card table for vLLM {version}; the vLLM {cv} values are used",
                "verify the card count and max-model-len with a short benchmark",
            )
        )
    qv = lookup.quant_version(catalog, version)
    if qv and qv != version and lookup.quant_row(catalog, key, version):
        out.append(
            warn(
                "vllm_version",
                f"the seeds print no supported-model table for vLLM {version}; the vLLM {qv} "
                "quantization columns are used",
                "verify quantization support for this version",
            )
        )
    return out


def _ordered(messages: list[Message]) -> list[Message]:
    """Errors before warnings, otherwise in check order."""
    return [m for m in messages if m.level == ERROR] + [m for m in messages if m.level != ERROR]
