"""`manage.py catalog seed`: the shipped JSON fills empty catalog tables, exactly as the seed
migration did, and never touches tables that have rows."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.forms.models import model_to_dict

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
from jobs.catalog.services import catalog_edits

pytestmark = pytest.mark.django_db

TABLES = (
    VllmVersion,
    CardRequirement,
    ModelSupport,
    ModelAlias,
    BaseImage,
    SoftwareStack,
    AscendSpeedSetting,
    LlamaFactorySetting,
)
# Foreign keys compare by the vLLM version they name, not by primary key.
LINKS = ("version", "card_table_fallback", "quant_table_fallback")


def snapshot() -> dict[str, list[dict]]:
    """Every catalog row as a dict without its primary key, in table order."""
    versions = dict(VllmVersion.objects.values_list("pk", "version"))
    out = {}
    for model in TABLES:
        rows = []
        for row in model.objects.order_by("pk"):
            values = model_to_dict(row, exclude=["id"])
            for link in LINKS:
                if link in values:
                    values[link] = versions.get(values[link])
            rows.append(values)
        out[model.__name__] = rows
    return out


def test_seed_fills_empty_tables_with_the_rows_the_migration_made():
    catalog_edits.ensure_seed_catalog()  # a transactional test may have flushed the seed rows
    migrated = snapshot()
    VllmVersion.objects.all().delete()  # cascades to the card and support rows
    for model in TABLES:
        model.objects.all().delete()
    out = StringIO()
    call_command("catalog", "seed", stdout=out)
    assert out.getvalue().strip() == "Catalog loaded from the manuals' tables."
    assert snapshot() == migrated


def test_seed_leaves_a_catalog_with_rows_alone(admin_user):
    catalog_edits.ensure_seed_catalog()
    row = CardRequirement.objects.get(version__version="0.6.0", row=5)
    catalog_edits.update_row(admin_user, row, {"min_cards_32": 4})
    before = CardRequirement.objects.count()
    out = StringIO()
    call_command("catalog", "seed", stdout=out)
    assert out.getvalue().strip() == "The catalog already has rows; nothing loaded."
    assert CardRequirement.objects.count() == before
    assert CardRequirement.objects.get(pk=row.pk).min_cards_32 == 4
