"""Recipe and catalog pages with Django's test client: editor, live preview, catalog editor."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from jobs.catalog.models import CardRequirement, Recipe, VllmVersion
from jobs.catalog.services import recipes
from tests.catalog.conftest import IMAGE, inference

pytestmark = pytest.mark.django_db

FORM = {
    "name": "qwen-page",
    "model": "qwen2-7b",
    "image": IMAGE,
    "vllm_version": "0.6.0",
    "tensor_parallel_size": "1",
    "max_model_len": "4096",
    "max_num_seqs": "256",
    "max_num_batched_tokens": "4096",
    "gpu_memory_utilization": "0.9",
    "dtype": "float16",
    "block_size": "128",
    "port": "8080",
    "trust_remote_code": "on",
    "env": "USE_PFA_HIGH_PRECISION_MODE=1",
    "extra_args": "--enforce-eager",
    "mounts": "/data:/data:ro",
    "weights_path": "/data/models/Qwen2-7B",
}


@pytest.fixture
def member(client, member_user):
    client.force_login(member_user)
    return client


@pytest.fixture
def admin(client, admin_user):
    client.force_login(admin_user)
    return client


def findings(html: str) -> list[tuple[str, str]]:
    """(level, field) of every finding in a preview."""
    return re.findall(r'data-level="(\w+)" data-field="(\w+)"', html)


def test_the_nav_links_to_recipes_and_the_list_shows_them(member, recipe):
    home = member.get("/").content.decode()
    assert f'href="{reverse("recipe-list")}"' in home
    page = member.get(reverse("recipe-list")).content.decode()
    assert recipe.name in page and "v1" in page and "New inference recipe" in page


def test_outsiders_see_recipes_but_cannot_create_or_edit(client, outsider_user, recipe):
    client.force_login(outsider_user)
    page = client.get(reverse("recipe-list")).content.decode()
    assert recipe.name in page and "New inference recipe" not in page
    assert client.get(reverse("recipe-create")).status_code == 403
    assert client.get(reverse("recipe-edit", args=[recipe.pk])).status_code == 403
    detail = client.get(reverse("recipe-detail", args=[recipe.pk])).content.decode()
    assert "Edit (new version)" not in detail
    assert client.post(reverse("recipe-archive", args=[recipe.pk])).status_code == 403


def test_the_editor_starts_from_the_manuals_defaults(member, team, other_team):
    page = member.get(reverse("recipe-create")).content.decode()
    for name, value in (("max_num_seqs", "256"), ("block_size", "128"), ("port", "8080")):
        assert re.search(rf'name="{name}" value="{value}"', page), name
    assert 'value="0.9"' in page and ">Vision<" in page and ">Speech<" not in page
    assert 'hx-post="/recipes/preview/"' in page and "input changed delay:300ms" in page
    training = member.get(reverse("recipe-create") + "?kind=training").content.decode()
    assert 'name="pipeline_parallel_size"' in training and 'name="max_num_seqs"' not in training


def test_creating_through_the_page_saves_version_1(member, team):
    response = member.post(reverse("recipe-create"), {**FORM, "team": team.pk})
    recipe = Recipe.objects.get(name="qwen-page")
    assert response.status_code == 302 and response.url == reverse(
        "recipe-detail", args=[recipe.pk]
    )
    version = recipe.current_version
    assert version.env == {"USE_PFA_HIGH_PRECISION_MODE": "1"}
    assert version.mounts == [{"host_path": "/data", "container_path": "/data", "read_only": True}]
    assert version.extra_args == ["--enforce-eager"]
    detail = member.get(response.url).content.decode()
    assert "/data/models/Qwen2-7B" in detail and "--enforce-eager" in detail


def test_a_refused_save_shows_the_errors_on_their_fields_and_saves_nothing(member, team):
    bad = {**FORM, "team": team.pk, "tensor_parallel_size": "3", "env": "1BAD=x"}
    response = member.post(reverse("recipe-create"), bad)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="tensor_parallel_size-errors"' in page and 'id="env-errors"' in page
    assert "is not 1, 2, 4 or 8" in page
    assert not Recipe.objects.exists()
    malformed = member.post(reverse("recipe-create"), {**FORM, "team": team.pk, "mounts": "nope"})
    assert malformed.status_code == 400 and 'id="mounts-errors"' in malformed.content.decode()


def test_editing_through_the_page_makes_a_new_version(member, recipe):
    page = member.get(reverse("recipe-edit", args=[recipe.pk])).content.decode()
    assert "Save as version 2" in page and 'value="llama2-13b"' in page
    form = {**FORM, "name": recipe.name, "model": "llama2-13b", "tensor_parallel_size": "2"}
    form |= {"env": "", "change_note": "longer context", "max_model_len": "8192"}
    form["max_num_batched_tokens"] = "8192"
    response = member.post(reverse("recipe-edit", args=[recipe.pk]), form)
    assert response.status_code == 302
    recipe.refresh_from_db()
    assert recipe.current_version.number == 2 and recipe.current_version.max_model_len == 8192
    detail = member.get(reverse("recipe-detail", args=[recipe.pk]) + "?v=1").content.decode()
    assert "showing <strong>version 1</strong>" in detail and "longer context" in detail


def test_the_preview_explains_errors_and_renders_commands(member, node32):
    url = reverse("recipe-preview")
    bad = member.post(url, {**FORM, "kind": "inference", "tensor_parallel_size": "3"}).content
    assert ("error", "tensor_parallel_size") in findings(bad.decode())
    good = member.post(url, {**FORM, "kind": "inference"}).content.decode()
    assert findings(good) == [] and 'data-testid="all-clear"' in good
    assert "--device=/dev/davinci0" in good and "npufleet-recipe-new" in good
    on32 = member.post(url, {**FORM, "kind": "inference", "node": node32.pk, "cards": "5"})
    html = on32.content.decode()
    assert "--device=/dev/davinci5" in html and "on gy1-b4" in html
    missing = member.post(url, {**FORM, "kind": "inference", "node": node32.pk, "cards": "9"})
    assert ("error", "cards") in findings(missing.content.decode())
    typo = member.post(url, {**FORM, "kind": "inference", "max_model_len": "lots"})
    assert ("error", "max_model_len") in findings(typo.content.decode())


def test_the_detail_page_renders_on_a_chosen_node(member, recipe, node64):
    url = reverse("recipe-detail", args=[recipe.pk])
    page = member.get(url, {"node": node64.pk, "cards": "6,7"}).content.decode()
    assert "--device=/dev/davinci6" in page and "--device=/dev/davinci7" in page
    assert "/usr/local/bin/npu-smi:/usr/local/bin/npu-smi" in page
    assert 'data-copy="cmd-docker-run"' in page and 'data-copy="cmd-launch"' in page


def test_archiving_from_the_page(member, recipe):
    response = member.post(reverse("recipe-archive", args=[recipe.pk]))
    assert response.status_code == 302
    recipe.refresh_from_db()
    assert recipe.archived
    listed = member.get(reverse("recipe-list")).content.decode()
    assert reverse("recipe-detail", args=[recipe.pk]) not in listed


# ------------------------------------------------------------------ catalog pages


def test_the_catalog_browser_filters_models(member):
    page = member.get(reverse("catalog")).content.decode()
    assert "llama2-13b" in page and "seed 000 table 1 (vLLM 0.6.0) row 5" in page
    small = member.get(reverse("catalog"), {"card_gb": 32, "cards": 1}).content.decode()
    assert "llama-7b" in small and "<code>llama2-70b</code>" not in small
    quant = member.get(reverse("catalog"), {"quantization": "W8A8"}).content.decode()
    assert "<code>qwen2-7b</code>" not in quant and "<code>llama2-13b</code>" in quant
    for tab, text in (
        ("ascendspeed", "baichuan2-13b"),
        ("llamafactory", "ZeRO"),
        ("images", "pytorch_2_1_ascend"),
    ):
        assert text in member.get(reverse("catalog"), {"tab": tab}).content.decode()
    assert "Edit catalog" not in page


def test_only_admins_reach_the_catalog_editor(member, recipe):
    assert member.get(reverse("catalog-edit")).status_code == 403
    row = CardRequirement.objects.first()
    assert member.post(reverse("catalog-row", args=["card", row.pk]), {}).status_code == 403
    assert member.post(reverse("catalog-row-delete", args=["card", row.pk])).status_code == 403


def test_admins_add_a_version_and_edit_and_delete_rows_in_the_page(admin):
    response = admin.post(reverse("catalog-edit"), {"version": "0.7.0", "copy_from": "0.6.0"})
    assert response.status_code == 302
    new = VllmVersion.objects.get(version="0.7.0")
    assert new.card_rows.count() == 50
    row = new.card_rows.get(row=5)
    form = {"row": 5, "model": "llama2-13b", "min_cards_32": 2, "max_model_len_k_32": 32}
    form |= {"min_cards_64": 1, "max_model_len_k_64": 32}
    assert admin.post(reverse("catalog-row", args=["card", row.pk]), form).status_code == 302
    row.refresh_from_db()
    assert row.max_model_len_k_32 == 32 and "edited by alice-admin" in row.origin
    half = {**form, "max_model_len_k_64": ""}
    refused = admin.post(reverse("catalog-row", args=["card", row.pk]), half)
    assert refused.status_code == 400
    added = admin.post(
        reverse("catalog-row-new", args=["support"]) + "?version=0.7.0",
        {
            "model": "qwen3-8b",
            "fp16_bf16": "on",
            "weight_urls": "https://huggingface.co/Qwen/Qwen3-8B",
        },
    )
    assert added.status_code == 302
    support = new.support_rows.get(model="qwen3-8b")
    assert support.row == 52 and support.weight_urls == ["https://huggingface.co/Qwen/Qwen3-8B"]
    editor = admin.get(reverse("catalog-edit"), {"version": "0.7.0"}).content.decode()
    assert "copied from seed 000 table 1 (vLLM 0.6.0) row 1 by alice-admin" in editor
    assert (
        admin.post(reverse("catalog-row-delete", args=["support", support.pk])).status_code == 302
    )
    assert not new.support_rows.filter(model="qwen3-8b").exists()


def test_a_recipe_on_a_new_version_validates_after_the_admin_adds_it(admin, admin_user, team):
    body = {**inference(), "vllm_version": "0.7.0"}
    with pytest.raises(recipes.RecipeInvalid):
        recipes.create_recipe(admin_user, team=team, name="v7", values=body)
    admin.post(reverse("catalog-edit"), {"version": "0.7.0", "copy_from": "0.6.0"})
    made = recipes.create_recipe(admin_user, team=team, name="v7", values=body)
    assert made.current_version.vllm_version == "0.7.0"


def test_the_detail_page_lists_policy_exceptions_and_only_admins_get_the_grant_link(
    member, recipe, admin_user, client
):
    from jobs.services.policy import grant_exception

    url = reverse("recipe-detail", args=[recipe.pk])
    page = member.get(url).content.decode()
    assert "follow the policy in full" in page and "Grant an exception" not in page
    grant_exception(
        admin_user,
        recipe,
        rule="image",
        value="myorg/vllm:1",
        reason="vendor image under evaluation",
    )
    page = member.get(url).content.decode()
    assert "myorg/vllm:1" in page and "vendor image under evaluation" in page
    client.force_login(admin_user)
    assert "Grant an exception" in client.get(url).content.decode()
