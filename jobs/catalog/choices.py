"""Choices and constants of the catalog app: recipes, the vLLM launch and the manuals' tables."""

from __future__ import annotations

from django.db import models

# Defaults of the vLLM launch, as the manuals print it (seed 001 api_server example, seed 000).
DEFAULT_VLLM_VERSION = "0.6.0"
DEFAULT_MAX_MODEL_LEN = 4096
DEFAULT_MAX_NUM_SEQS = 256
DEFAULT_MAX_NUM_BATCHED_TOKENS = 4096
DEFAULT_GPU_MEMORY_UTILIZATION = 0.9
DEFAULT_BLOCK_SIZE = 128
DEFAULT_PORT = 8080
# seed 002: training containers need a shared memory of 200g or more.
TRAINING_SHM_SIZE = "200g"

# Upper bounds that catch typos (an extra zero) before planning looks at the tables.
MAX_MODEL_LEN = 1024 * 1024
MAX_NUM_SEQS = 65536
MAX_BATCHED_TOKENS = 16 * 1024 * 1024
MAX_BLOCK_SIZE = 1024
MAX_TP = 64
MAX_SEQ_LEN = 1024 * 1024
MAX_NODES = 1024

CARD_TABLE_GB = (32, 64)
# Containers the dashboard renders are named <prefix>-<kind>-<id>.
CONTAINER_PREFIX = "npufleet"


class RecipeKind(models.TextChoices):
    INFERENCE = "inference", "Inference (vLLM)"
    TRAINING = "training", "Training"


class Entrypoint(models.TextChoices):
    OPENAI_API_SERVER = "vllm.entrypoints.openai.api_server", "vLLM OpenAI-compatible API server"


class Dtype(models.TextChoices):
    FLOAT16 = "float16", "float16 (FP16)"
    BFLOAT16 = "bfloat16", "bfloat16 (BF16)"


class Quantization(models.TextChoices):
    NONE = "", "none (fp16/bf16)"
    W4A16 = "W4A16", "W4A16 (awq)"
    W8A8 = "W8A8", "W8A8 (smoothquant)"
    W8A16 = "W8A16", "W8A16 (gptq)"


class KvCacheDtype(models.TextChoices):
    AUTO = "", "same as the model"
    INT8 = "int8", "int8"


class Framework(models.TextChoices):
    ASCENDSPEED = "ascendspeed", "AscendSpeed"
    LLAMAFACTORY = "llamafactory", "LLaMA-Factory"


class Strategy(models.TextChoices):
    PRETRAIN = "pretrain", "pretrain"
    SFT = "sft", "sft"
    LORA = "lora", "lora"
    FULL = "full", "full"


class SupportColumn(models.TextChoices):
    """The √/x columns of the supported-model table."""

    FP16_BF16 = "fp16_bf16", "fp16/bf16"
    W4A16 = "W4A16", "W4A16"
    W8A8 = "W8A8", "W8A8"
    W8A16 = "W8A16", "W8A16"
    KV_CACHE_INT8 = "kv_cache_int8", "kv-cache-int8"
