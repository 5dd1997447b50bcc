"""Django admin: catalog saves go through the services (provenance kept), versions are read-only."""

from __future__ import annotations

import pytest

from jobs.catalog.models import CardRequirement, ModelAlias

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client, admin_user):
    client.force_login(admin_user)
    return client


def card_form(row: CardRequirement, **changes) -> dict:
    data = {
        "version": row.version_id,
        "row": row.row,
        "model": row.model,
        "min_cards_32": row.min_cards_32 or "",
        "max_model_len_k_32": row.max_model_len_k_32 or "",
        "min_cards_64": row.min_cards_64 or "",
        "max_model_len_k_64": row.max_model_len_k_64 or "",
        "note": row.note,
    }
    return {**data, **changes}


def test_changing_a_row_in_the_admin_records_the_edit(admin, admin_user):
    row = CardRequirement.objects.get(version__version="0.6.0", row=5)
    url = f"/admin/catalog/cardrequirement/{row.pk}/change/"
    assert admin.get(url).status_code == 200
    response = admin.post(url, card_form(row, min_cards_32=4))
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.min_cards_32 == 4 and row.edited_by == admin_user
    assert row.provenance == "seed 000 table 1 (vLLM 0.6.0) row 5"


def test_adding_a_row_in_the_admin_marks_who_added_it(admin):
    response = admin.post(
        "/admin/catalog/modelalias/add/",
        {
            "family": "llama2-13b",
            "spelling": "Llama-2-13B-Chat",
            "quantization": "",
            "seen_in": "[]",
            "note": "",
        },
    )
    assert response.status_code == 302
    alias = ModelAlias.objects.get(spelling="Llama-2-13B-Chat")
    assert alias.provenance.startswith("added by alice-admin on ") and alias.seed == ""


def test_recipe_versions_are_read_only_in_the_admin(admin, recipe):
    version = recipe.current_version
    assert admin.get(f"/admin/catalog/recipeversion/{version.pk}/change/").status_code == 200
    response = admin.post(f"/admin/catalog/recipeversion/{version.pk}/change/", {"model": "x"})
    assert response.status_code == 403
    assert admin.get("/admin/catalog/recipeversion/add/").status_code == 403
    version.refresh_from_db()
    assert version.model == "llama2-13b"


def test_staff_who_are_not_site_admins_cannot_change_the_catalog(client, member_user):
    member_user.is_staff = True
    member_user.save()
    client.force_login(member_user)
    row = CardRequirement.objects.first()
    response = client.post(
        f"/admin/catalog/cardrequirement/{row.pk}/change/", card_form(row, min_cards_32=8)
    )
    assert response.status_code == 403
