"""Recipe checks that need no catalog row: sizes, flags, dtype, mounts, kv-cache."""

from __future__ import annotations

import posixpath

from jobs.catalog.planning.types import ERROR, WARNING, Message, Mount, NodeFacts, RecipeSpec

TP_SIZES = (1, 2, 4, 8)
DTYPES = ("float16", "bfloat16")
FORBIDDEN_HOME = "/home/ma-user"
# Flags the renderer sets from spec fields; repeating them in extra_args is ambiguous.
MANAGED_FLAGS = (
    "--model",
    "--max-num-seqs",
    "--max-model-len",
    "--max-num-batched-tokens",
    "--dtype",
    "--tensor-parallel-size",
    "--block-size",
    "--host",
    "--port",
    "--gpu-memory-utilization",
    "--served-model-name",
    "--quantization",
    "-q",
    "--kv-cache-dtype",
    "--quantization-param-path",
)


def err(field: str, message: str, fix: str) -> Message:
    """An error message."""
    return Message(ERROR, field, message, fix)


def warn(field: str, message: str, fix: str) -> Message:
    """A warning message."""
    return Message(WARNING, field, message, fix)


def k_label(tokens: int) -> str:
    """4096 -> '4K'; lengths that are not whole K stay in tokens."""
    return f"{tokens // 1024}K" if tokens % 1024 == 0 else f"{tokens} tokens"


def mount_messages(mounts: tuple[Mount, ...]) -> list[Message]:
    """Mounts must be absolute and never at or below /home/ma-user inside the container."""
    out = []
    for mount in mounts:
        target = mount.container_path
        if not target.startswith("/") or not mount.host_path.startswith("/"):
            out.append(
                err(
                    "mounts",
                    f"mount {mount.host_path!r}:{target!r} is not a pair of absolute paths",
                    "give absolute host and container paths",
                )
            )
            continue
        norm = posixpath.normpath(target)
        if norm == FORBIDDEN_HOME or norm.startswith(FORBIDDEN_HOME + "/"):
            out.append(
                err(
                    "mounts",
                    f"mount target {target!r} is at or below {FORBIDDEN_HOME}, the ma-user home "
                    "of the base image; mounting there breaks the image (seed 000: 容器不能挂载到"
                    "/home/ma-user目录)",
                    "mount the directory elsewhere, e.g. /mnt/data or /data",
                )
            )
    return out


def generic_messages(spec: RecipeSpec, node: NodeFacts, cards: int) -> list[Message]:
    """Checks that need no catalog row."""
    out: list[Message] = []
    tp = spec.tensor_parallel_size
    if spec.dtype not in DTYPES:
        out.append(
            err(
                "dtype",
                f"dtype {spec.dtype!r} is not supported; the manuals support FP16 and BF16 only",
                "set dtype to float16 or bfloat16",
            )
        )
    if tp not in TP_SIZES:
        out.append(
            err(
                "tensor_parallel_size",
                f"tensor-parallel-size {tp} is not 1, 2, 4 or 8",
                "use 1, 2, 4 or 8 cards",
            )
        )
    elif tp > node.card_count:
        out.append(
            err(
                "tensor_parallel_size",
                f"tensor-parallel-size {tp} is more than the node's {node.card_count} cards",
                f"use at most {node.card_count} cards or pick a larger node",
            )
        )
    if cards != tp:
        out.append(
            err(
                "tensor_parallel_size",
                f"tensor-parallel-size {tp} differs from the {cards} cards booked; the manuals "
                "require it to equal the number of cards",
                f"set tensor-parallel-size to {cards} or book {tp} cards",
            )
        )
    if node.free_cards is not None and cards > node.free_cards:
        out.append(
            err(
                "cards",
                f"{cards} cards requested but only {node.free_cards} are free on the node",
                f"book at most {node.free_cards} cards or pick another node",
            )
        )
    if spec.max_model_len < 1 or spec.max_num_seqs < 1 or spec.block_size < 1:
        out.append(
            err(
                "max_model_len",
                "max-model-len, max-num-seqs and block-size must be positive",
                "use positive values (defaults 4096, 256, 128)",
            )
        )
    if spec.batched_tokens < spec.max_model_len:
        out.append(
            err(
                "max_num_batched_tokens",
                f"max-num-batched-tokens {spec.batched_tokens} is below max-model-len "
                f"{spec.max_model_len}; vLLM requires it to be at least max-model-len",
                f"set max-num-batched-tokens to {max(spec.max_model_len, 4096)} or more "
                "(the manuals recommend 4096 or 8192)",
            )
        )
    if not 0 < spec.gpu_memory_utilization <= 1:
        out.append(
            err(
                "gpu_memory_utilization",
                f"gpu-memory-utilization {spec.gpu_memory_utilization} is outside (0, 1]",
                "use 0.9, the value the card table was measured at",
            )
        )
    elif spec.gpu_memory_utilization > 0.9:
        out.append(
            warn(
                "gpu_memory_utilization",
                f"gpu-memory-utilization {spec.gpu_memory_utilization} is above 0.9, the value "
                "the card table was measured at; the manuals lower it on NPU out of memory",
                "set gpu-memory-utilization to 0.9",
            )
        )
    if spec.block_size != 128 and spec.block_size >= 1:
        out.append(
            warn(
                "block_size",
                f"block-size {spec.block_size}: the manuals recommend 128 (other sizes gave poor "
                "performance or accuracy)",
                "set block-size to 128",
            )
        )
    if not 1 <= spec.port <= 65535:
        out.append(err("port", f"port {spec.port} is not a TCP port", "use 1-65535, e.g. 8080"))
    out += _kv_messages(spec)
    out += mount_messages(spec.mounts)
    dup = sorted({a.split("=", 1)[0] for a in spec.extra_args} & set(MANAGED_FLAGS))
    if dup:
        out.append(
            warn(
                "extra_args",
                f"extra_args repeat flags set from the recipe: {', '.join(dup)}",
                "set these through the recipe fields instead of extra_args",
            )
        )
    return out


def _kv_messages(spec: RecipeSpec) -> list[Message]:
    """kv-cache-dtype: only int8 exists; without a scales file accuracy may drop."""
    if spec.kv_cache_dtype is None:
        if spec.quantization_param_path:
            return [
                warn(
                    "quantization_param_path",
                    "quantization-param-path is only read with --kv-cache-dtype int8",
                    "set kv_cache_dtype to int8 or drop quantization_param_path",
                )
            ]
        return []
    if spec.kv_cache_dtype != "int8":
        return [
            err(
                "kv_cache_dtype",
                f"kv-cache-dtype {spec.kv_cache_dtype!r}: the manuals support int8 only",
                "set kv_cache_dtype to int8 or leave it empty",
            )
        ]
    if not spec.quantization_param_path:
        return [
            warn(
                "quantization_param_path",
                "kv-cache int8 without a scales file: the scale defaults to 1 and accuracy may "
                "drop (seed 000)",
                "extract the kv-cache scales and set quantization_param_path to the json file",
            )
        ]
    return []
