"""Typed records for the catalog tables transcribed from the Huawei manuals."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_TABLE_NO = re.compile(r"表(\d+)")


@dataclass(frozen=True)
class Source:
    """Where a record was read: seed file, line in it, table title and row (序号)."""

    seed: str
    line: int
    table: str
    row: int
    sub_row: int | None = None

    @property
    def seed_id(self) -> str:
        """The three-digit seed number, e.g. '000'."""
        return self.seed.split("_", 1)[0]

    @property
    def table_no(self) -> str:
        """The table number as printed ('表1' -> '1')."""
        match = _TABLE_NO.search(self.table)
        return match.group(1) if match else "?"

    def cite(self, version: str | None = None) -> str:
        """A short human citation, e.g. 'seed 000 table 1 (vLLM 0.6.0) row 5'."""
        ver = f" (vLLM {version})" if version else ""
        sub = f".{self.sub_row}" if self.sub_row is not None else ""
        return f"seed {self.seed_id} table {self.table_no}{ver} row {self.row}{sub}"


@dataclass(frozen=True)
class CardCell:
    """One memory column of a card-table row; None means the seed printed '-'."""

    min_cards: int | None
    max_model_len_k: int | None

    @property
    def supported(self) -> bool:
        """False when the seed marks the cell unsupported."""
        return self.min_cards is not None


@dataclass(frozen=True)
class CardRow:
    """A row of the minimum-cards / max-model-len table (seed 000 appendix)."""

    vllm_version: str
    row: int
    model: str
    key: str
    gb32: CardCell
    gb64: CardCell
    printed: str
    source: Source
    variant_quantization: str | None = None
    note: str | None = None

    def cell(self, card_gb: int) -> CardCell:
        """The cell for 32 or 64 GB cards."""
        if card_gb == 32:
            return self.gb32
        if card_gb == 64:
            return self.gb64
        raise ValueError(f"the card table has 32 GB and 64 GB columns, not {card_gb} GB")


QUANT_COLUMNS = ("fp16_bf16", "W4A16", "W8A8", "W8A16", "kv_cache_int8")


@dataclass(frozen=True)
class QuantRow:
    """A row of the supported-model table with its √/x quantization columns."""

    vllm_version: str
    row: int
    model: str
    key: str
    support: Mapping[str, bool]
    weights_text: str
    weight_urls: tuple[str, ...]
    printed: str
    source: Source

    def supports(self, column: str) -> bool:
        """Whether the table marks the column (see QUANT_COLUMNS) with √."""
        return bool(self.support[column])

    @property
    def supported_schemes(self) -> tuple[str, ...]:
        """The weight quantization schemes marked √ (W4A16, W8A8, W8A16)."""
        return tuple(c for c in ("W4A16", "W8A8", "W8A16") if self.support[c])


@dataclass(frozen=True)
class Variant:
    """A spelling that names a quantized checkpoint of the family."""

    spelling: str
    quantization: str


@dataclass(frozen=True)
class AliasFamily:
    """One model family: its canonical key and the spellings the tables use."""

    key: str
    spellings: tuple[str, ...]
    variants: tuple[Variant, ...] = ()
    note: str | None = None
    seen_in: tuple[tuple[str, str, int], ...] = ()


@dataclass(frozen=True)
class BaseImage:
    """A base container image a manual names, with its software versions."""

    image: str
    repository: str
    tag: str
    purpose: str
    versions: Mapping[str, str]
    versions_printed: str | None
    context: str
    source: Source


@dataclass(frozen=True)
class Software:
    """The software stack one manual pins (AscendCloud bundle, vLLM, CANN, driver)."""

    seed: str
    doc: str
    ascendcloud: str
    packages: tuple[str, ...]
    vllm: str | None
    cann: str | None
    driver: str | None
    dtypes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AscendSpeedRow:
    """A recommended AscendSpeed setting (seed 002 表2), one strategy/sequence length."""

    row: int
    sub_row: int
    family: str
    model: str
    key: str
    strategy: str
    seq_len: int
    tp: int
    pp: int
    mbs: int
    nodes: int
    cards_per_node: int
    printed: str
    source: Source
    inconsistent: str | None = None
    note: str | None = None

    @property
    def strategies(self) -> tuple[str, ...]:
        """The strategies the row covers ('pretrain/sft' covers both)."""
        return tuple(self.strategy.split("/"))

    @property
    def total_cards(self) -> int:
        """Nodes times cards per node."""
        return self.nodes * self.cards_per_node


@dataclass(frozen=True)
class LlamaFactoryRow:
    """A recommended LLaMA-Factory setting (seed 002 表1 NPU卡数、加速框架、梯度配置取值表)."""

    row: int
    model: str
    template: str
    size: str
    model_keys: tuple[str, ...]
    strategies: tuple[str, ...]
    cutoff_len: tuple[int, ...]
    gradient_accumulation_steps: int
    deepspeed: str
    zero_stage: int
    offload: bool
    nodes: int
    cards_per_node: int
    printed: str
    source: Source
    merged_cells: tuple[str, ...] = ()
    note: str | None = None

    @property
    def total_cards(self) -> int:
        """Nodes times cards per node."""
        return self.nodes * self.cards_per_node


@dataclass(frozen=True)
class QuantFlag:
    """How a quantization scheme is passed to vLLM (`--quantization <flag>`)."""

    scheme: str
    flag: str
    verified_in_seed: bool
    dtype: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class EnvRequirement:
    """An environment variable a manual requires (or asks to check) for some models."""

    models: tuple[str, ...]
    env: str
    value: str
    strength: str
    evidence: tuple[str, ...] = field(default_factory=tuple)
