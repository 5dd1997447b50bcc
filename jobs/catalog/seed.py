"""Seed the catalog tables from the manuals' tables shipped as JSON (jobs/catalog/data).

The database rows are the catalog at run time; this JSON only fills empty tables: the seed
migration did it for every database made since, and `manage.py catalog seed` (or
ensure_seed_catalog) does it again after a flush.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from jobs.catalog import data as seed
from jobs.catalog.data import Source
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


def _vllm_meta() -> Any:
    """The raw vllm.json (fallback reasons are not in the typed loader)."""
    text = resources.files(seed.__name__).joinpath("vllm.json").read_text(encoding="utf-8")
    return json.loads(text)


def _origin(source: Source) -> dict[str, Any]:
    """Provenance columns shared by every row."""
    return {"seed": source.seed, "seed_line": source.line, "seed_table": source.table}


def load() -> None:
    """Create every catalog row from the seed JSON (the tables must be empty)."""
    # Card tables first in seed order (0.6.0, 0.5.0): the export keeps that order.
    order = list(seed.card_versions()) + [
        v for v in seed.vllm_versions() if v not in seed.card_versions()
    ]
    versions = {}
    for position, number in enumerate(order, start=1):
        tables = []
        if number in seed.card_versions():
            tables.append(seed.card_table(number)[0].source.cite(number).rsplit(" row", 1)[0])
        if number in seed.quant_versions():
            tables.append(seed.quant_table(number)[0].source.cite(number).rsplit(" row", 1)[0])
        provenance = "; ".join(tables) or f"vLLM {number} named by the manuals"
        versions[number] = VllmVersion.objects.create(
            version=number, position=position, provenance=provenance
        )
    fallbacks = _vllm_meta()["fallbacks"]
    for number, row in versions.items():
        notes = []
        for table, field in (
            ("card_table", "card_table_fallback"),
            ("quant_table", "quant_table_fallback"),
        ):
            entry = fallbacks.get(table, {}).get(number)
            if entry:
                setattr(row, field, versions[entry["use"]])
                notes.append(entry["why"])
        if notes:
            row.fallback_note = " ".join(notes)
            row.save()

    CardRequirement.objects.bulk_create(
        CardRequirement(
            version=versions[r.vllm_version],
            row=r.row,
            model=r.model,
            min_cards_32=r.gb32.min_cards,
            max_model_len_k_32=r.gb32.max_model_len_k,
            min_cards_64=r.gb64.min_cards,
            max_model_len_k_64=r.gb64.max_model_len_k,
            printed=r.printed,
            provenance=r.source.cite(r.vllm_version),
            note=r.note or "",
            **_origin(r.source),
        )
        for r in seed.card_table()
    )
    ModelSupport.objects.bulk_create(
        ModelSupport(
            version=versions[version],
            row=r.row,
            model=r.model,
            fp16_bf16=r.support["fp16_bf16"],
            w4a16=r.support["W4A16"],
            w8a8=r.support["W8A8"],
            w8a16=r.support["W8A16"],
            kv_cache_int8=r.support["kv_cache_int8"],
            weights_text=r.weights_text,
            weight_urls=list(r.weight_urls),
            printed=r.printed,
            provenance=r.source.cite(version),
            **_origin(r.source),
        )
        for version in seed.quant_versions()
        for r in seed.quant_table(version)
    )

    aliases: dict[str, ModelAlias] = {}
    for family in seed.aliases():
        names = [(s, "") for s in (family.key, *family.spellings)]
        names += [(v.spelling, v.quantization) for v in family.variants]
        for spelling, quantization in names:
            low = spelling.lower()
            seen = [
                {"spelling": s, "table": t, "row": n}
                for s, t, n in family.seen_in
                if s.lower() == low
            ]
            if low in aliases:
                aliases[low].seen_in += [x for x in seen if x not in aliases[low].seen_in]
                continue
            where = ", ".join(f"{x['table']} row {x['row']}" for x in seen)
            aliases[low] = ModelAlias(
                family=family.key,
                spelling=spelling,
                quantization=quantization or "",
                seen_in=seen,
                note=family.note or "",
                provenance=f"seed tables: {where}" if where else "canonical family key",
            )
    ModelAlias.objects.bulk_create(aliases.values())

    BaseImage.objects.bulk_create(
        BaseImage(
            image=i.image,
            repository=i.repository,
            tag=i.tag,
            purpose=i.purpose,
            versions=dict(i.versions),
            versions_printed=i.versions_printed or "",
            context=i.context,
            provenance=f"seed {i.source.seed_id} {i.source.table}",
            **_origin(i.source),
        )
        for i in seed.base_images()
    )
    SoftwareStack.objects.bulk_create(
        SoftwareStack(
            seed=s.seed,
            doc=s.doc,
            ascendcloud=s.ascendcloud,
            packages=list(s.packages),
            vllm=s.vllm or "",
            cann=s.cann or "",
            driver=s.driver or "",
            dtypes=list(s.dtypes),
            provenance=f"seed {s.seed.split('_', 1)[0]}: {s.doc}",
        )
        for s in seed.software()
    )
    AscendSpeedSetting.objects.bulk_create(
        AscendSpeedSetting(
            row=r.row,
            sub_row=r.sub_row,
            family=r.family,
            model=r.model,
            strategy=r.strategy,
            seq_len=r.seq_len,
            tp=r.tp,
            pp=r.pp,
            mbs=r.mbs,
            nodes=r.nodes,
            cards_per_node=r.cards_per_node,
            printed=r.printed,
            inconsistent=r.inconsistent or "",
            note=r.note or "",
            provenance=r.source.cite(),
            **_origin(r.source),
        )
        for r in seed.ascendspeed_table()
    )
    raw_keys = {
        raw["row"]: raw["model_keys"]
        for raw in json.loads(
            resources.files(seed.__name__).joinpath("llamafactory.json").read_text(encoding="utf-8")
        )["rows"]
    }
    LlamaFactorySetting.objects.bulk_create(
        LlamaFactorySetting(
            row=r.row,
            model=r.model,
            template=r.template,
            size=r.size,
            model_keys=raw_keys[r.row],
            strategies=list(r.strategies),
            cutoff_len=list(r.cutoff_len),
            gradient_accumulation_steps=r.gradient_accumulation_steps,
            deepspeed=r.deepspeed,
            zero_stage=r.zero_stage,
            offload=r.offload,
            nodes=r.nodes,
            cards_per_node=r.cards_per_node,
            merged_cells=list(r.merged_cells),
            printed=r.printed,
            note=r.note or "",
            provenance=r.source.cite(),
            **_origin(r.source),
        )
        for r in seed.llamafactory_table()
    )
