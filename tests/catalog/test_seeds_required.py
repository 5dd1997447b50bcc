"""Tests that quote the seed manuals fail, never skip, when the manuals are missing."""

from __future__ import annotations

import importlib

import pytest

READERS = [
    ("tests.catalog.test_render", "_lines"),
    ("tests.catalog.test_catalog_data", "_lines"),
    ("tests.catalog.test_catalog_db", "_seed_lines"),
]
S000 = "000_3488d1d18b105c17.txt"


@pytest.mark.parametrize(("module_name", "reader_name"), READERS)
def test_a_missing_seed_folder_fails_the_test_naming_the_path(
    module_name, reader_name, tmp_path, monkeypatch
):
    module = importlib.import_module(module_name)
    reader = getattr(module, reader_name)
    missing = tmp_path / "no-seeds-here"
    monkeypatch.setattr(module, "SEEDS_DIR", missing)
    reader.cache_clear()
    try:
        with pytest.raises(pytest.fail.Exception) as failed:
            reader(S000)
    finally:
        reader.cache_clear()
    assert str(missing / S000) in str(failed.value)
    assert "NPUFLEET_SEEDS_DIR" in str(failed.value)


@pytest.mark.parametrize(("module_name", "reader_name"), READERS)
def test_the_seed_folder_is_present(module_name, reader_name):
    reader = getattr(importlib.import_module(module_name), reader_name)
    assert reader(S000), "the seed manual is empty"
