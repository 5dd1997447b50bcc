"""Planning reads an injected catalog only while asked to, and the database rows otherwise."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from jobs.catalog import data as catalog_data
from jobs.catalog.data import CardCell
from jobs.catalog.planning import (
    NodeFacts,
    RecipeSpec,
    TrainingSpec,
    validate_recipe,
    validate_training,
)
from jobs.catalog.planning.source import resolve
from jobs.catalog.tables import DbCatalog

pytestmark = pytest.mark.django_db

N32 = NodeFacts(chip_name="910B4", card_count=8)


def stricter_source() -> SimpleNamespace:
    """The seed catalog, except llama2-13b needs 4 x 32 GB cards and AscendSpeed is empty."""
    rows = tuple(
        replace(r, gb32=CardCell(4, 8)) if r.model == "llama2-13b" else r
        for r in catalog_data.card_table()
    )

    def card_table(version: str | None = None):
        return rows if version is None else tuple(r for r in rows if r.vllm_version == version)

    names = [n for n in dir(catalog_data) if not n.startswith("_")]
    source = SimpleNamespace(**{n: getattr(catalog_data, n) for n in names})
    source.card_table = card_table
    source.ascendspeed_table = lambda: ()
    return source


def test_validation_uses_the_injected_catalog_only_for_that_call():
    spec = RecipeSpec(model="llama2-13b", tensor_parallel_size=2)
    source = stricter_source()
    assert validate_recipe(spec, N32) == []
    found = validate_recipe(spec, N32, catalog=source)
    assert [m.field for m in found] == ["tensor_parallel_size"]
    assert "need at least 4" in found[0].message
    assert validate_recipe(spec, N32) == []
    assert isinstance(resolve(None), DbCatalog)


def test_training_validation_takes_an_injected_catalog_too():
    spec = TrainingSpec(framework="ascendspeed", model="llama2-7b", strategy="pretrain")
    assert validate_training(spec) == []
    found = validate_training(spec, catalog=stricter_source())
    assert [(m.field, m.level) for m in found] == [("model", "error")]


def test_a_failing_injected_catalog_leaves_later_calls_on_the_database_rows():
    spec = RecipeSpec(model="llama2-13b", tensor_parallel_size=2)
    broken = stricter_source()

    def card_table(version: str | None = None):
        raise RuntimeError("boom")

    broken.card_table = card_table
    with pytest.raises(RuntimeError):
        validate_recipe(spec, N32, catalog=broken)
    assert validate_recipe(spec, N32) == []
    assert resolve(None) is not broken
    assert [m.field for m in validate_recipe(spec, N32, catalog=stricter_source())] == [
        "tensor_parallel_size"
    ]
