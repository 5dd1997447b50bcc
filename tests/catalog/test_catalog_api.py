"""Catalog API: filters, the combined model view, and flat query counts."""

from __future__ import annotations

import pytest

from jobs.catalog.models import CardRequirement, VllmVersion
from jobs.catalog.services import catalog_edits

pytestmark = pytest.mark.django_db


def results(client, url: str, **params) -> list[dict]:
    body = client.get(url, {"page_size": 500, **params}).json()
    return body["results"]


def test_card_requirements_filter_by_version_memory_and_cards(outsider_api):
    url = "/api/v1/catalog/card-requirements/"
    assert outsider_api.get(url, {"vllm_version": "0.5.0"}).json()["count"] == 38
    one_card = outsider_api.get(url, {"vllm_version": "0.6.0", "card_gb": 32, "cards": 1}).json()
    assert one_card["count"] > 0
    assert all(r["min_cards_32"] == 1 for r in one_card["results"])
    no_32 = outsider_api.get(url, {"vllm_version": "0.6.0", "card_gb": 32}).json()["count"]
    assert no_32 < 50
    row = results(outsider_api, url, vllm_version="0.6.0", model="llama2-13b")[0]
    assert row["provenance"] == "seed 000 table 1 (vLLM 0.6.0) row 5"
    assert row["printed"] in ("5 llama2-13b 2 16 1 16",) and row["seed_line"] == 7


def test_model_support_filters_by_quantization(outsider_api):
    url = "/api/v1/catalog/model-support/"
    w8a8 = outsider_api.get(url, {"vllm_version": "0.6.0", "quantization": "W8A8"}).json()
    everything = outsider_api.get(url, {"vllm_version": "0.6.0"}).json()
    assert 0 < w8a8["count"] < everything["count"] == 51
    assert outsider_api.get(url, {"vllm_version": "0.6.3"}).json()["count"] == 69
    assert outsider_api.get(url, {"quantization": "W9"}).status_code == 400


def test_catalog_models_join_the_two_tables_and_filter(outsider_api):
    url = "/api/v1/catalog/models/"
    body = outsider_api.get(url, {"vllm_version": "0.6.0", "search": "llama2-13b"}).json()
    line = body["results"][0]
    assert line["model"] == "llama2-13b"
    assert line["card_row"]["cells"] == {
        "32": {"min_cards": 2, "max_model_len_k": 16},
        "64": {"min_cards": 1, "max_model_len_k": 16},
    }
    assert line["support"]["support"]["W8A8"] is True
    assert line["card_row"]["cite"] == "seed 000 table 1 (vLLM 0.6.0) row 5"
    mixtral = outsider_api.get(url, {"vllm_version": "0.6.0", "search": "mixtral"}).json()
    assert [m["card_row"]["row"] for m in mixtral["results"]] == [35, 48]
    filtered = outsider_api.get(
        url, {"vllm_version": "0.6.0", "card_gb": 32, "cards": 2, "quantization": "W8A8"}
    ).json()["results"]
    assert filtered
    for m in filtered:
        assert m["card_row"]["cells"]["32"]["min_cards"] <= 2 and m["support"]["support"]["W8A8"]
    assert outsider_api.get(url, {"vllm_version": "9.9"}).status_code == 400
    assert outsider_api.get(url, {"card_gb": 48}).status_code == 400


def test_versions_show_their_row_counts_and_fallbacks(outsider_api):
    body = outsider_api.get("/api/v1/catalog/versions/").json()
    got = {
        v["version"]: (v["card_rows"], v["support_rows"], v["card_table_fallback"])
        for v in body["results"]
    }
    assert got == {"0.6.0": (50, 51, None), "0.5.0": (38, 0, None), "0.6.3": (0, 69, "0.6.0")}


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/catalog/card-requirements/",
        "/api/v1/catalog/model-support/",
        "/api/v1/catalog/versions/",
        "/api/v1/catalog/models/",
        "/api/v1/catalog/ascendspeed/",
    ],
)
def test_catalog_list_query_count_does_not_grow_with_rows(
    admin_user, outsider_api, url, django_assert_max_num_queries
):
    with django_assert_max_num_queries(10) as before:
        outsider_api.get(url)
    base = VllmVersion.objects.get(version="0.6.0")
    for n in range(3):
        catalog_edits.add_vllm_version(admin_user, f"1.{n}.0", copy_from=base)
    for row in CardRequirement.objects.filter(version=base)[:5]:
        catalog_edits.update_row(admin_user, row, {"note": "checked"})
    with django_assert_max_num_queries(len(before.captured_queries)):
        assert outsider_api.get(url).status_code == 200


def test_recipe_and_catalog_endpoints_are_in_the_openapi_schema(outsider_api):
    response = outsider_api.get("/api/schema/", {"format": "json"})
    paths = response.json()["paths"]
    for path in (
        "/api/v1/recipes/",
        "/api/v1/recipes/{id}/",
        "/api/v1/recipes/{id}/validate/",
        "/api/v1/recipes/{id}/render/",
        "/api/v1/recipes/{id}/versions/",
        "/api/v1/recipes/validate/",
        "/api/v1/recipe-versions/",
        "/api/v1/catalog/models/",
        "/api/v1/catalog/versions/",
        "/api/v1/catalog/card-requirements/{id}/",
        "/api/v1/catalog/model-support/",
        "/api/v1/catalog/ascendspeed/",
        "/api/v1/catalog/llamafactory/",
    ):
        assert path in paths, path
    render = paths["/api/v1/recipes/{id}/render/"]["get"]
    assert {p["name"] for p in render["parameters"]} >= {"id", "node", "cards", "version"}
    assert set(paths["/api/v1/recipes/{id}/"]) >= {"get", "patch", "delete"}
