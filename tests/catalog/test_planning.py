"""Recipe validation: every rule, with the seed rows it cites and the alternatives it offers."""

from __future__ import annotations

import pytest

from jobs.catalog import data as catalog
from jobs.catalog.planning import (
    ERROR,
    WARNING,
    Message,
    Mount,
    NodeFacts,
    RecipeSpec,
    TrainingSpec,
    card_memory_gb,
    check_recipe,
    has_errors,
    suggest_alternatives,
    table_column,
    validate_recipe,
    validate_training,
)
from jobs.catalog.services.catalog_edits import ensure_seed_catalog

# Planning reads the catalog from the database rows; the seed migration loaded them from the
# same JSON the `catalog` import above reads, and a transactional test's flush may have removed them.
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def seeded_catalog(db):
    ensure_seed_catalog()


N32 = NodeFacts(chip_name="910B4", hbm_total_mb=32768, card_count=8, free_cards=8)
N64 = NodeFacts(chip_name="910B3", hbm_total_mb=65536, card_count=8, free_cards=8)
QWEN_ENV = {"USE_PFA_HIGH_PRECISION_MODE": "1"}


def spec(model: str = "llama2-13b", **kw) -> RecipeSpec:
    """A recipe with the seeds' defaults."""
    return RecipeSpec(model=model, **kw)


def by_field(messages: list[Message], field: str, level: str | None = None) -> list[Message]:
    return [m for m in messages if m.field == field and (level is None or m.level == level)]


def one(messages: list[Message], field: str, level: str) -> Message:
    found = by_field(messages, field, level)
    assert len(found) == 1, messages
    return found[0]


# ------------------------------------------------------------------ card memory


@pytest.mark.parametrize(
    ("chip", "hbm", "gb", "column"),
    [
        ("910B1", None, 64, 64),
        ("910B2", None, 64, 64),
        ("910B3", 32768, 64, 64),  # the exact chip name wins over the HBM figure
        ("910B4-1", None, 64, 64),
        ("910B4", 65536, 32, 32),
        ("910A", None, 32, 32),
        ("310P3", None, 24, None),
        ("Ascend910B3", 65536, 64, 64),  # not an exact name: falls back to HBM
        ("910ProB", 32768, 32, 32),
        (None, 61000, 60, 64),
        ("mystery", None, None, None),
    ],
)
def test_card_memory_keys_on_the_exact_chip_name_then_hbm(chip, hbm, gb, column):
    node = NodeFacts(chip_name=chip, hbm_total_mb=hbm)
    assert card_memory_gb(node) == gb
    assert table_column(gb) == column


# ------------------------------------------------------------------ errors


def test_tp_below_the_table_minimum_cites_the_row_and_the_minimum():
    msgs = validate_recipe(spec(tensor_parallel_size=1), N32)
    err = one(msgs, "tensor_parallel_size", ERROR)
    assert err.message.startswith(
        "seed 000 table 1 (vLLM 0.6.0) row 5 llama2-13b: 32 GB cards need at least 2"
    )
    assert "set tensor-parallel-size to 2" in err.fix
    assert "Alternatives that pass: 2 x 32 GB cards" in err.fix
    assert "64 GB" not in err.fix  # a card size this node does not have


def test_the_same_recipe_passes_on_64gb_cards():
    assert validate_recipe(spec(tensor_parallel_size=1), N64) == []


@pytest.mark.parametrize("tp", [3, 5, 6, 16, 0])
def test_tp_must_be_1_2_4_or_8(tp):
    err = by_field(validate_recipe(spec(tensor_parallel_size=tp), N64), "tensor_parallel_size")
    assert any("is not 1, 2, 4 or 8" in m.message for m in err)


def test_tp_above_the_node_cards_is_an_error():
    node = NodeFacts(chip_name="910B3", card_count=4)
    msgs = validate_recipe(spec(tensor_parallel_size=8), node)
    assert any("more than the node's 4 cards" in m.message for m in msgs if m.level == ERROR)


def test_tp_must_equal_the_booked_cards_and_fit_the_free_ones():
    msgs = validate_recipe(spec(tensor_parallel_size=2), N32, cards=4)
    assert "differs from the 4 cards booked" in one(msgs, "tensor_parallel_size", ERROR).message
    busy = NodeFacts(chip_name="910B4", card_count=8, free_cards=1)
    msgs = validate_recipe(spec(tensor_parallel_size=2), busy)
    assert "only 1 are free" in one(msgs, "cards", ERROR).message


def test_batched_tokens_below_max_model_len_is_an_error():
    msgs = validate_recipe(
        spec(tensor_parallel_size=2, max_model_len=8192, max_num_batched_tokens=4096), N32
    )
    err = one(msgs, "max_num_batched_tokens", ERROR)
    assert "below max-model-len 8192" in err.message and "8192" in err.fix
    assert validate_recipe(spec(tensor_parallel_size=2, max_model_len=8192), N32) == []


@pytest.mark.parametrize("quant", ["W8A8", "smoothquant", "w8a8"])
def test_quantization_the_model_table_marks_x_is_an_error(quant):
    msgs = validate_recipe(spec("qwen2-7b", quantization=quant, env=QWEN_ENV), N64)
    err = one(msgs, "quantization", ERROR)
    assert "seed 000 table 3 (vLLM 0.6.0) row 27 qwen2-7b does not support W8A8" in err.message
    assert "W4A16, W8A16" in err.fix and "Alternatives that pass" in err.fix


def test_supported_quantization_passes_in_scheme_or_flag_form():
    for quant in ("W4A16", "awq", "W8A16", "gptq"):
        assert validate_recipe(spec("qwen2-7b", quantization=quant, env=QWEN_ENV), N64) == []


def test_unknown_quantization_and_kv_cache_dtype_are_errors():
    msgs = validate_recipe(spec(quantization="int3"), N64)
    assert one(msgs, "quantization", ERROR).message == "quantization 'int3' is unknown"
    msgs = validate_recipe(spec(kv_cache_dtype="fp8"), N64)
    assert "int8 only" in one(msgs, "kv_cache_dtype", ERROR).message


def test_kv_cache_int8_follows_the_model_table():
    msgs = validate_recipe(
        spec("qwen-7b", kv_cache_dtype="int8", quantization_param_path="kv.json"), N64
    )
    assert "does not support kv-cache-int8" in one(msgs, "kv_cache_dtype", ERROR).message
    ok = spec(kv_cache_dtype="int8", quantization_param_path="kv_cache_scales.json")
    assert validate_recipe(ok, N64) == []
    msgs = validate_recipe(spec(kv_cache_dtype="int8"), N64)
    assert one(msgs, "quantization_param_path", WARNING)


def test_fp16_unsupported_model_needs_its_quantization():
    msgs = validate_recipe(spec("deepseek-v2-236b", tensor_parallel_size=8), N64)
    err = one(msgs, "quantization", ERROR)
    assert "row 50 deepseek-v2-236b marks fp16/bf16 inference x" in err.message
    assert "W8A8 variant on 8 x 64 GB cards with max-model-len 4K" in err.fix
    assert (
        validate_recipe(spec("deepseek-v2-236b", tensor_parallel_size=8, quantization="W8A8"), N64)
        == []
    )


def test_model_unsupported_on_32gb_says_how_many_64gb_cards_run_it():
    msgs = validate_recipe(spec("qwen1.5-110b", tensor_parallel_size=8), N32)
    err = one(msgs, "model", ERROR)
    assert "row 18 qwen1.5-110b: qwen1.5-110b is not supported on 32 GB cards" in err.message
    assert "run it on 64 GB cards" in err.fix and "8 cards with max-model-len up to 128K" in err.fix
    assert validate_recipe(spec("qwen1.5-110b", tensor_parallel_size=8), N64) == []


@pytest.mark.parametrize(
    "target",
    [
        "/home/ma-user",
        "/home/ma-user/",
        "/home/ma-user/ws",
        "/home/ma-user/work/x",
        "/home//ma-user/a",
        "/data/../home/ma-user",
    ],
)
def test_mounting_at_or_below_ma_user_home_is_an_error(target):
    msgs = validate_recipe(spec(tensor_parallel_size=2, mounts=(Mount("/data", target),)), N32)
    assert "/home/ma-user" in one(msgs, "mounts", ERROR).message


def test_mounts_next_to_ma_user_home_are_fine():
    mounts = (Mount("/data", "/home/ma-user2"), Mount("/data/w", "/mnt/work", read_only=True))
    assert validate_recipe(spec(tensor_parallel_size=2, mounts=mounts), N32) == []
    msgs = validate_recipe(spec(tensor_parallel_size=2, mounts=(Mount("data", "/x"),)), N32)
    assert "absolute" in one(msgs, "mounts", ERROR).message


@pytest.mark.parametrize("dtype", ["float32", "fp16", "auto", "int8"])
def test_dtype_other_than_float16_or_bfloat16_is_an_error(dtype):
    msgs = validate_recipe(spec(tensor_parallel_size=2, dtype=dtype), N32)
    assert one(msgs, "dtype", ERROR).fix == "set dtype to float16 or bfloat16"


def test_unknown_model_is_an_error_on_model_with_suggestions():
    err = one(validate_recipe(spec("lama2-13b"), N64), "model", ERROR)
    assert "llama2-13b" in err.fix
    err = one(validate_recipe(spec("qwen2.5-7b"), N64), "model", ERROR)
    assert "vLLM 0.6.3" in err.fix
    err = one(validate_recipe(spec(vllm_version="0.7.0"), N64), "vllm_version", ERROR)
    assert "0.6.0" in err.fix


def test_aliases_are_resolved_before_the_lookup():
    for name in ("deepseek-coder-33b-instruct", "deepseek-coder-instruct-33b"):
        assert validate_recipe(spec(name, tensor_parallel_size=4), N32) == []
    for name in ("internvl2-26B", "internvl2-26b", "InternVL2-26B"):
        assert validate_recipe(spec(name, tensor_parallel_size=2, max_model_len=8192), N32) == []


def test_llama_405b_card_row_is_the_awq_checkpoint():
    msgs = validate_recipe(spec("llama-3.1-405B", tensor_parallel_size=8), N64)
    err = one(msgs, "quantization", ERROR)
    assert "row 46 llama-3.1-405B-AWQ is the W4A16 checkpoint" in err.message
    assert "W4A16 variant on 8 x 64 GB cards" in err.fix
    good = spec("llama-3.1-405B", tensor_parallel_size=8, quantization="W4A16")
    assert validate_recipe(good, N64) == []
    assert "not supported on 32 GB" in one(validate_recipe(good, N32), "model", ERROR).message


def test_node_without_a_table_column_is_an_error():
    err = one(validate_recipe(spec(), NodeFacts(chip_name="310P3")), "node", ERROR)
    assert "310P3 (24 GB)" in err.message
    assert one(validate_recipe(spec(), NodeFacts(chip_name="odd")), "node", ERROR)


def test_other_range_errors():
    assert one(validate_recipe(spec(port=0), N64), "port", ERROR)
    assert one(
        validate_recipe(spec(gpu_memory_utilization=1.5), N64), "gpu_memory_utilization", ERROR
    )
    assert one(validate_recipe(spec(max_num_seqs=0), N64), "max_model_len", ERROR)


# ------------------------------------------------------------------ warnings


def test_max_model_len_above_the_table_is_a_warning_quoting_it():
    msgs = validate_recipe(
        spec(tensor_parallel_size=2, max_model_len=32768, max_num_batched_tokens=32768), N32
    )
    assert not has_errors(msgs)
    warn = one(msgs, "max_model_len", WARNING)
    assert (
        "above the 16K (16384 tokens) seed 000 table 1 (vLLM 0.6.0) row 5 llama2-13b"
        in warn.message
    )
    assert "on 2 x 32 GB cards" in warn.message
    assert warn.fix.startswith("set max-model-len to 16384 or less")


def test_more_cards_than_the_minimum_keep_the_table_value_as_the_floor():
    msgs = validate_recipe(
        spec(tensor_parallel_size=4, max_model_len=32768, max_num_batched_tokens=32768), N32
    )
    warn = one(msgs, "max_model_len", WARNING)
    assert "with 4 cards instead of 2 more may fit, but only 16K is measured" in warn.message
    assert validate_recipe(spec(tensor_parallel_size=4, max_model_len=16384), N32) == []


def test_the_stricter_mixtral_row_applies():
    msgs = validate_recipe(spec("mixtral-8x7b", tensor_parallel_size=4, max_model_len=8192), N32)
    warn = one(msgs, "max_model_len", WARNING)
    assert "row 48 mixtral8x7b" in warn.message and "4K" in warn.message


def test_gpu_memory_utilization_above_0_9_is_a_warning():
    warn = one(
        validate_recipe(spec(gpu_memory_utilization=0.95), N64), "gpu_memory_utilization", WARNING
    )
    assert warn.fix == "set gpu-memory-utilization to 0.9"


def test_qwen2_needs_the_high_precision_environment_variable():
    warn = one(validate_recipe(spec("qwen2-7b"), N64), "env", WARNING)
    assert warn.message.startswith("USE_PFA_HIGH_PRECISION_MODE=1 must be set for qwen2-7b")
    assert validate_recipe(spec("qwen2-7b", env=QWEN_ENV), N64) == []
    assert one(validate_recipe(spec("Qwen2-72B", tensor_parallel_size=4), N64), "env", WARNING)
    assert by_field(validate_recipe(spec("qwen2-1.5b"), N64), "env") == []


def test_version_fallbacks_are_announced():
    warn = one(validate_recipe(spec(vllm_version="0.6.3"), N64), "vllm_version", WARNING)
    assert "no card table for vLLM 0.6.3" in warn.message
    warn = one(validate_recipe(spec(vllm_version="v0.5.0"), N64), "vllm_version", WARNING)
    assert "no supported-model table for vLLM 0.5.0" in warn.message
    warn = one(validate_recipe(spec("qwen2.5-7b", vllm_version="0.6.3"), N64), "model", WARNING)
    assert "no row for qwen2.5-7b" in warn.message


def test_smoothquant_with_bfloat16_and_other_soft_findings():
    msgs = validate_recipe(spec("llama2-7b", quantization="W8A8", dtype="bfloat16"), N64)
    assert "--dtype=float16" in one(msgs, "dtype", WARNING).message
    assert one(validate_recipe(spec(block_size=16), N64), "block_size", WARNING)
    msgs = validate_recipe(spec(extra_args=("--tensor-parallel-size=4", "--enforce-eager")), N64)
    assert "--tensor-parallel-size" in one(msgs, "extra_args", WARNING).message


# ------------------------------------------------------------------ message shape and alternatives


def test_messages_name_a_field_and_a_fix_and_errors_come_first():
    msgs = validate_recipe(
        spec("qwen2-7b", tensor_parallel_size=3, dtype="x", gpu_memory_utilization=0.95), N64
    )
    assert [m.level for m in msgs] == sorted((m.level for m in msgs), key=lambda lv: lv != ERROR)
    for m in msgs:
        assert set(m.as_dict()) == {"level", "field", "message", "fix"}
        assert m.level in (ERROR, WARNING) and m.field and m.message and m.fix


def test_alternatives_from_the_brief_examples():
    long = spec("llama2-70b", tensor_parallel_size=4, max_model_len=65536)
    descriptions = [a.description for a in suggest_alternatives(long, N32)]
    assert "8 x 32 GB cards with max-model-len 32K (up to 32K)" not in descriptions
    assert "8 x 32 GB cards with max-model-len 32K (this node)" in descriptions
    # 64 GB cards would fit 64K, but this node has 32 GB cards: not offered here.
    assert not any("64 GB" in d for d in descriptions)
    w8a8 = spec("qwen2-7b", quantization="W8A8", env=QWEN_ENV)
    assert "the W4A16 variant on 1 x 64 GB card with max-model-len 4K (up to 32K) (this node)" in [
        a.description for a in suggest_alternatives(w8a8, N64)
    ]


CASES = [
    spec("llama2-13b"),
    spec("llama2-70b", tensor_parallel_size=2, max_model_len=131072),
    spec("qwen1.5-110b", tensor_parallel_size=4),
    spec("qwen2-7b", quantization="W8A8", env=QWEN_ENV),
    spec("deepseek-v2-236b"),
    spec("llama-3.1-405B", tensor_parallel_size=8),
    spec("mixtral8x7b", max_model_len=32768),
    spec("qwen2.5-72b", vllm_version="0.6.3", tensor_parallel_size=8),
]


@pytest.mark.parametrize("case", CASES, ids=lambda s: s.model)
@pytest.mark.parametrize("node", [N32, N64], ids=["32GB", "64GB"])
def test_every_offered_alternative_passes(case, node):
    for alt in suggest_alternatives(case, node):
        target = (
            node
            if "(this node)" in alt.description
            else NodeFacts(chip_name={32: "910B4", 64: "910B3"}[alt.card_gb])
        )
        assert not has_errors(check_recipe(alt.spec, target)), alt.description
        assert alt.cards == alt.spec.tensor_parallel_size


@pytest.mark.parametrize("case", CASES, ids=lambda s: s.model)
@pytest.mark.parametrize(
    "node",
    [
        N32,
        N64,
        NodeFacts(chip_name="910B3", hbm_total_mb=65536, card_count=4, free_cards=4),
        NodeFacts(chip_name="310P3", hbm_total_mb=24576, card_count=8, free_cards=8),
        NodeFacts(chip_name="custom", hbm_total_mb=32768, card_count=2, free_cards=2),
    ],
    ids=["32GB", "64GB", "4x64GB", "310P3", "2x32GB-by-hbm"],
)
def test_alternatives_use_only_the_nodes_card_size_and_count(case, node):
    gb = table_column(card_memory_gb(node))
    for alt in suggest_alternatives(case, node):
        assert alt.card_gb == gb, alt.description
        assert "(this node)" in alt.description
        assert alt.cards <= node.card_count, alt.description
        assert f"x {gb} GB card" in alt.description


def _passing_spec(row: catalog.CardRow, gb: int) -> RecipeSpec:
    """The recipe a table row says works: minimum cards, the measured length."""
    cell = row.cell(gb)
    quant = row.variant_quantization
    qrow = next((q for q in catalog.quant_table("0.6.0") if q.key == row.key), None)
    if quant is None and qrow is not None and not qrow.supports("fp16_bf16"):
        quant = qrow.supported_schemes[0]
    return spec(
        row.model,
        vllm_version=row.vllm_version,
        tensor_parallel_size=cell.min_cards,
        max_model_len=cell.max_model_len_k * 1024,
        quantization=quant,
        env=QWEN_ENV,
    )


@pytest.mark.parametrize("row", catalog.card_table(), ids=lambda r: f"{r.vllm_version}-{r.row}")
def test_every_supported_table_cell_validates_clean(row):
    for gb, node in ((32, N32), (64, N64)):
        if not row.cell(gb).supported:
            continue
        msgs = validate_recipe(_passing_spec(row, gb), node)
        if row.model == "mixtral-8x7b" and row.vllm_version == "0.6.0":
            # The stricter duplicate row 48 (mixtral8x7b) governs the length.
            assert "row 48 mixtral8x7b" in one(msgs, "max_model_len", WARNING).message
            continue
        # 0.5.0 has no model table in the seeds: the 0.6.0 one stands in, with a warning.
        assert [m for m in msgs if m.field != "vllm_version"] == [], (gb, msgs)


# ------------------------------------------------------------------ training


def asp(model: str = "llama2-7b", strategy: str = "pretrain", **kw) -> TrainingSpec:
    return TrainingSpec(framework="ascendspeed", model=model, strategy=strategy, **kw)


def lff(model: str, strategy: str, **kw) -> TrainingSpec:
    return TrainingSpec(framework="llamafactory", model=model, strategy=strategy, **kw)


def test_ascendspeed_tp_times_pp_must_divide_the_cards():
    err = one(
        validate_training(asp(tensor_parallel_size=4, pipeline_parallel_size=4)),
        "tensor_parallel_size",
        ERROR,
    )
    assert "TP 4 x PP 4 = 16 does not divide 1 node(s) x 8 cards = 8" in err.message
    three = asp(strategy="sft", tensor_parallel_size=3, pipeline_parallel_size=1)
    assert one(validate_training(three), "tensor_parallel_size", ERROR)


@pytest.mark.parametrize("row", catalog.ascendspeed_table(), ids=lambda r: r.source.cite())
def test_every_consistent_ascendspeed_row_validates_clean(row):
    layout = {"nodes": row.nodes, "cards_per_node": row.cards_per_node, "micro_batch_size": row.mbs}
    training = asp(
        row.model,
        row.strategies[0],
        seq_len=row.seq_len,
        tensor_parallel_size=row.tp,
        pipeline_parallel_size=row.pp,
        **layout,
    )
    msgs = validate_training(training, NodeFacts(chip_name="910B3"))
    if row.inconsistent:
        assert one(msgs, "tensor_parallel_size", ERROR)
        assert "inconsistent in the seed" in one(msgs, "model", WARNING).message
    else:
        assert msgs == []


def test_ascendspeed_departures_from_the_table_are_warnings():
    small = asp(
        "llama2-70b",
        "lora",
        nodes=2,
        tensor_parallel_size=8,
        pipeline_parallel_size=2,
        micro_batch_size=4,
    )
    msgs = validate_training(small)
    assert not has_errors(msgs)
    assert "fewer than the 32" in one(msgs, "cards_per_node", WARNING).message
    assert "recommends TP 8 x PP 4" in one(msgs, "pipeline_parallel_size", WARNING).message
    assert one(msgs, "micro_batch_size", WARNING)
    spans = asp(
        "qwen2-0.5b", nodes=2, cards_per_node=4, tensor_parallel_size=8, pipeline_parallel_size=1
    )
    assert "spans nodes" in one(validate_training(spans), "tensor_parallel_size", WARNING).message
    odd = asp("chatglm3-6b", "lora", seq_len=2048, cards_per_node=4)
    assert (
        "no row for chatglm3-6b lora 2048"
        in one(validate_training(odd), "seq_len", WARNING).message
    )


def test_training_layout_model_and_mount_errors():
    assert one(validate_training(asp(cards_per_node=3)), "cards_per_node", ERROR)
    assert one(
        validate_training(asp(), NodeFacts(chip_name="910B3", card_count=4)),
        "cards_per_node",
        ERROR,
    )
    assert one(validate_training(asp("gpt-5")), "model", ERROR)
    assert one(
        validate_training(TrainingSpec("deepspeed", "llama2-7b", "pretrain")), "framework", ERROR
    )
    assert one(validate_training(asp(strategy="full")), "strategy", ERROR)
    assert one(validate_training(lff("qwen2-7b", "pretrain")), "strategy", ERROR)
    home = asp(mounts=(Mount("/data", "/home/ma-user/ws"),))
    assert one(validate_training(home), "mounts", ERROR)


@pytest.mark.parametrize("row", catalog.llamafactory_table(), ids=lambda r: f"row{r.row}")
def test_every_llamafactory_row_validates_clean(row):
    seq = row.cutoff_len[0]
    for key in row.model_keys:
        for strategy in row.strategies:
            first = next(
                r
                for r in catalog.llamafactory_table()
                if key in r.model_keys and strategy in r.strategies and seq in r.cutoff_len
            )
            if first is not row:
                continue  # an earlier row answers this query
            gas = row.gradient_accumulation_steps
            training = lff(
                key,
                strategy,
                seq_len=seq,
                nodes=row.nodes,
                cards_per_node=row.cards_per_node,
                gradient_accumulation_steps=gas,
                deepspeed=row.deepspeed,
            )
            assert validate_training(training) == []


def test_llamafactory_departures_are_warnings():
    lf = lff(
        "falcon-11b",
        "full",
        seq_len=8192,
        cards_per_node=4,
        deepspeed="ZeRO-3",
        gradient_accumulation_steps=4,
    )
    msgs = validate_training(lf)
    assert not has_errors(msgs)
    assert "1 node(s) x 8 cards" in one(msgs, "cards_per_node", WARNING).message
    assert "ZeRO-2" in one(msgs, "deepspeed", WARNING).fix
    assert one(msgs, "gradient_accumulation_steps", WARNING)
