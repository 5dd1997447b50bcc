"""The catalog JSON against the Chinese seed text it was transcribed from."""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path

import pytest

from jobs.catalog import data as catalog

SEEDS_DIR = Path(
    os.environ.get("NPUFLEET_SEEDS_DIR", Path(__file__).resolve().parents[3] / "shared" / "seeds")
)
DATA_DIR = Path(catalog.__file__).parent
S000 = "000_3488d1d18b105c17.txt"
S002 = "002_959b3a0a9ce8e9b2.txt"
CARD_HEAD = "序号 模型名 32GB显存 64GB显存 最小卡数 最大序列(K) max-model-len 最小卡数 最大序列(K) max-model-len "


@cache
def _lines(seed: str) -> tuple[str, ...]:
    path = SEEDS_DIR / seed
    if not path.exists():
        pytest.fail(
            f"seed manuals not found: expected {path} (set NPUFLEET_SEEDS_DIR, or put the "
            "'shared' folder next to the repository root)",
            pytrace=False,
        )
    return tuple(path.read_text(encoding="utf-8").splitlines())


def seed_line(seed: str, number: int) -> str:
    """Line `number` (1-based) of a seed file."""
    return _lines(seed)[number - 1]


def _raw(name: str) -> dict:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


# ------------------------------------------------------------------ row counts


def test_row_counts_match_the_seed_tables():
    assert len(catalog.card_table("0.6.0")) == 50
    assert len(catalog.card_table("0.5.0")) == 38
    assert len(catalog.quant_table("0.6.0")) == 51
    assert len(catalog.quant_table("0.6.3")) == 69
    assert len(catalog.ascendspeed_table()) == 124
    assert len(catalog.llamafactory_table()) == 65
    assert len(catalog.card_table()) == 88


def test_row_numbers_are_the_seed_numbers_in_order():
    for version in ("0.6.0", "0.5.0"):
        assert [r.row for r in catalog.card_table(version)] == list(
            range(1, len(catalog.card_table(version)) + 1)
        )
    for version in ("0.6.0", "0.6.3"):
        assert [r.row for r in catalog.quant_table(version)] == list(
            range(1, len(catalog.quant_table(version)) + 1)
        )
    assert sorted({r.row for r in catalog.ascendspeed_table()}) == list(range(1, 33))


# ------------------------------------------------------------------ card table


def _seed_card_rows(text: str) -> dict[int, tuple[str, list[int | None]]]:
    """Parse the flattened seed table: '序号 model c32 len32 c64 len64', '-' unsupported."""
    body = text.split(CARD_HEAD, 1)[1].split(" “-”表示不支持", 1)[0].split(" 父主题", 1)[0]
    tokens = body.split()
    rows: dict[int, tuple[str, list[int | None]]] = {}
    i = 0
    while i < len(tokens):
        number, model = int(tokens[i]), tokens[i + 1]
        i += 2
        cells: list[int | None] = []
        while len(cells) < 4:
            token = tokens[i]
            i += 1
            if token == "--":
                cells += [None, None]
            else:
                cells.append(None if token == "-" else int(token))
        rows[number] = (model, cells)
    return rows


@pytest.mark.parametrize(("version", "line"), [("0.6.0", 7), ("0.5.0", 55)])
def test_every_card_row_matches_the_seed_text(version, line):
    text = seed_line(S000, line)
    assert f"基于vLLM(v{version})部署推理服务时" in text
    assert "以下值是在gpu-memory-utilization为0.9时测试得出" in text
    seed_rows = _seed_card_rows(text)
    rows = catalog.card_table(version)
    assert len(seed_rows) == len(rows)
    for row in rows:
        model, cells = seed_rows[row.row]
        assert row.model == model
        got = [row.gb32.min_cards, row.gb32.max_model_len_k]
        got += [row.gb64.min_cards, row.gb64.max_model_len_k]
        assert got == cells, (version, row.row)
        assert row.source.seed == S000 and row.source.line == line and row.source.row == row.row
        assert row.source.table == "表1 基于vLLM不同模型推理支持最小卡数和最大序列说明"
        assert f" {row.printed} " in f" {text} "


@pytest.mark.parametrize(
    ("version", "number", "model", "values"),
    [
        ("0.6.0", 5, "llama2-13b", (2, 16, 1, 16)),
        ("0.6.0", 18, "qwen1.5-110b", (None, None, 8, 128)),
        ("0.6.0", 32, "deepseek-coder-instruct-33b", (4, 32, 2, 64)),
        ("0.6.0", 35, "mixtral-8x7b", (4, 8, 2, 32)),
        ("0.6.0", 44, "internvl2-26b", (2, 8, 1, 8)),
        ("0.6.0", 45, "MiniCPM-v2.6", (4, 16, 4, 32)),
        ("0.6.0", 46, "llama-3.1-405B-AWQ", (None, None, 8, 32)),
        ("0.6.0", 48, "mixtral8x7b", (4, 4, 2, 16)),
        ("0.6.0", 50, "deepseek-v2-236b", (None, None, 8, 4)),
        ("0.5.0", 12, "qwen1.5-0.5b", (1, 128, 1, 256)),
        ("0.5.0", 18, "qwen1.5-110b", (None, None, 8, 128)),
        ("0.5.0", 27, "baichuan2-13b", (2, 4, 1, 4)),
        ("0.5.0", 38, "falcon-11b", (1, 8, 1, 64)),
    ],
)
def test_card_rows_sampled_by_hand(version, number, model, values):
    row = catalog.card_table(version)[number - 1]
    assert row.model == model
    assert (row.gb32.min_cards, row.gb32.max_model_len_k) == values[:2]
    assert (row.gb64.min_cards, row.gb64.max_model_len_k) == values[2:]


def test_card_table_0_5_0_double_dash_is_both_32gb_cells():
    assert "18 qwen1.5-110b -- 8 128" in seed_line(S000, 55)
    row = catalog.card_table("0.5.0")[17]
    assert row.printed == "18 qwen1.5-110b -- 8 128"
    assert not row.gb32.supported and row.gb64.supported
    assert row.note and "--" in row.note


def test_both_mixtral_rows_are_kept_as_printed():
    names = [(r.row, r.model) for r in catalog.card_table("0.6.0") if r.key == "mixtral-8x7b"]
    assert names == [(35, "mixtral-8x7b"), (48, "mixtral8x7b")]


# ------------------------------------------------------------------ export


def test_export_cells_is_one_object_per_cell_with_printed_names():
    cells = catalog.export_cells()
    assert len(cells) == (50 + 38) * 2
    assert all(
        set(c) == {"model", "vllm_version", "card_gb", "min_cards", "max_model_len_k"}
        for c in cells
    )
    assert json.loads(json.dumps(cells)) == cells
    assert {
        "model": "qwen1.5-110b",
        "vllm_version": "0.5.0",
        "card_gb": 32,
        "min_cards": None,
        "max_model_len_k": None,
    } in cells
    assert {
        "model": "deepseek-coder-instruct-33b",
        "vllm_version": "0.6.0",
        "card_gb": 64,
        "min_cards": 2,
        "max_model_len_k": 64,
    } in cells
    printed = {r.model for r in catalog.card_table()}
    assert {c["model"] for c in cells} == printed
    assert {c["card_gb"] for c in cells} == {32, 64}


# ------------------------------------------------------------------ quant tables

QUANT_HEAD = "是否支持 kv-cache-int8量化 开源权重获取地址 "
QUANT_ROW = re.compile(r"(?:^| )(\d+) (\S+) ([√x]) ([√x]) ([√x]) ([√x]) ([√x]) ")


@pytest.mark.parametrize(
    ("version", "seed", "line", "end"),
    [("0.6.0", S000, 43, " 各模型支持的卡数"), ("0.6.3", S002, 27, " 注意:需要修改源文件")],
)
def test_every_quant_row_matches_the_seed_text(version, seed, line, end):
    text = seed_line(seed, line)
    assert f"本方案支持vLLM的v{version}版本" in text
    body = text.split(QUANT_HEAD, 1)[1].split(end, 1)[0]
    found = list(QUANT_ROW.finditer(body))
    rows = catalog.quant_table(version)
    assert len(found) == len(rows)
    for match, nxt, row in zip(found, [*found[1:], None], rows, strict=True):
        assert int(match.group(1)) == row.row
        assert match.group(2) == row.model
        marks = ["√" if row.supports(c) else "x" for c in catalog.types.QUANT_COLUMNS]
        assert list(match.groups()[2:]) == marks, (version, row.row)
        weights = body[match.end() : nxt.start() if nxt else len(body)].strip()
        assert row.weights_text == weights
        assert row.source.seed == seed and row.source.table == "表3 支持的模型列表和权重获取地址"


def test_quant_rows_sampled_by_hand():
    v060 = {r.model: r for r in catalog.quant_table("0.6.0")}
    v063 = {r.model: r for r in catalog.quant_table("0.6.3")}
    assert v060["qwen2-7b"].supported_schemes == ("W4A16", "W8A16")
    assert not v060["deepseek-v2-236b"].supports("fp16_bf16")
    assert v060["deepseek-v2-236b"].supported_schemes == ("W8A8",)
    assert v060["llama2-7b"].supports("kv_cache_int8")
    assert not v060["qwen-7b"].supports("kv_cache_int8")
    assert v060["llama-3.1-405B"].supported_schemes == ("W4A16",)
    assert (
        v060["llava-v1.6-34b"].weights_text == "llava-hf/llava-v1.6-34b-hf at main (huggingface.co)"
    )
    assert v060["llava-v1.6-34b"].weight_urls == ()
    assert v060["internvl2-26B"].weights_text == "OpenGVLab/InternVL2-26B at main (huggingface.co)"
    assert v063["llava-v1.6-34b"].weight_urls == (
        "https://huggingface.co/llava-hf/llava-v1.6-34b-hf/tree/main",
    )
    assert v063["llama-3.2-1B"].weights_text == "Llama-3.2-1B-Instruct · 模型库 (modelscope.cn)"
    assert v063["qwen2.5-7b"].supported_schemes == ("W4A16", "W8A16")
    assert v060["llama2-70b"].weight_urls == (
        "https://huggingface.co/meta-llama/Llama-2-70b-hf",
        "https://huggingface.co/meta-llama/Llama-2-70b-chat-hf",
    )


# ------------------------------------------------------------------ aliases


def test_aliases_resolve_every_spelling_to_its_family():
    assert catalog.resolve_model("deepseek-coder-instruct-33b") == "deepseek-coder-33b-instruct"
    assert catalog.resolve_model("deepseek-coder-33b-instruct") == "deepseek-coder-33b-instruct"
    assert catalog.resolve_model("internvl2-26B") == catalog.resolve_model("internvl2-26b")
    assert catalog.resolve_model("llama-3.1-405B-AWQ") == catalog.resolve_model("llama-3.1-405B")
    assert catalog.resolve_model("mixtral8x7b") == "mixtral-8x7b"
    assert catalog.resolve_model("glm3-6b") == "chatglm3-6b"
    assert catalog.resolve_model("Unknown-Model") == "unknown-model"
    assert catalog.variant_quantization("llama-3.1-405B-AWQ") == "W4A16"
    for fam in catalog.aliases():
        for name in fam.spellings:
            assert catalog.resolve_model(name) == fam.key
        assert fam.seen_in, fam.key


def test_alias_provenance_points_at_rows_that_print_the_spelling():
    tables = {
        "card_table/0.6.0": catalog.card_table("0.6.0"),
        "card_table/0.5.0": catalog.card_table("0.5.0"),
        "quant_table/0.6.0": catalog.quant_table("0.6.0"),
        "quant_table/0.6.3": catalog.quant_table("0.6.3"),
    }
    for fam in catalog.aliases():
        for spelling, table, row in fam.seen_in:
            if table in tables:
                assert tables[table][row - 1].model == spelling


def test_keys_are_unique_per_table_except_the_two_mixtral_rows():
    for version in ("0.6.0", "0.5.0"):
        keys = [r.key for r in catalog.card_table(version)]
        dupes = {k for k in keys if keys.count(k) > 1}
        assert dupes == ({"mixtral-8x7b"} if version == "0.6.0" else set())
    for version in ("0.6.0", "0.6.3"):
        keys = [r.key for r in catalog.quant_table(version)]
        assert len(keys) == len(set(keys))


def test_card_models_all_appear_in_the_0_6_0_model_table():
    quant_keys = {r.key for r in catalog.quant_table("0.6.0")}
    assert {r.key for r in catalog.card_table("0.6.0")} <= quant_keys


# ------------------------------------------------------------------ AscendSpeed

AS_SUB = re.compile(
    r"(?:(\d+) (?:(\S+) )?(\S+) )?(pretrain/sft|lora) (?:(\d{4}) )?TP\(tensor model parallel "
    r"size\)=(\d+) PP\(pipeline model parallel size\)=(\d+) (\d+) (\d+)\*节点 & (\d+)\*Ascend"
)


def test_every_ascendspeed_row_matches_the_seed_text():
    text = seed_line(S002, 41)
    assert "表2 不同模型推荐的参数与NPU卡数设置" in text
    found = list(AS_SUB.finditer(text))
    rows = catalog.ascendspeed_table()
    assert len(found) == len(rows) == 124
    model = seq = None
    for match, row in zip(found, rows, strict=True):
        number, _family, name, strategy, seq_len, tp, pp, mbs, nodes, cards = match.groups()
        if name:
            model, seq = name, None
            assert int(number) == row.row
        seq = int(seq_len) if seq_len else seq
        assert (row.model, row.strategy, row.seq_len) == (model, strategy, seq)
        got = (row.tp, row.pp, row.mbs, row.nodes, row.cards_per_node)
        assert got == tuple(int(x) for x in (tp, pp, mbs, nodes, cards)), row.source.cite()
        assert row.printed in text


def test_ascendspeed_rows_sampled_by_hand():
    rows = {(r.model, r.strategy, r.seq_len): r for r in catalog.ascendspeed_table()}
    r = rows[("llama2-70b", "pretrain/sft", 8192)]
    assert (r.tp, r.pp, r.mbs, r.nodes, r.cards_per_node) == (8, 8, 1, 8, 8)
    r = rows[("glm3-6b", "lora", 4096)]
    assert (r.tp, r.pp, r.mbs, r.nodes, r.cards_per_node) == (1, 2, 2, 1, 4)
    assert r.family == "ChatGLMv3"
    r = rows[("mixtral-8x7b", "pretrain/sft", 8192)]
    assert (r.tp, r.pp, r.nodes) == (2, 8, 2)
    assert [x.sub_row for x in catalog.ascendspeed_table() if x.model == "mistral-7b"] == [1, 2]


def test_inconsistent_ascendspeed_rows_are_flagged_not_fixed():
    flagged = [r for r in catalog.ascendspeed_table() if r.inconsistent]
    bad = [r for r in catalog.ascendspeed_table() if r.total_cards % (r.tp * r.pp)]
    assert flagged == bad
    assert [(r.model, r.strategy, r.seq_len) for r in flagged] == [
        ("baichuan2-13b", "pretrain/sft", 8192)
    ]
    assert (flagged[0].tp, flagged[0].pp, flagged[0].nodes) == (8, 2, 1)


# ------------------------------------------------------------------ LLaMA-Factory

LF_HEAD = "优化工具(Deepspeed) 规格与节点数 "


def _lf_printed(row: catalog.LlamaFactoryRow) -> str:
    """Re-print a row the way the seed flattens it (merged cells left out)."""
    parts = []
    cells = {
        "model": row.model,
        "template": row.template,
        "size": row.size,
        "strategy": "/".join(row.strategies),
        "cutoff_len": "/".join(str(n) for n in row.cutoff_len),
    }
    for name, value in cells.items():
        if name not in row.merged_cells:
            parts.append(value)
    parts += [
        f"gradient_accumulation_steps: {row.gradient_accumulation_steps}",
        row.deepspeed,
        f"{row.nodes}*节点 & {row.cards_per_node}*Ascend",
    ]
    return " ".join(parts)


def test_llamafactory_table_reprints_to_the_seed_text_exactly():
    text = seed_line(S002, 55)
    assert "表1 NPU卡数、加速框架、梯度配置取值表" in text
    body = text.split(LF_HEAD, 1)[1].split(" 以上参数为开启NPU FlashAttention", 1)[0]
    rows = catalog.llamafactory_table()
    assert " ".join(_lf_printed(r) for r in rows) == body


def test_llamafactory_rows_sampled_by_hand():
    rows = catalog.llamafactory_table()
    r = rows[29]
    assert (r.model, r.size, r.strategies, r.cutoff_len) == ("Qwen2_vl", "7B", ("full",), (8192,))
    assert (r.deepspeed, r.zero_stage, r.offload, r.nodes, r.cards_per_node) == (
        "ZeRO-2-Offload",
        2,
        True,
        1,
        8,
    )
    r = rows[62]
    assert (r.model, r.size, r.strategies, r.cutoff_len, r.nodes, r.cards_per_node) == (
        "Yi",
        "34B",
        ("lora",),
        (4096,),
        1,
        4,
    )
    assert set(r.merged_cells) == {"model", "template", "size", "cutoff_len"}
    assert rows[24].model_keys == ("qwen2-0.5b", "qwen2-1.5b")
    assert rows[55].model_keys == ("falcon-11b",)
    assert all(r.source.row == i for i, r in enumerate(rows, 1))


# ------------------------------------------------------------------ images, software, facts


def test_base_images_are_quoted_from_the_seeds():
    images = catalog.base_images()
    assert len(images) == 9
    for image in images:
        line = seed_line(image.source.seed, image.source.line)
        assert image.image in line
        assert image.image.startswith("swr.cn-southwest-2.myhuaweicloud.com/atelier/")
        assert f"cann_{image.versions['cann']}" in image.tag
        assert f"pytorch_{image.versions['pytorch']}" in image.tag
        if image.versions_printed:
            assert image.versions_printed in line
    inference_060 = images[0]
    assert inference_060.tag.endswith("20240910112800-2a95df3")
    assert inference_060.versions["cann"] == "8.0.rc3"


def test_software_stacks_per_seed():
    stacks = {(s.seed[:3], s.vllm): s for s in catalog.software()}
    s = stacks[("000", "0.6.0")]
    assert (s.ascendcloud, s.cann, s.driver) == ("6.3.909", "8.0.rc3", "23.0.6")
    s = stacks[("002", "0.6.3")]
    assert (s.ascendcloud, s.cann, s.driver) == ("6.3.911", "8.0.rc3", "23.0.6")
    assert stacks[("000", "0.5.0")].ascendcloud == "6.3.908"


def test_every_quoted_fact_is_verbatim_in_its_seed():
    def quotes(node):
        if isinstance(node, dict):
            if {"seed", "line", "text"} <= set(node):
                yield node
            for value in node.values():
                yield from quotes(value)
        elif isinstance(node, list):
            for value in node:
                yield from quotes(value)

    found = list(quotes(_raw("vllm.json"))) + list(quotes(_raw("base_images.json")))
    assert len(found) > 15
    for quote in found:
        assert quote["text"] in seed_line(quote["seed"], quote["line"])


def test_quantization_flags_and_env_requirement():
    flags = {f.scheme: f for f in catalog.quantization_flags()}
    assert flags["W8A8"].flag == "smoothquant" and flags["W8A8"].verified_in_seed
    assert flags["W4A16"].flag == "awq"
    assert flags["W8A16"].flag == "gptq" and not flags["W8A16"].verified_in_seed
    req = catalog.env_requirements()[0]
    assert (req.env, req.value, req.models) == ("USE_PFA_HIGH_PRECISION_MODE", "1", ("qwen2-7b",))


def test_every_record_carries_its_provenance():
    for row in catalog.card_table() + catalog.quant_table("0.6.0") + catalog.quant_table("0.6.3"):
        assert row.source.seed.endswith(".txt") and row.source.table.startswith("表")
        assert row.source.row == row.row
    for row in catalog.ascendspeed_table():
        assert (row.source.row, row.source.sub_row) == (row.row, row.sub_row)
    assert catalog.card_table("0.6.0")[4].source.cite("0.6.0") == (
        "seed 000 table 1 (vLLM 0.6.0) row 5"
    )
