"""Inputs and outputs of recipe planning: specs, node facts and messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Level = Literal["error", "warning"]
ERROR: Level = "error"
WARNING: Level = "warning"

# vLLM's own default host for a server reached from outside the container (seed 001: 0.0.0.0).
ALL_INTERFACES = "0.0.0.0"  # noqa: S104


@dataclass(frozen=True)
class Message:
    """One finding: level, the spec field it concerns, what is wrong and how to fix it."""

    level: Level
    field: str
    message: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        """The wire form: {level, field, message, fix}."""
        return {"level": self.level, "field": self.field, "message": self.message, "fix": self.fix}


@dataclass(frozen=True)
class Mount:
    """A bind mount: host path, path inside the container, read-only flag."""

    host_path: str
    container_path: str
    read_only: bool = False


@dataclass(frozen=True)
class RecipeSpec:
    """A vLLM inference deployment recipe (the flags of the api_server launch)."""

    model: str
    vllm_version: str = "0.6.0"
    tensor_parallel_size: int = 1
    max_model_len: int = 4096
    max_num_seqs: int = 256
    max_num_batched_tokens: int | None = None
    gpu_memory_utilization: float = 0.9
    dtype: str = "float16"
    block_size: int = 128
    quantization: str | None = None
    kv_cache_dtype: str | None = None
    quantization_param_path: str | None = None
    served_model_name: str | None = None
    port: int = 8080
    env: Mapping[str, str] = field(default_factory=dict)
    extra_args: tuple[str, ...] = ()
    mounts: tuple[Mount, ...] = ()
    model_path: str | None = None
    host: str = ALL_INTERFACES
    trust_remote_code: bool = True

    @property
    def batched_tokens(self) -> int:
        """--max-num-batched-tokens as launched (defaults to max-model-len)."""
        if self.max_num_batched_tokens is None:
            return self.max_model_len
        return self.max_num_batched_tokens


@dataclass(frozen=True)
class NodeFacts:
    """What planning needs to know about the target node."""

    chip_name: str | None = None
    hbm_total_mb: int | None = None
    card_count: int = 8
    free_cards: int | None = None


@dataclass(frozen=True)
class TrainingSpec:
    """A training recipe for AscendSpeed or LLaMA-Factory."""

    framework: str
    model: str
    strategy: str
    seq_len: int = 4096
    nodes: int = 1
    cards_per_node: int = 8
    tensor_parallel_size: int | None = None
    pipeline_parallel_size: int | None = None
    micro_batch_size: int | None = None
    gradient_accumulation_steps: int | None = None
    deepspeed: str | None = None
    mounts: tuple[Mount, ...] = ()

    @property
    def total_cards(self) -> int:
        """Nodes times cards per node."""
        return self.nodes * self.cards_per_node


@dataclass(frozen=True)
class Alternative:
    """A variant of a recipe that passes validation (no errors)."""

    description: str
    spec: RecipeSpec
    card_gb: int
    cards: int
