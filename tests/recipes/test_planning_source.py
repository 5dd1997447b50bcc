"""Planning reads an injected catalog only while asked to, and the seed JSON otherwise."""

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
from jobs.catalog.planning.source import active, using

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
    assert active() is catalog_data


def test_training_validation_takes_an_injected_catalog_too():
    spec = TrainingSpec(framework="ascendspeed", model="llama2-7b", strategy="pretrain")
    assert validate_training(spec) == []
    found = validate_training(spec, catalog=stricter_source())
    assert [(m.field, m.level) for m in found] == [("model", "error")]


def test_the_source_is_restored_after_an_error_and_nests():
    outer, inner = stricter_source(), stricter_source()
    with pytest.raises(RuntimeError), using(outer):
        with using(inner):
            assert active() is inner
        assert active() is outer
        raise RuntimeError("boom")
    assert active() is catalog_data
    with using(None):
        assert active() is catalog_data
