"""Recipe API: CRUD with versions, bad input named by field, validate and render actions."""

from __future__ import annotations

import shlex

import pytest

from fleet.models import Card
from jobs.catalog.models import Recipe, RecipeVersion
from jobs.catalog.planning import Mount
from jobs.catalog.render import AscendPaths, render_deployment
from jobs.catalog.services import recipes
from tests.catalog.conftest import IMAGE, QWEN_ENV, inference, make_node

pytestmark = pytest.mark.django_db

URL = "/api/v1/recipes/"


def create_body(team, **values) -> dict:
    return {"name": "r1", "team": team.pk, **inference(**values)}


def make(user, team, name: str, **values) -> Recipe:
    return recipes.create_recipe(user, team=team, name=name, values=inference(**values))


def fields(body: dict, level: str) -> list[str]:
    return [m["field"] for m in body[level]]


# ------------------------------------------------------------------ CRUD and versions


def test_a_member_creates_a_recipe_for_their_team(member_api, team):
    response = member_api.post(URL, create_body(team, max_model_len=8192), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["team"], body["version_count"], body["can_edit"]) == (
        "r1",
        team.pk,
        1,
        True,
    )
    current = body["current_version"]
    assert (current["number"], current["max_model_len"], current["max_num_seqs"]) == (1, 8192, 256)
    assert current["created_by"] == "bob-member"


def test_patch_makes_a_new_version_and_an_unchanged_patch_does_not(member_api, recipe):
    response = member_api.patch(f"{URL}{recipe.pk}/", {"max_model_len": 8192}, format="json")
    assert response.status_code == 200
    assert response.json()["current_version"]["number"] == 2
    again = member_api.patch(f"{URL}{recipe.pk}/", {"max_model_len": 8192}, format="json")
    assert again.json()["current_version"]["number"] == 2 and again.json()["version_count"] == 2
    versions = member_api.get(f"{URL}{recipe.pk}/versions/").json()
    assert [v["number"] for v in versions["results"]] == [2, 1]
    assert [v["max_model_len"] for v in versions["results"]] == [8192, 4096]


def test_delete_archives_and_keeps_the_versions(member_api, recipe):
    assert member_api.delete(f"{URL}{recipe.pk}/").status_code == 204
    assert member_api.get(URL).json()["count"] == 0
    archived = member_api.get(URL, {"archived": "true"}).json()["results"]
    assert [r["id"] for r in archived] == [recipe.pk] and archived[0]["archived"]
    assert RecipeVersion.objects.filter(recipe=recipe).count() == 1
    assert member_api.get(f"{URL}{recipe.pk}/").status_code == 200
    patch = member_api.patch(f"{URL}{recipe.pk}/", {"max_model_len": 2048}, format="json")
    assert patch.status_code == 409


def test_recipe_versions_endpoint_lists_immutable_versions(member_api, recipe, member_user):
    recipes.edit_recipe(member_user, recipe, {"port": 8081})
    body = member_api.get("/api/v1/recipe-versions/", {"recipe": recipe.pk}).json()
    assert sorted((v["number"], v["port"]) for v in body["results"]) == [(1, 8080), (2, 8081)]


# ------------------------------------------------------------------ bad input


BAD = [
    ({"model": "gpt-5"}, "model"),
    ({"model": "qwen2-7b; rm -rf /"}, "model"),
    ({"tensor_parallel_size": -2}, "tensor_parallel_size"),
    ({"tensor_parallel_size": 3}, "tensor_parallel_size"),
    ({"tensor_parallel_size": 100000}, "tensor_parallel_size"),
    ({"max_model_len": 0}, "max_model_len"),
    ({"max_model_len": 10**12}, "max_model_len"),
    ({"max_num_seqs": -1}, "max_num_seqs"),
    ({"max_num_batched_tokens": 1024}, "max_num_batched_tokens"),
    ({"gpu_memory_utilization": 9}, "gpu_memory_utilization"),
    ({"port": 70000}, "port"),
    ({"block_size": 0}, "block_size"),
    ({"quantization": "int3"}, "quantization"),
    ({"model": "qwen2-7b", "quantization": "W8A8", "env": QWEN_ENV}, "quantization"),
    ({"kv_cache_dtype": "fp8"}, "kv_cache_dtype"),
    ({"dtype": "float32"}, "dtype"),
    ({"vllm_version": "0.9.9"}, "vllm_version"),
    ({"vllm_version": "latest; id"}, "vllm_version"),
    ({"weights_path": "/data/$(id)"}, "weights_path"),
    ({"weights_path": "/data/a b"}, "weights_path"),
    ({"weights_path": "/data/../etc"}, "weights_path"),
    ({"weights_path": "relative/path"}, "weights_path"),
    (
        {"quantization_param_path": "kv;scales.json", "kv_cache_dtype": "int8"},
        "quantization_param_path",
    ),
    ({"mounts": [{"host_path": "/data`id`", "container_path": "/data"}]}, "mounts"),
    ({"mounts": [{"host_path": "/data", "container_path": "/home/ma-user/work"}]}, "mounts"),
    ({"env": {"1BAD": "x"}}, "env"),
    ({"env": {"A-B": "x"}}, "env"),
    ({"env": {"A B": "x"}}, "env"),
    ({"env": {"X;rm": "x"}}, "env"),
    ({"image": "Bad Image;id"}, "image"),
    ({"extra_args": ["--enforce-eager", "positional"]}, "extra_args"),
    ({"extra_args": ["; reboot"]}, "extra_args"),
    ({"served_model_name": "--privileged"}, "served_model_name"),
    ({"served_model_name": "a\x00b"}, "served_model_name"),
]


@pytest.mark.parametrize(("values", "field"), BAD, ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD)])
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_saved(member_api, team, values, field):
    response = member_api.post(URL, create_body(team, **values), format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json(), response.json()
    assert not Recipe.objects.exists() and not RecipeVersion.objects.exists()


@pytest.mark.parametrize(("values", "field"), BAD[:12], ids=[f for _, f in BAD[:12]])
def test_a_bad_edit_is_a_400_naming_the_field_and_keeps_the_version(
    member_api, recipe, values, field
):
    response = member_api.patch(f"{URL}{recipe.pk}/", values, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert recipe.versions.count() == 1


def test_a_400_lists_every_error_with_its_fix(member_api, team):
    body = create_body(team, tensor_parallel_size=3, env={"9X": "1"})
    response = member_api.post(URL, body, format="json")
    payload = response.json()
    assert {"tensor_parallel_size", "env", "messages"} <= set(payload)
    assert set(fields(payload["messages"], "errors")) == {"tensor_parallel_size", "env"}
    assert all(m["fix"] for m in payload["messages"]["errors"])


def test_unknown_team_or_missing_name_are_400s(member_api, team):
    assert "team" in member_api.post(URL, {**create_body(team), "team": 999}, format="json").json()
    body = create_body(team)
    del body["name"]
    assert "name" in member_api.post(URL, body, format="json").json()


# ------------------------------------------------------------------ validate


def test_validate_reports_node_specific_errors_that_do_not_block_saving(
    member_api, member_user, team, node32, node64
):
    tp1 = make(member_user, team, "tp1", tensor_parallel_size=1)
    on32 = member_api.get(f"{URL}{tp1.pk}/validate/", {"node": node32.name}).json()
    assert fields(on32, "errors") == ["tensor_parallel_size"]
    assert "32 GB cards need at least 2" in on32["errors"][0]["message"]
    assert "2 x 32 GB cards" in on32["errors"][0]["fix"]
    assert "64 GB" not in on32["errors"][0]["fix"]  # the node has 32 GB cards only
    assert (on32["node"], on32["cards"]) == ("gy1-b4", [0])
    on64 = member_api.get(f"{URL}{tp1.pk}/validate/", {"node": node64.pk}).json()
    assert on64 == {"errors": [], "warnings": [], "node": "gy1-b3", "cards": [0]}


def test_validate_checks_the_cards_against_tensor_parallel_size_and_use(member_api, recipe, node64):
    one = member_api.get(f"{URL}{recipe.pk}/validate/", {"node": node64.pk, "cards": "3"}).json()
    assert "differs from the 1 cards booked" in one["errors"][0]["message"]
    Card.objects.filter(node=node64, device__in=[2, 3, 4, 5, 6, 7]).update(cordoned=True)
    Card.objects.filter(node=node64, device=1).update(processes=[{"pid": 42}])
    busy = member_api.get(f"{URL}{recipe.pk}/validate/", {"node": node64.pk, "cards": "0,1"})
    body = busy.json()
    assert "only 1 are free" in body["errors"][0]["message"]
    assert body["warnings"][0]["message"] == "davinci1 on gy1-b3 is held by a process"


@pytest.mark.parametrize(
    ("values", "node", "level", "field", "text"),
    [
        (
            {"model": "qwen1.5-110b", "tensor_parallel_size": 8},
            "32",
            "errors",
            "model",
            "not supported on 32 GB",
        ),
        (
            {"max_model_len": 32768, "max_num_batched_tokens": 32768},
            "32",
            "warnings",
            "max_model_len",
            "above the 16K",
        ),
        (
            {"model": "qwen2-7b", "tensor_parallel_size": 1},
            "64",
            "warnings",
            "env",
            "USE_PFA_HIGH_PRECISION_MODE=1",
        ),
        ({"gpu_memory_utilization": 0.95}, "64", "warnings", "gpu_memory_utilization", "above 0.9"),
        (
            {"vllm_version": "0.6.3"},
            "64",
            "warnings",
            "vllm_version",
            "no card table for vLLM 0.6.3",
        ),
        ({"block_size": 16}, "64", "warnings", "block_size", "recommend 128"),
        ({"kv_cache_dtype": "int8"}, "64", "warnings", "quantization_param_path", "scales file"),
        (
            {"extra_args": ["--max-model-len=8192"]},
            "64",
            "warnings",
            "extra_args",
            "--max-model-len",
        ),
    ],
)
def test_validate_explains_each_catalog_rule(
    member_api, member_user, team, node32, node64, values, node, level, field, text
):
    recipe = make(member_user, team, "case", **values)
    target = {"32": node32, "64": node64}[node]
    body = member_api.get(f"{URL}{recipe.pk}/validate/", {"node": target.pk}).json()
    found = [m for m in body[level] if m["field"] == field]
    assert found and text in found[0]["message"], body


def test_a_node_without_a_card_table_column_is_an_error(member_api, recipe):
    small = make_node("duo", "310P3", 24576)
    body = member_api.get(f"{URL}{recipe.pk}/validate/", {"node": small.name}).json()
    assert fields(body, "errors") == ["node"] and "310P3 (24 GB)" in body["errors"][0]["message"]


def test_validate_bad_node_cards_or_version_are_400s(member_api, recipe, node64):
    base = f"{URL}{recipe.pk}/validate/"
    assert "node" in member_api.get(base, {"node": "nope"}).json()
    response = member_api.get(base, {"node": node64.pk, "cards": "0,8"})
    assert response.status_code == 400 and "cards" in response.json()
    assert "do not exist on gy1-b3" in response.json()["cards"][0]
    assert "cards" in member_api.get(base, {"cards": "zero"}).json()
    assert "version" in member_api.get(base, {"version": "7"}).json()


def test_validate_a_draft_saves_nothing(member_api, node32):
    draft = {**inference(tensor_parallel_size=1), "node": str(node32.pk)}
    response = member_api.post(f"{URL}validate/", draft, format="json")
    assert response.status_code == 200
    assert fields(response.json(), "errors") == ["tensor_parallel_size"]
    bad = member_api.post(f"{URL}validate/", {**draft, "env": {"1X": "a"}}, format="json").json()
    assert "env" in fields(bad, "errors")
    assert not Recipe.objects.exists()


def test_validate_training_recipes_against_the_ascendspeed_table(member_api, member_user, team):
    values = {"model": "llama2-70b", "image": IMAGE, "framework": "ascendspeed", "strategy": "lora"}
    values |= {"nodes": 2, "cards_per_node": 8, "tensor_parallel_size": 8}
    values |= {"pipeline_parallel_size": 2}
    made = recipes.create_recipe(member_user, team=team, name="t", kind="training", values=values)
    body = member_api.get(f"{URL}{made.pk}/validate/").json()
    assert body["errors"] == []
    assert "recommends TP 8 x PP 4" in " ".join(m["message"] for m in body["warnings"])
    bad = member_api.patch(f"{URL}{made.pk}/", {"pipeline_parallel_size": 3}, format="json")
    assert bad.status_code == 400 and "does not divide" in bad.json()["detail"]


# ------------------------------------------------------------------ render


def test_render_gives_argv_and_shell_for_the_nodes_cards(member_api, recipe, node64):
    response = member_api.get(f"{URL}{recipe.pk}/render/", {"node": node64.name, "cards": "4,5"})
    assert response.status_code == 200
    body = response.json()
    assert body["container_name"] == f"npufleet-recipe-{recipe.pk}"
    assert body["labels"]["npufleet.managed"] == "1" and body["version"] == 1
    run, launch = body["docker_run"], body["launch"]
    assert (
        shlex.split(run["shell"]) == run["argv"] and shlex.split(launch["shell"]) == launch["argv"]
    )
    assert "--device=/dev/davinci4" in run["argv"] and "--device=/dev/davinci0" not in run["argv"]
    assert run["argv"][-len(launch["argv"]) :] == launch["argv"]
    assert "--tensor-parallel-size=2" in launch["argv"] and body["errors"] == []
    spec = recipes.recipe_spec(recipe.current_version.content())
    expected = render_deployment(
        spec,
        image=IMAGE,
        container_name=body["container_name"],
        card_ids=[4, 5],
        paths=AscendPaths(npu_smi="/usr/local/bin/npu-smi"),
        labels=body["labels"],
    )
    assert run["argv"] == list(expected.docker_run.argv)
    assert spec.mounts[-1] == Mount(
        "/data/models/Llama-2-13b-chat-hf", "/data/models/Llama-2-13b-chat-hf", read_only=True
    )


def test_render_without_a_node_uses_the_generic_node_and_first_cards(
    member_api, recipe, member_user
):
    recipes.edit_recipe(member_user, recipe, {"port": 9000})
    body = member_api.get(f"{URL}{recipe.pk}/render/", {"version": "1"}).json()
    assert body["node"] == "generic 8 x 64 GB node" and body["cards"] == [0, 1]
    assert body["version"] == 1 and "--port=8080" in body["launch"]["argv"]
    current = member_api.get(f"{URL}{recipe.pk}/render/").json()
    assert "--port=9000" in current["launch"]["argv"]


def test_render_refuses_cards_the_node_does_not_have(member_api, recipe, node64):
    response = member_api.get(f"{URL}{recipe.pk}/render/", {"node": node64.pk, "cards": "7,12"})
    assert response.status_code == 400 and response.json()["field"] == "cards"


def test_render_a_training_recipe_gives_a_docker_run_with_large_shm(member_api, member_user, team):
    values = {"model": "llama2-7b", "image": IMAGE, "framework": "ascendspeed"}
    values |= {"strategy": "pretrain", "tensor_parallel_size": 1, "pipeline_parallel_size": 4}
    made = recipes.create_recipe(member_user, team=team, name="t", kind="training", values=values)
    body = member_api.get(f"{URL}{made.pk}/render/").json()
    assert body["launch"] is None and body["cards"] == list(range(8))
    argv = body["docker_run"]["argv"]
    assert argv[argv.index("--shm-size") + 1] == "200g"


# ------------------------------------------------------------------ query counts


def test_recipe_list_query_count_does_not_grow(
    member_api, member_user, team, django_assert_max_num_queries
):
    make(member_user, team, "a")
    with django_assert_max_num_queries(6) as few:
        member_api.get(URL)
    for n in range(8):
        recipe = make(member_user, team, f"more-{n}")
        recipes.edit_recipe(member_user, recipe, {"port": 9000 + n})
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = member_api.get(URL).json()
    assert body["count"] == 9
    with django_assert_max_num_queries(len(few.captured_queries)):
        member_api.get("/api/v1/recipe-versions/")
