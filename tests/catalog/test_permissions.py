"""Who may do what: admin, team member and outsider over every recipe and catalog endpoint."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from jobs.catalog.models import CardRequirement, ModelAlias, Recipe, VllmVersion
from tests.catalog.conftest import inference

pytestmark = pytest.mark.django_db

PERSONAS = ("admin", "member", "outsider")
CATALOG_TABLES = (
    "card-requirements",
    "model-support",
    "aliases",
    "base-images",
    "software",
    "ascendspeed",
    "llamafactory",
)


@pytest.fixture
def clients(admin_api, member_api, outsider_api) -> dict[str, APIClient]:
    return {"admin": admin_api, "member": member_api, "outsider": outsider_api}


def statuses(clients, call) -> dict[str, int]:
    """The status each persona gets for the same request."""
    return {who: call(clients[who]).status_code for who in PERSONAS}


# ------------------------------------------------------------------ recipes


def test_everyone_signed_in_reads_every_recipe_and_its_actions(clients, recipe, node64):
    base = f"/api/v1/recipes/{recipe.pk}/"
    for url in (
        "/api/v1/recipes/",
        base,
        f"{base}versions/",
        f"{base}validate/?node={node64.pk}",
        f"{base}render/?node={node64.pk}&cards=0,1",
        "/api/v1/recipe-versions/",
        f"/api/v1/recipe-versions/{recipe.current_version_id}/",
    ):
        assert statuses(clients, lambda c, u=url: c.get(u)) == dict.fromkeys(PERSONAS, 200), url
    draft = statuses(
        clients, lambda c: c.post("/api/v1/recipes/validate/", inference(), format="json")
    )
    assert draft == dict.fromkeys(PERSONAS, 200)


def test_can_edit_tells_each_persona_the_truth(clients, recipe):
    seen = {
        who: clients[who].get(f"/api/v1/recipes/{recipe.pk}/").json()["can_edit"]
        for who in PERSONAS
    }
    assert seen == {"admin": True, "member": True, "outsider": False}


@pytest.mark.parametrize(("who", "code"), [("admin", 201), ("member", 201), ("outsider", 403)])
def test_creating_a_recipe_needs_membership_of_its_team(clients, team, who, code):
    body = {"name": f"by-{who}", "team": team.pk, **inference()}
    response = clients[who].post("/api/v1/recipes/", body, format="json")
    assert response.status_code == code
    assert Recipe.objects.filter(name=f"by-{who}").exists() == (code == 201)


def test_members_cannot_create_for_another_team(member_api, other_team):
    body = {"name": "x", "team": other_team.pk, **inference()}
    response = member_api.post("/api/v1/recipes/", body, format="json")
    assert response.status_code == 403 and response.json()["field"] == "team"


@pytest.mark.parametrize(("who", "code"), [("admin", 200), ("member", 200), ("outsider", 403)])
def test_editing_needs_membership_of_the_owning_team(clients, recipe, who, code):
    response = clients[who].patch(
        f"/api/v1/recipes/{recipe.pk}/", {"max_model_len": 8192}, format="json"
    )
    assert response.status_code == code
    assert recipe.versions.count() == (2 if code == 200 else 1)


@pytest.mark.parametrize(("who", "code"), [("admin", 204), ("member", 204), ("outsider", 403)])
def test_archiving_needs_membership_of_the_owning_team(clients, recipe, who, code):
    assert clients[who].delete(f"/api/v1/recipes/{recipe.pk}/").status_code == code
    recipe.refresh_from_db()
    assert recipe.archived == (code == 204)


def test_put_is_not_offered(clients, recipe):
    response = clients["admin"].put(f"/api/v1/recipes/{recipe.pk}/", inference(), format="json")
    assert response.status_code == 405


def test_anonymous_callers_get_nothing(recipe):
    anonymous = APIClient()
    for url in (
        "/api/v1/recipes/",
        f"/api/v1/recipes/{recipe.pk}/render/",
        "/api/v1/catalog/models/",
    ):
        assert anonymous.get(url).status_code in (401, 403), url
    assert anonymous.post("/api/v1/recipes/", inference(), format="json").status_code in (401, 403)


# ------------------------------------------------------------------ catalog


@pytest.mark.parametrize("table", CATALOG_TABLES)
def test_everyone_signed_in_reads_every_catalog_table(clients, table):
    url = f"/api/v1/catalog/{table}/"
    assert statuses(clients, lambda c: c.get(url)) == dict.fromkeys(PERSONAS, 200)
    first = clients["outsider"].get(url).json()["results"][0]
    assert statuses(clients, lambda c: c.get(f"{url}{first['id']}/")) == dict.fromkeys(
        PERSONAS, 200
    )


def test_versions_and_models_are_readable_by_everyone(clients):
    for url in (
        "/api/v1/catalog/versions/",
        "/api/v1/catalog/versions/0.6.0/",
        "/api/v1/catalog/models/",
    ):
        assert statuses(clients, lambda c, u=url: c.get(u)) == dict.fromkeys(PERSONAS, 200), url


@pytest.mark.parametrize("who", ["member", "outsider"])
def test_only_admins_change_the_catalog(clients, who):
    row = CardRequirement.objects.get(version__version="0.6.0", row=5)
    client = clients[who]
    url = "/api/v1/catalog/card-requirements/"
    new = {"vllm_version": "0.6.0", "model": "x-1b", "min_cards_64": 1, "max_model_len_k_64": 4}
    assert client.post(url, new, format="json").status_code == 403
    assert client.patch(f"{url}{row.pk}/", {"min_cards_32": 8}, format="json").status_code == 403
    assert client.delete(f"{url}{row.pk}/").status_code == 403
    alias = ModelAlias.objects.first()
    assert client.delete(f"/api/v1/catalog/aliases/{alias.pk}/").status_code == 403
    version = {"version": "0.8.0", "copy_from": "0.6.0"}
    assert client.post("/api/v1/catalog/versions/", version, format="json").status_code == 403
    row.refresh_from_db()
    assert row.min_cards_32 == 2 and not VllmVersion.objects.filter(version="0.8.0").exists()
    assert CardRequirement.objects.count() == 88 and ModelAlias.objects.filter(pk=alias.pk).exists()


def test_admins_add_edit_and_delete_catalog_rows(admin_api):
    url = "/api/v1/catalog/card-requirements/"
    new = {"vllm_version": "0.6.0", "model": "x-1b", "min_cards_64": 1, "max_model_len_k_64": 4}
    created = admin_api.post(url, new, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["row"] == 51 and body["provenance"].startswith("added by alice-admin on ")
    assert body["seed"] == "" and body["edited_by"] is None
    row = CardRequirement.objects.get(version__version="0.6.0", row=5)
    edited = admin_api.patch(f"{url}{row.pk}/", {"min_cards_32": 4}, format="json").json()
    assert edited["min_cards_32"] == 4 and edited["edited_by"] == "alice-admin"
    assert edited["provenance"] == "seed 000 table 1 (vLLM 0.6.0) row 5"
    assert edited["origin"].startswith("seed 000 table 1 (vLLM 0.6.0) row 5, edited by alice-admin")
    assert admin_api.delete(f"{url}{body['id']}/").status_code == 204
    assert not CardRequirement.objects.filter(pk=body["id"]).exists()


def test_admin_catalog_edits_are_validated_and_name_the_field(admin_api):
    url = "/api/v1/catalog/card-requirements/"
    half = {"vllm_version": "0.6.0", "model": "x-1b", "min_cards_64": 1}
    response = admin_api.post(url, half, format="json")
    assert response.status_code == 400 and "max_model_len_k_64" in response.json()
    taken = {**half, "max_model_len_k_64": 4, "row": 5}
    duplicate = admin_api.post(url, taken, format="json")
    assert duplicate.status_code == 400 and "row" in duplicate.json()
    unknown = {**half, "max_model_len_k_64": 4, "vllm_version": "9.9"}
    assert "vllm_version" in admin_api.post(url, unknown, format="json").json()
    assert CardRequirement.objects.count() == 88


def test_admins_add_a_version_as_a_copy(admin_api):
    response = admin_api.post(
        "/api/v1/catalog/versions/", {"version": "0.7.0", "copy_from": "0.6.0"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["version"], body["card_rows"], body["support_rows"]) == ("0.7.0", 50, 51)
    again = admin_api.post("/api/v1/catalog/versions/", {"version": "0.7.0"}, format="json")
    assert again.status_code == 400 and again.json()["field"] == "version"
    bad = admin_api.post("/api/v1/catalog/versions/", {"version": "v1; id"}, format="json")
    assert "version" in bad.json()
