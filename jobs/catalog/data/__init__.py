"""Catalog data transcribed from the Huawei manuals (seeds), with typed loaders."""

# The JSON files next to this module hold the tables exactly as the seeds print them, each
# record with its provenance (seed file, line, table title, row number 序号). No Django here.
# They seed the catalog tables (jobs/catalog/seed.py); at run time the catalog is the database
# rows (jobs/catalog/tables.py). Only the scheme -> --quantization flags and the environment
# variables the manuals require are read from here at run time: they are not tables.

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jobs.catalog.data.types import (
    AliasFamily,
    AscendSpeedRow,
    BaseImage,
    CardCell,
    CardRow,
    EnvRequirement,
    LlamaFactoryRow,
    QuantFlag,
    QuantRow,
    Software,
    Source,
    Variant,
)

__all__ = [
    "AliasFamily",
    "AscendSpeedRow",
    "BaseImage",
    "CardCell",
    "CardRow",
    "EnvRequirement",
    "LlamaFactoryRow",
    "QuantFlag",
    "QuantRow",
    "Software",
    "Source",
    "aliases",
    "ascendspeed_table",
    "base_images",
    "card_table",
    "card_versions",
    "env_requirements",
    "export_cells",
    "fallback_version",
    "llamafactory_table",
    "quant_table",
    "quant_versions",
    "quantization_flags",
    "resolve_model",
    "software",
    "variant_quantization",
    "vllm_versions",
]


@cache
def _json(name: str) -> Any:
    """Read one JSON data file shipped with this package."""
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)


def _source(raw: dict[str, Any]) -> Source:
    """Build a Source from its JSON form."""
    return Source(
        seed=raw["seed"],
        line=raw["line"],
        table=raw["table"],
        row=raw["row"],
        sub_row=raw.get("sub_row"),
    )


@cache
def _spelling_map() -> dict[str, str]:
    """Lower-cased spelling -> family key."""
    out: dict[str, str] = {}
    for fam in aliases():
        out[fam.key.lower()] = fam.key
        for name in fam.spellings:
            out[name.lower()] = fam.key
        for variant in fam.variants:
            out[variant.spelling.lower()] = fam.key
    return out


def resolve_model(name: str) -> str:
    """The canonical family key of a model name (aliases resolved, case-insensitive)."""
    low = name.strip().lower()
    return _spelling_map().get(low, low)


def variant_quantization(name: str) -> str | None:
    """The quantization a spelling implies (e.g. llama-3.1-405B-AWQ -> W4A16), if any."""
    low = name.strip().lower()
    for fam in aliases():
        for variant in fam.variants:
            if variant.spelling.lower() == low:
                return variant.quantization
    return None


@cache
def aliases() -> tuple[AliasFamily, ...]:
    """Model families whose spellings differ between tables."""
    fams = []
    for raw in _json("aliases.json")["families"]:
        fams.append(
            AliasFamily(
                key=raw["key"],
                spellings=tuple(raw["spellings"]),
                variants=tuple(Variant(**v) for v in raw.get("variants", [])),
                note=raw.get("note"),
                seen_in=tuple((s["spelling"], s["table"], s["row"]) for s in raw["seen_in"]),
            )
        )
    return tuple(fams)


@cache
def _card_rows() -> tuple[CardRow, ...]:
    """Every row of both card tables, versions in seed order."""
    rows = []
    for table in _json("card_table.json")["versions"]:
        for raw in table["rows"]:
            rows.append(
                CardRow(
                    vllm_version=table["vllm_version"],
                    row=raw["row"],
                    model=raw["model"],
                    key=resolve_model(raw["model"]),
                    gb32=CardCell(**raw["32"]),
                    gb64=CardCell(**raw["64"]),
                    printed=raw["printed"],
                    source=_source(raw["source"]),
                    variant_quantization=variant_quantization(raw["model"]),
                    note=raw.get("note"),
                )
            )
    return tuple(rows)


def card_versions() -> tuple[str, ...]:
    """vLLM versions that have a card table in the seeds."""
    return tuple(t["vllm_version"] for t in _json("card_table.json")["versions"])


def card_table(version: str | None = None) -> tuple[CardRow, ...]:
    """Rows of the minimum-cards / max-model-len table for one vLLM version (or all)."""
    rows = _card_rows()
    if version is None:
        return rows
    if version not in card_versions():
        raise KeyError(f"no card table for vLLM {version}; the seeds have {card_versions()}")
    return tuple(r for r in rows if r.vllm_version == version)


@cache
def _quant_rows() -> tuple[QuantRow, ...]:
    """Every row of the supported-model tables."""
    data = _json("quant_table.json")
    rows = []
    for table in data["versions"]:
        for raw in table["rows"]:
            rows.append(
                QuantRow(
                    vllm_version=table["vllm_version"],
                    row=raw["row"],
                    model=raw["model"],
                    key=resolve_model(raw["model"]),
                    support={c: raw[c] for c in data["columns"]},
                    weights_text=raw["weights_text"],
                    weight_urls=tuple(raw["weight_urls"]),
                    printed=raw["printed"],
                    source=_source(raw["source"]),
                )
            )
    return tuple(rows)


def quant_versions() -> tuple[str, ...]:
    """vLLM versions that have a supported-model (quantization) table in the seeds."""
    return tuple(t["vllm_version"] for t in _json("quant_table.json")["versions"])


def quant_table(version: str) -> tuple[QuantRow, ...]:
    """Rows of the supported-model table (fp16/bf16, W4A16, W8A8, W8A16, kv-cache-int8)."""
    if version not in quant_versions():
        raise KeyError(f"no model table for vLLM {version}; the seeds have {quant_versions()}")
    return tuple(r for r in _quant_rows() if r.vllm_version == version)


@cache
def base_images() -> tuple[BaseImage, ...]:
    """Base images (SWR addresses) the manuals name, with their CANN/PyTorch versions."""
    out = []
    for raw in _json("base_images.json")["images"]:
        src = raw["source"]
        out.append(
            BaseImage(
                image=raw["image"],
                repository=raw["repository"],
                tag=raw["tag"],
                purpose=raw["purpose"],
                versions=dict(raw["versions"]),
                versions_printed=raw["versions_printed"],
                context=raw["context"],
                source=Source(seed=src["seed"], line=src["line"], table=src["table"], row=1),
            )
        )
    return tuple(out)


@cache
def software() -> tuple[Software, ...]:
    """Software stacks per manual: AscendCloud bundle, vLLM, CANN, driver versions."""
    keep = ("seed", "doc", "ascendcloud", "vllm", "cann", "driver")
    return tuple(
        Software(
            **{k: raw[k] for k in keep},
            packages=tuple(raw["packages"]),
            dtypes=tuple(raw["dtypes"]),
        )
        for raw in _json("base_images.json")["software"]
    )


@cache
def ascendspeed_table() -> tuple[AscendSpeedRow, ...]:
    """The AscendSpeed recommended TP/PP/MBS/nodes table (124 rows)."""
    out = []
    for raw in _json("ascendspeed.json")["rows"]:
        out.append(
            AscendSpeedRow(
                row=raw["row"],
                sub_row=raw["sub_row"],
                family=raw["family"],
                model=raw["model"],
                key=resolve_model(raw["model"]),
                strategy=raw["strategy"],
                seq_len=raw["seq_len"],
                tp=raw["tp"],
                pp=raw["pp"],
                mbs=raw["mbs"],
                nodes=raw["nodes"],
                cards_per_node=raw["cards_per_node"],
                printed=raw["printed"],
                source=_source(raw["source"]),
                inconsistent=raw.get("inconsistent"),
                note=raw.get("note"),
            )
        )
    return tuple(out)


@cache
def llamafactory_table() -> tuple[LlamaFactoryRow, ...]:
    """The LLaMA-Factory gradient accumulation / ZeRO / cards table."""
    out = []
    for raw in _json("llamafactory.json")["rows"]:
        out.append(
            LlamaFactoryRow(
                row=raw["row"],
                model=raw["model"],
                template=raw["template"],
                size=raw["size"],
                model_keys=tuple(resolve_model(k) for k in raw["model_keys"]),
                strategies=tuple(raw["strategies"]),
                cutoff_len=tuple(raw["cutoff_len"]),
                gradient_accumulation_steps=raw["gradient_accumulation_steps"],
                deepspeed=raw["deepspeed"],
                zero_stage=raw["zero_stage"],
                offload=raw["offload"],
                nodes=raw["nodes"],
                cards_per_node=raw["cards_per_node"],
                printed=raw["printed"],
                source=_source(raw["source"]),
                merged_cells=tuple(raw.get("merged_cells", [])),
                note=raw.get("note"),
            )
        )
    return tuple(out)


def vllm_versions() -> tuple[str, ...]:
    """vLLM versions the manuals cover."""
    return tuple(_json("vllm.json")["versions"])


def fallback_version(table: str, version: str) -> str | None:
    """The version whose table stands in when the seeds lack one ('card_table'/'quant_table')."""
    entry = _json("vllm.json")["fallbacks"].get(table, {}).get(version)
    return entry["use"] if entry else None


@cache
def quantization_flags() -> tuple[QuantFlag, ...]:
    """Quantization scheme -> vLLM `--quantization` value, with the seed evidence status."""
    return tuple(
        QuantFlag(
            scheme=q["scheme"],
            flag=q["flag"],
            verified_in_seed=q["verified_in_seed"],
            dtype=q.get("dtype"),
            note=q.get("note"),
        )
        for q in _json("vllm.json")["quantization"]
    )


@cache
def env_requirements() -> tuple[EnvRequirement, ...]:
    """Environment variables the manuals require per model (e.g. Qwen2-7B high precision)."""
    return tuple(
        EnvRequirement(
            models=tuple(e["models"]),
            env=e["env"],
            value=e["value"],
            strength=e["strength"],
            evidence=tuple(ev["text"] for ev in e["evidence"]),
        )
        for e in _json("vllm.json")["env_requirements"]
    )


def export_cells() -> list[dict[str, Any]]:
    """One dict per card-table cell: model, vllm_version, card_gb, min_cards, max_model_len_k."""
    # Versions in seed order (0.6.0, then 0.5.0), rows in table order, 32 GB before 64 GB;
    # model names exactly as printed; unsupported cells ('-') are None (null in JSON).
    cells = []
    for row in card_table():
        for gb in (32, 64):
            cell = row.cell(gb)
            cells.append(
                {
                    "model": row.model,
                    "vllm_version": row.vllm_version,
                    "card_gb": gb,
                    "min_cards": cell.min_cards,
                    "max_model_len_k": cell.max_model_len_k,
                }
            )
    return cells
