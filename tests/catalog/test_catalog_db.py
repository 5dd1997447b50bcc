"""The catalog in the database: loaded by the migration, exported, edited by admins, used by planning."""

from __future__ import annotations

import io
import json
import os
from functools import cache
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from fleet.errors import Invalid, NotAllowed
from jobs.catalog import data as catalog_data
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
from jobs.catalog.planning import ERROR, NodeFacts, RecipeSpec, validate_recipe
from jobs.catalog.services import catalog_edits, recipes
from jobs.catalog.services.catalog import DbCatalog, catalog_lines, export_cells
from jobs.catalog.services.placement import placement_for
from tests.catalog.conftest import inference

pytestmark = pytest.mark.django_db

SEEDS_DIR = Path(
    os.environ.get("NPUFLEET_SEEDS_DIR", Path(__file__).resolve().parents[3] / "shared" / "seeds")
)
N32 = NodeFacts(chip_name="910B4", hbm_total_mb=32768, card_count=8, free_cards=8)
TODAY = f"{timezone.localdate():%Y-%m-%d}"


@cache
def _seed_lines(seed: str) -> tuple[str, ...]:
    path = SEEDS_DIR / seed
    if not path.exists():
        pytest.fail(
            f"seed manuals not found: expected {path} (set NPUFLEET_SEEDS_DIR, or put the "
            "'shared' folder next to the repository root)",
            pytrace=False,
        )
    return tuple(path.read_text(encoding="utf-8").splitlines())


def card_row(version: str, row: int) -> CardRequirement:
    return CardRequirement.objects.get(version__version=version, row=row)


# ------------------------------------------------------------------ the data migration


def test_migration_loads_the_row_counts_of_every_seed_table():
    counts = {
        v.version: (v.card_rows.count(), v.support_rows.count()) for v in VllmVersion.objects.all()
    }
    assert counts == {"0.6.0": (50, 51), "0.5.0": (38, 0), "0.6.3": (0, 69)}
    assert AscendSpeedSetting.objects.count() == 124
    assert LlamaFactorySetting.objects.count() == 65
    assert BaseImage.objects.count() == len(catalog_data.base_images())
    assert SoftwareStack.objects.count() == len(catalog_data.software())


def test_database_rows_equal_the_seed_json_record_for_record():
    db = DbCatalog()
    assert db.card_table() == catalog_data.card_table()
    for version in catalog_data.quant_versions():
        assert db.quant_table(version) == catalog_data.quant_table(version)
    assert db.ascendspeed_table() == catalog_data.ascendspeed_table()
    assert db.llamafactory_table() == catalog_data.llamafactory_table()
    assert db.base_images() == catalog_data.base_images()
    assert db.software() == catalog_data.software()
    assert db.vllm_versions() == catalog_data.vllm_versions()
    assert db.card_versions() == catalog_data.card_versions()
    assert db.quant_versions() == catalog_data.quant_versions()
    for table in ("card_table", "quant_table"):
        for version in catalog_data.vllm_versions():
            assert db.fallback_version(table, version) == catalog_data.fallback_version(
                table, version
            )


def test_every_alias_spelling_resolves_as_in_the_json():
    db = DbCatalog()
    for family in catalog_data.aliases():
        names = [family.key, *family.spellings, *(v.spelling for v in family.variants)]
        for name in names:
            assert db.resolve_model(name) == catalog_data.resolve_model(name) == family.key
            assert db.variant_quantization(name) == catalog_data.variant_quantization(name)
    assert db.resolve_model("Unknown-Model") == "unknown-model"


def test_both_mixtral_rows_are_kept_as_the_table_prints_them():
    rows = CardRequirement.objects.filter(version__version="0.6.0", model__startswith="mixtral")
    assert [(r.row, r.model, r.cell(32), r.cell(64)) for r in rows] == [
        (35, "mixtral-8x7b", (4, 8), (2, 32)),
        (48, "mixtral8x7b", (4, 4), (2, 16)),
    ]


@pytest.mark.parametrize(
    "model",
    [CardRequirement, ModelSupport, AscendSpeedSetting, LlamaFactorySetting],
    ids=lambda m: m.__name__,
)
def test_every_seeded_row_is_printed_on_the_seed_line_it_cites(model):
    rows = list(model.objects.all())
    assert rows
    for row in rows:
        assert row.printed in _seed_lines(row.seed)[row.seed_line - 1], row.provenance


def test_sample_rows_carry_their_values_and_citation():
    llama = card_row("0.6.0", 5)
    assert (llama.model, llama.cell(32), llama.cell(64)) == ("llama2-13b", (2, 16), (1, 16))
    assert llama.provenance == "seed 000 table 1 (vLLM 0.6.0) row 5"
    assert llama.seed == "000_3488d1d18b105c17.txt" and llama.seed_line == 7
    unsupported = card_row("0.6.0", 18)
    assert unsupported.model == "qwen1.5-110b" and unsupported.cell(32) == (None, None)
    old = card_row("0.5.0", 1)
    assert (old.model, old.cell(64), old.provenance) == (
        "llama-7b",
        (1, 32),
        "seed 000 table 1 (vLLM 0.5.0) row 1",
    )
    qwen = ModelSupport.objects.get(version__version="0.6.0", row=27)
    assert qwen.model == "qwen2-7b" and qwen.support()["W8A8"] is False and qwen.w4a16
    new = ModelSupport.objects.get(version__version="0.6.3", row=58)
    assert new.model == "internvl2-26B" and new.provenance == "seed 002 table 3 (vLLM 0.6.3) row 58"
    odd = AscendSpeedSetting.objects.get(row=16, sub_row=3)
    assert (odd.model, odd.tp, odd.pp, odd.nodes) == ("baichuan2-13b", 8, 2, 1)
    assert "does not divide" in odd.inconsistent
    version = VllmVersion.objects.get(version="0.6.3")
    assert version.card_table_fallback.version == "0.6.0" and "appendix" in version.fallback_note


# ------------------------------------------------------------------ export


def test_catalog_export_json_prints_the_176_cells_of_export_cells():
    out = io.StringIO()
    call_command("catalog", "export", "--json", stdout=out)
    cells = json.loads(out.getvalue())
    assert cells == catalog_data.export_cells() == export_cells()
    assert len(cells) == 176
    assert set(cells[0]) == {"model", "vllm_version", "card_gb", "min_cards", "max_model_len_k"}
    dash = [c for c in cells if c["model"] == "qwen1.5-110b" and c["card_gb"] == 32]
    assert dash and all(c["min_cards"] is None and c["max_model_len_k"] is None for c in dash)
    assert {c["model"] for c in cells} >= {"mixtral-8x7b", "mixtral8x7b", "llama-3.1-405B-AWQ"}


def test_export_reflects_admin_edits(admin_user):
    catalog_edits.update_row(admin_user, card_row("0.6.0", 5), {"min_cards_32": 4})
    cell = next(
        c
        for c in export_cells()
        if c["model"] == "llama2-13b" and c["vllm_version"] == "0.6.0" and c["card_gb"] == 32
    )
    assert cell["min_cards"] == 4


def test_plain_export_prints_a_dash_for_unsupported_cells():
    out = io.StringIO()
    call_command("catalog", "export", stdout=out)
    line = next(x for x in out.getvalue().splitlines() if "qwen1.5-110b" in x and "32GB" in x)
    assert line.split()[-2:] == ["-", "-"]


# ------------------------------------------------------------------ admin edits reach planning


def test_an_edited_row_governs_validation_and_cites_the_edit(admin_user, node32):
    catalog_edits.update_row(admin_user, card_row("0.6.0", 5), {"min_cards_32": 4})
    spec = RecipeSpec(model="llama2-13b", tensor_parallel_size=2)
    assert validate_recipe(spec, N32, catalog=catalog_data) == []  # the shipped JSON is unchanged
    found = recipes.review(
        "inference", recipes.content_of("inference", inference()), placement_for(node32, None, 2)
    )
    error = next(m for m in found if m.field == "tensor_parallel_size")
    assert error.level == ERROR
    assert error.message.startswith(
        f"seed 000 table 1 (vLLM 0.6.0) row 5, edited by alice-admin on {TODAY} llama2-13b: "
        "32 GB cards need at least 4"
    )
    row = card_row("0.6.0", 5)
    assert row.edited_by == admin_user and row.provenance == "seed 000 table 1 (vLLM 0.6.0) row 5"


def test_an_added_row_gets_the_next_number_and_an_added_by_provenance(admin_user):
    version = VllmVersion.objects.get(version="0.6.0")
    values = {"version": version, "model": "qwen2.5-7b", "min_cards_64": 1}
    row = catalog_edits.add_row(admin_user, "card", {**values, "max_model_len_k_64": 32})
    assert row.row == 51 and row.provenance == f"added by alice-admin on {TODAY}"
    assert not row.from_seed
    spec = RecipeSpec(model="qwen2.5-7b", max_model_len=65536, max_num_batched_tokens=65536)
    found = validate_recipe(spec, NodeFacts(chip_name="910B3"), catalog=DbCatalog())
    warning = next(m for m in found if m.field == "max_model_len")
    assert f"catalog (vLLM 0.6.0) row 51, added by alice-admin on {TODAY} qwen2.5-7b" in (
        warning.message
    )


def test_a_new_version_copies_the_rows_it_starts_from(admin_user):
    spec = RecipeSpec(model="llama2-13b", vllm_version="0.7.0", tensor_parallel_size=2)
    before = validate_recipe(spec, N32, catalog=DbCatalog())
    assert [m.field for m in before if m.level == ERROR] == ["vllm_version"]
    copy_from = VllmVersion.objects.get(version="0.6.0")
    new = catalog_edits.add_vllm_version(admin_user, "0.7.0", copy_from=copy_from)
    assert (new.card_rows.count(), new.support_rows.count()) == (50, 51)
    copied = new.card_rows.get(row=5)
    assert copied.provenance == (
        f"copied from seed 000 table 1 (vLLM 0.6.0) row 5 by alice-admin on {TODAY}"
    )
    assert validate_recipe(spec, N32, catalog=DbCatalog()) == []
    with pytest.raises(Invalid) as exc:
        catalog_edits.add_vllm_version(admin_user, "0.7.0")
    assert exc.value.field == "version"


def test_an_added_alias_lets_a_new_spelling_through(admin_user):
    spec = RecipeSpec(model="Llama-2-13b-chat", tensor_parallel_size=2)
    assert validate_recipe(spec, N32, catalog=DbCatalog())[0].field == "model"
    catalog_edits.add_row(
        admin_user, "alias", {"family": "llama2-13b", "spelling": "Llama-2-13b-chat"}
    )
    assert validate_recipe(spec, N32, catalog=DbCatalog()) == []
    assert ModelAlias.objects.get(spelling="Llama-2-13b-chat").provenance.startswith("added by")


def test_a_cell_needs_both_numbers_or_neither(admin_user):
    with pytest.raises(Invalid) as exc:
        catalog_edits.update_row(admin_user, card_row("0.6.0", 5), {"min_cards_32": None})
    assert exc.value.field == "min_cards_32"
    assert card_row("0.6.0", 5).min_cards_32 == 2


def test_only_site_admins_change_the_catalog(member_user):
    with pytest.raises(NotAllowed):
        catalog_edits.update_row(member_user, card_row("0.6.0", 5), {"min_cards_32": 4})
    with pytest.raises(NotAllowed):
        catalog_edits.add_vllm_version(member_user, "0.9.0")
    assert card_row("0.6.0", 5).edited_at is None


def test_catalog_lines_filter_by_memory_cards_and_quantization():
    db = DbCatalog()
    every = catalog_lines(db, "0.6.0")
    assert len([line for line in every if line.card]) == 50
    small = catalog_lines(db, "0.6.0", card_gb=32, cards=1)
    assert small and all(line.card.gb32.min_cards == 1 for line in small)
    w8a8 = catalog_lines(db, "0.6.0", quantization="W8A8")
    assert "qwen2-7b" not in {line.key for line in w8a8}
    assert "llama2-13b" in {line.key for line in w8a8}
    awq = catalog_lines(db, "0.6.0", quantization="W4A16", search="405")
    assert [line.model for line in awq] == ["llama-3.1-405B-AWQ"]
    fallback = catalog_lines(db, "0.6.3", search="qwen2.5-7b")
    assert fallback and fallback[0].card is None and fallback[0].support.vllm_version == "0.6.3"
