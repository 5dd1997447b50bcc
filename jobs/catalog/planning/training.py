"""Validation of training recipes against the AscendSpeed and LLaMA-Factory tables."""

from __future__ import annotations

from jobs.catalog.data import AscendSpeedRow, LlamaFactoryRow
from jobs.catalog.planning.generic import TP_SIZES, err, mount_messages, warn
from jobs.catalog.planning.source import CatalogSource, resolve
from jobs.catalog.planning.types import ERROR, Message, NodeFacts, TrainingSpec

FRAMEWORKS = ("ascendspeed", "llamafactory")
STRATEGIES = {"ascendspeed": ("pretrain", "sft", "lora"), "llamafactory": ("lora", "full")}


def _layout(spec: TrainingSpec, node: NodeFacts | None) -> list[Message]:
    """Cards per node must be 1/2/4/8 and fit the node."""
    out = []
    if spec.nodes < 1:
        out.append(err("nodes", f"nodes is {spec.nodes}", "use 1 or more nodes"))
    if spec.cards_per_node not in TP_SIZES:
        out.append(
            err(
                "cards_per_node",
                f"{spec.cards_per_node} cards per node is not 1, 2, 4 or 8",
                "use 1, 2, 4 or 8 cards per node",
            )
        )
    elif node is not None and spec.cards_per_node > node.card_count:
        out.append(
            err(
                "cards_per_node",
                f"{spec.cards_per_node} cards per node but the node has {node.card_count}",
                f"use at most {node.card_count} cards per node",
            )
        )
    return out


def _ascendspeed(catalog: CatalogSource, spec: TrainingSpec, key: str) -> list[Message]:
    """TP x PP must divide the cards; compare with the recommended row."""
    rows = [r for r in catalog.ascendspeed_table() if r.key == key]
    if not rows:
        return [
            err("model", f"{spec.model} is not in the AscendSpeed table", "pick a listed model")
        ]
    out: list[Message] = []
    tp, pp = spec.tensor_parallel_size, spec.pipeline_parallel_size
    if tp is not None and pp is not None:
        if tp < 1 or pp < 1 or spec.total_cards % (tp * pp):
            out.append(
                err(
                    "tensor_parallel_size",
                    f"TP {tp} x PP {pp} = {tp * pp} does not divide {spec.nodes} node(s) x "
                    f"{spec.cards_per_node} cards = {spec.total_cards}",
                    "choose TP and PP whose product divides nodes x cards per node",
                )
            )
        elif tp > spec.cards_per_node:
            out.append(
                warn(
                    "tensor_parallel_size",
                    f"TP {tp} spans nodes ({spec.cards_per_node} cards per node); no row of the "
                    "table does that",
                    f"keep TP at most {spec.cards_per_node} and raise PP instead",
                )
            )
    match = [r for r in rows if spec.strategy in r.strategies and r.seq_len == spec.seq_len]
    if not match:
        have = sorted({f"{r.strategy} {r.seq_len}" for r in rows})
        return [
            *out,
            warn(
                "seq_len",
                f"the AscendSpeed table has no row for {spec.model} {spec.strategy} {spec.seq_len}",
                f"rows exist for: {'; '.join(have)}",
            ),
        ]
    return out + _compare_ascendspeed(spec, match[0])


def _compare_ascendspeed(spec: TrainingSpec, row: AscendSpeedRow) -> list[Message]:
    """Warnings where the spec leaves the recommended setting."""
    where = f"{row.source.cite()} {row.model} {row.strategy} {row.seq_len}"
    rec = (
        f"TP {row.tp}, PP {row.pp}, MBS {row.mbs} on {row.nodes} node(s) x "
        f"{row.cards_per_node} cards"
    )
    out = []
    if row.inconsistent:
        out.append(
            warn(
                "model",
                f"{where} is inconsistent in the seed: {row.inconsistent}",
                "size the job yourself; TP x PP must divide nodes x cards",
            )
        )
    if spec.total_cards < row.total_cards:
        out.append(
            warn(
                "cards_per_node",
                f"{spec.total_cards} cards is fewer than the {row.total_cards} {where} recommends",
                f"use {rec}",
            )
        )
    tp, pp = spec.tensor_parallel_size, spec.pipeline_parallel_size
    if (tp is not None and tp != row.tp) or (pp is not None and pp != row.pp):
        out.append(
            warn("pipeline_parallel_size", f"{where} recommends TP {row.tp} x PP {row.pp}", rec)
        )
    if spec.micro_batch_size is not None and spec.micro_batch_size > row.mbs:
        out.append(
            warn(
                "micro_batch_size",
                f"micro batch size {spec.micro_batch_size} is above the {row.mbs} {where} uses",
                f"set micro batch size to {row.mbs}",
            )
        )
    return out


def _llamafactory(catalog: CatalogSource, spec: TrainingSpec, key: str) -> list[Message]:
    """Compare cards, DeepSpeed ZeRO stage and gradient accumulation with the table."""
    rows = [r for r in catalog.llamafactory_table() if key in r.model_keys]
    if not rows:
        return [
            err("model", f"{spec.model} is not in the LLaMA-Factory table", "pick a listed model")
        ]
    match = [r for r in rows if spec.strategy in r.strategies and spec.seq_len in r.cutoff_len]
    if not match:
        have = sorted({_lf_label(r) for r in rows})
        return [
            warn(
                "seq_len",
                f"the LLaMA-Factory table has no row for {spec.model} {spec.strategy} "
                f"{spec.seq_len}",
                f"rows exist for: {'; '.join(have)}",
            )
        ]
    return _compare_llamafactory(spec, match[0])


def _lf_label(row: LlamaFactoryRow) -> str:
    """'lora/full 4096/8192'."""
    return "/".join(row.strategies) + " " + "/".join(str(n) for n in row.cutoff_len)


def _compare_llamafactory(spec: TrainingSpec, row: LlamaFactoryRow) -> list[Message]:
    """Warnings where the spec leaves the recommended setting."""
    where = f"{row.source.cite()} {row.model} {row.size}"
    out = []
    if spec.total_cards < row.total_cards:
        out.append(
            warn(
                "cards_per_node",
                f"{spec.total_cards} cards is fewer than the {row.nodes} node(s) x "
                f"{row.cards_per_node} cards {where} recommends",
                f"use {row.nodes} node(s) x {row.cards_per_node} cards",
            )
        )
    if spec.deepspeed is not None and spec.deepspeed != row.deepspeed:
        out.append(
            warn(
                "deepspeed",
                f"{where} uses DeepSpeed {row.deepspeed}, not {spec.deepspeed}",
                f"set deepspeed to {row.deepspeed}",
            )
        )
    gas = spec.gradient_accumulation_steps
    if gas is not None and gas != row.gradient_accumulation_steps:
        out.append(
            warn(
                "gradient_accumulation_steps",
                f"{where} uses gradient_accumulation_steps {row.gradient_accumulation_steps}",
                f"set gradient_accumulation_steps to {row.gradient_accumulation_steps}",
            )
        )
    return out


def check_training(
    spec: TrainingSpec, node: NodeFacts | None = None, catalog: CatalogSource | None = None
) -> list[Message]:
    """All findings for a training recipe (errors first)."""
    catalog = resolve(catalog)
    out = _layout(spec, node) + mount_messages(spec.mounts)
    if spec.framework not in FRAMEWORKS:
        out.append(
            err(
                "framework",
                f"framework {spec.framework!r} is unknown",
                "use ascendspeed or llamafactory",
            )
        )
        return _ordered(out)
    allowed = STRATEGIES[spec.framework]
    if spec.strategy not in allowed:
        out.append(
            err(
                "strategy",
                f"strategy {spec.strategy!r} is not one of {', '.join(allowed)}",
                f"use {' or '.join(allowed)}",
            )
        )
        return _ordered(out)
    key = catalog.resolve_model(spec.model)
    if spec.framework == "ascendspeed":
        out += _ascendspeed(catalog, spec, key)
    else:
        out += _llamafactory(catalog, spec, key)
    return _ordered(out)


def _ordered(messages: list[Message]) -> list[Message]:
    """Errors before warnings."""
    return [m for m in messages if m.level == ERROR] + [m for m in messages if m.level != ERROR]
