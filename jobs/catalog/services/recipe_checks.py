"""Shape checks of recipe values before planning: ranges, strict names and paths, env names."""

# Everything that reaches a command line is checked against a strict pattern here, so a bad
# value is refused on save with a message naming its field, long before anything is rendered.
# extra_args: each item is ONE argv element and must be an option, `--flag` or `--flag=value`
# (the value is free text, quoted when rendered); a bare value as its own item is refused, so
# no positional argument can be smuggled into the launch.

from __future__ import annotations

import re
from typing import Any

from jobs.catalog import choices
from jobs.catalog.choices import Dtype, Framework, KvCacheDtype, RecipeKind, Strategy
from jobs.catalog.models.catalog import VERSION_RE
from jobs.catalog.planning import ERROR, Message
from jobs.catalog.planning.generic import FORBIDDEN_HOME
from jobs.catalog.render import (
    ENV_KEY_RE,
    IMAGE_ID_RE,
    IMAGE_RE,
    MODEL_RE,
    PATH_RE,
    RELATIVE_PATH_RE,
)

EXTRA_ARG_RE = re.compile(r"--[A-Za-z0-9][A-Za-z0-9-]*(=.*)?", re.DOTALL)
LIMITS: dict[str, tuple[int, int]] = {
    "tensor_parallel_size": (1, choices.MAX_TP),
    "max_model_len": (1, choices.MAX_MODEL_LEN),
    "max_num_seqs": (1, choices.MAX_NUM_SEQS),
    "max_num_batched_tokens": (1, choices.MAX_BATCHED_TOKENS),
    "block_size": (1, choices.MAX_BLOCK_SIZE),
    "port": (1, 65535),
    "seq_len": (1, choices.MAX_SEQ_LEN),
    "nodes": (1, choices.MAX_NODES),
    "cards_per_node": (1, choices.MAX_TP),
    "pipeline_parallel_size": (1, choices.MAX_TP),
    "micro_batch_size": (1, 4096),
    "gradient_accumulation_steps": (1, 65536),
}
REQUIRED_NUMBERS: dict[str, tuple[str, ...]] = {
    RecipeKind.INFERENCE: (
        "tensor_parallel_size",
        "max_model_len",
        "max_num_seqs",
        "block_size",
        "port",
    ),
    RecipeKind.TRAINING: ("seq_len", "nodes", "cards_per_node"),
}
TRAINING_NUMBERS = (
    "seq_len",
    "nodes",
    "cards_per_node",
    "tensor_parallel_size",
    "pipeline_parallel_size",
    "micro_batch_size",
    "gradient_accumulation_steps",
)
INFERENCE_NUMBERS = (
    "tensor_parallel_size",
    "max_model_len",
    "max_num_seqs",
    "max_num_batched_tokens",
    "block_size",
    "port",
)


def _err(field: str, message: str, fix: str) -> Message:
    return Message(ERROR, field, message, fix)


def plain_path(value: object, *, relative: bool = False) -> bool:
    """An absolute (or, when allowed, relative) path of safe characters without '..'."""
    if not isinstance(value, str):
        return False
    pattern = RELATIVE_PATH_RE if relative and not value.startswith("/") else PATH_RE
    return bool(pattern.fullmatch(value)) and ".." not in value.split("/")


def _text_ok(value: object) -> bool:
    """Free text: a string without NUL."""
    return isinstance(value, str) and "\x00" not in value


def _numbers(kind: str, content: dict[str, Any]) -> list[Message]:
    """Whole numbers within sane bounds; gpu-memory-utilization in (0, 1]."""
    out = []
    names = TRAINING_NUMBERS if kind == RecipeKind.TRAINING else INFERENCE_NUMBERS
    for name in names:
        value = content.get(name)
        low, high = LIMITS[name]
        if value is None:
            if name in REQUIRED_NUMBERS[kind]:
                out.append(_err(name, f"{name} is required", f"set {name} ({low}-{high})"))
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            out.append(
                _err(
                    name,
                    f"{name} {value!r} is not a whole number in {low}-{high}",
                    f"use {low}-{high}",
                )
            )
    if kind == RecipeKind.INFERENCE:
        util = content.get("gpu_memory_utilization")
        if isinstance(util, bool) or not isinstance(util, int | float) or not 0 < util <= 1:
            out.append(
                _err(
                    "gpu_memory_utilization",
                    f"gpu-memory-utilization {util!r} is outside (0, 1]",
                    "use 0.9, the value the card table was measured at",
                )
            )
    return out


def _mounts(value: object) -> list[Message]:
    """A list of {host_path, container_path, read_only} with plain absolute paths."""
    fix = "give absolute paths of letters, digits and ._+@-/ (no spaces, quotes or '..')"
    if not isinstance(value, list):
        return [_err("mounts", "mounts must be a list", fix)]
    out = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"host_path", "container_path", "read_only"}:
            out.append(_err("mounts", f"mount {item!r} is not {{host_path, container_path}}", fix))
            continue
        for key in ("host_path", "container_path"):
            if not plain_path(item.get(key)):
                out.append(
                    _err(
                        "mounts", f"mount {key} {item.get(key)!r} is not a plain absolute path", fix
                    )
                )
        if not isinstance(item.get("read_only", False), bool):
            out.append(_err("mounts", "read_only must be true or false", "use true or false"))
    return out


def _env(value: object) -> list[Message]:
    """Names that are shell identifiers; values any text but NUL."""
    if not isinstance(value, dict):
        return [_err("env", "env must be an object of NAME: value", 'use {"NAME": "value"}')]
    out = []
    for key, val in value.items():
        if not isinstance(key, str) or not ENV_KEY_RE.fullmatch(key):
            out.append(
                _err(
                    "env",
                    f"environment name {key!r} is not a valid identifier",
                    "use letters, digits and _, not starting with a digit (e.g. MY_VAR)",
                )
            )
        elif not _text_ok(val):
            out.append(_err("env", f"the value of {key} must be text without NUL", "fix the value"))
    return out


def _extra_args(value: object) -> list[Message]:
    """Each item one option: --flag or --flag=value."""
    if not isinstance(value, list):
        return [_err("extra_args", "extra_args must be a list of strings", 'use ["--flag=value"]')]
    return [
        _err(
            "extra_args",
            f"extra argument {arg!r} is not an option",
            "write each as --flag or --flag=value (one item per option)",
        )
        for arg in value
        if not _text_ok(arg) or not EXTRA_ARG_RE.fullmatch(arg)
    ]


def _inference(content: dict[str, Any]) -> list[Message]:
    """Inference-only fields: version, dtype, kv-cache, served name, scales path."""
    out = []
    if not isinstance(content["vllm_version"], str) or not re.fullmatch(
        VERSION_RE, content["vllm_version"]
    ):
        out.append(
            _err(
                "vllm_version",
                f"vLLM version {content['vllm_version']!r} is not a version number",
                "use e.g. 0.6.0",
            )
        )
    if content["dtype"] not in Dtype.values:
        out.append(
            _err(
                "dtype",
                f"dtype {content['dtype']!r} is not supported",
                "set dtype to float16 or bfloat16",
            )
        )
    if content["kv_cache_dtype"] not in KvCacheDtype.values:
        out.append(
            _err(
                "kv_cache_dtype",
                f"kv-cache-dtype {content['kv_cache_dtype']!r}: the manuals support int8 only",
                "set kv_cache_dtype to int8 or leave it empty",
            )
        )
    if content["quantization_param_path"] and not plain_path(
        content["quantization_param_path"], relative=True
    ):
        out.append(
            _err(
                "quantization_param_path",
                f"{content['quantization_param_path']!r} is not a plain path",
                "use a path of letters, digits and ._+@-/ (e.g. kv_cache_scales.json)",
            )
        )
    name = content["served_model_name"]
    if name and (not _text_ok(name) or name.startswith("-")):
        out.append(
            _err(
                "served_model_name",
                f"served model name {name!r} must not start with '-'",
                "use the model's name, e.g. qwen2-7b",
            )
        )
    out += _extra_args(content["extra_args"])
    return out


def _training(content: dict[str, Any]) -> list[Message]:
    """Training-only fields: framework and strategy."""
    out = []
    if content["framework"] not in Framework.values:
        out.append(
            _err(
                "framework",
                f"framework {content['framework']!r} is unknown",
                "use ascendspeed or llamafactory",
            )
        )
    if content["strategy"] not in Strategy.values:
        out.append(
            _err(
                "strategy",
                f"strategy {content['strategy']!r} is unknown",
                "use pretrain, sft, lora or full",
            )
        )
    return out


def _weights_home(content: dict[str, Any]) -> list[Message]:
    """Weights mounted at their own path must not land at or below /home/ma-user."""
    path = content["weights_path"]
    if not path or not plain_path(path) or not isinstance(content["mounts"], list):
        return []
    hosts = [m.get("host_path", "") for m in content["mounts"] if isinstance(m, dict)]
    if any(h and (path == h or path.startswith(h.rstrip("/") + "/")) for h in hosts):
        return []
    if path == FORBIDDEN_HOME or path.startswith(FORBIDDEN_HOME + "/"):
        return [
            _err(
                "weights_path",
                f"weights at {path} would be mounted at the same path, below {FORBIDDEN_HOME}, "
                "which breaks the base image (seed 000)",
                "keep the weights elsewhere (e.g. /data/models) or add a mount of their folder",
            )
        ]
    return []


def shape_messages(kind: str, content: dict[str, Any]) -> list[Message]:
    """Errors in the shape of recipe values, each naming its field."""
    out = _numbers(kind, content)
    model = content["model"]
    if not isinstance(model, str) or not model or not MODEL_RE.fullmatch(model) or ".." in model:
        out.append(
            _err(
                "model",
                f"model {model!r} is not a model name",
                "use the name the catalog lists, e.g. qwen2-7b",
            )
        )
    image = content["image"]
    if not isinstance(image, str) or not (
        IMAGE_RE.fullmatch(image) or IMAGE_ID_RE.fullmatch(image)
    ):
        out.append(
            _err(
                "image",
                f"image {image!r} is not an image reference",
                "use registry/repository:tag, e.g. npufleet/vllm:0.6.0",
            )
        )
    if content["weights_path"] and not plain_path(content["weights_path"]):
        out.append(
            _err(
                "weights_path",
                f"weights path {content['weights_path']!r} is not a plain absolute path",
                "use an absolute path of letters, digits and ._+@-/ (no spaces, quotes or '..')",
            )
        )
    out += _weights_home(content) + _mounts(content["mounts"]) + _env(content["env"])
    out += _training(content) if kind == RecipeKind.TRAINING else _inference(content)
    return out
