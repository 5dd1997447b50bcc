"""Recipe values to planning specs: defaults per kind, the weights mount, the spec records."""

from __future__ import annotations

from typing import Any

from jobs.catalog import choices
from jobs.catalog.choices import RecipeKind
from jobs.catalog.models import INFERENCE_FIELDS, TRAINING_FIELDS, RecipeVersion
from jobs.catalog.models.recipe import CONTENT_FIELDS
from jobs.catalog.planning import Mount, RecipeSpec, TrainingSpec

DEFAULTS: dict[str, Any] = {
    f.name: f.get_default() for f in RecipeVersion._meta.concrete_fields if f.name in CONTENT_FIELDS
}
INFERENCE_DEFAULTS = {"tensor_parallel_size": 1, "vllm_version": choices.DEFAULT_VLLM_VERSION}
TRAINING_DEFAULTS = {"seq_len": 4096, "cards_per_node": 8}


def content_of(kind: str, values: dict[str, Any], base: dict[str, Any] | None = None) -> dict:
    """Every content field of a version: `values` over `base` (or the defaults) for the kind."""
    fields = TRAINING_FIELDS if kind == RecipeKind.TRAINING else INFERENCE_FIELDS
    extra = TRAINING_DEFAULTS if kind == RecipeKind.TRAINING else INFERENCE_DEFAULTS
    content = {**DEFAULTS, **extra, **(base or {})}
    content.update({k: v for k, v in values.items() if k in fields})
    for name in CONTENT_FIELDS:
        if name not in fields:
            content[name] = DEFAULTS[name]
    for name in ("env", "extra_args", "mounts"):
        content[name] = content[name] if content[name] is not None else DEFAULTS[name]()
    for name, value in content.items():
        if value is None and isinstance(DEFAULTS[name], str):
            content[name] = ""
    return content


def weights_mount(content: dict[str, Any]) -> tuple[str | None, list[Mount]]:
    """The model path inside the container and the mounts, adding the weights mount if needed."""
    mounts = [Mount(**m) for m in content["mounts"] if isinstance(m, dict)]
    path = content["weights_path"]
    if not path:
        return None, mounts
    for mount in mounts:
        host = mount.host_path.rstrip("/")
        if path == mount.host_path or path.startswith(host + "/"):
            return mount.container_path.rstrip("/") + path[len(host) :], mounts
    return path, [*mounts, Mount(path, path, read_only=True)]


def recipe_spec(content: dict[str, Any]) -> RecipeSpec:
    """The planning spec of an inference recipe."""
    model_path, mounts = weights_mount(content)
    return RecipeSpec(
        model=content["model"],
        vllm_version=content["vllm_version"],
        tensor_parallel_size=content["tensor_parallel_size"] or 1,
        max_model_len=content["max_model_len"],
        max_num_seqs=content["max_num_seqs"],
        max_num_batched_tokens=content["max_num_batched_tokens"],
        gpu_memory_utilization=content["gpu_memory_utilization"],
        dtype=content["dtype"],
        block_size=content["block_size"],
        quantization=content["quantization"] or None,
        kv_cache_dtype=content["kv_cache_dtype"] or None,
        quantization_param_path=content["quantization_param_path"] or None,
        served_model_name=content["served_model_name"] or None,
        port=content["port"],
        env=dict(content["env"]),
        extra_args=tuple(content["extra_args"]),
        mounts=tuple(mounts),
        model_path=model_path,
        trust_remote_code=content["trust_remote_code"],
    )


def training_spec(content: dict[str, Any]) -> TrainingSpec:
    """The planning spec of a training recipe."""
    return TrainingSpec(
        framework=content["framework"],
        model=content["model"],
        strategy=content["strategy"],
        seq_len=content["seq_len"] or 4096,
        nodes=content["nodes"],
        cards_per_node=content["cards_per_node"] or 8,
        tensor_parallel_size=content["tensor_parallel_size"],
        pipeline_parallel_size=content["pipeline_parallel_size"],
        micro_batch_size=content["micro_batch_size"],
        gradient_accumulation_steps=content["gradient_accumulation_steps"],
        deepspeed=content["deepspeed"] or None,
        mounts=tuple(weights_mount(content)[1]),
    )
