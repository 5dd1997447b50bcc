"""Recipe services: versions, no-op edits, immutability, archive, permissions, demo, placement."""

from __future__ import annotations

import pytest

from devsim.demo_setup import create_demo_recipes
from fleet.booking.models import Membership
from fleet.errors import Conflict, Invalid, NotAllowed
from fleet.models import Card
from jobs.catalog.models import Recipe, RecipeVersion
from jobs.catalog.services import recipes
from jobs.catalog.services.placement import GENERIC_LABEL, parse_cards, placement_for
from tests.catalog.conftest import IMAGE, inference

pytestmark = pytest.mark.django_db


def test_creating_a_recipe_makes_version_1_with_the_manuals_defaults(recipe, member_user, team):
    version = recipe.current_version
    assert (recipe.team, recipe.created_by, version.number) == (team, member_user, 1)
    assert version.created_by == member_user
    assert (version.max_num_seqs, version.gpu_memory_utilization, version.block_size) == (
        256,
        0.9,
        128,
    )
    assert (version.dtype, version.port, version.vllm_version, version.max_model_len) == (
        "float16",
        8080,
        "0.6.0",
        4096,
    )
    assert version.entrypoint == "vllm.entrypoints.openai.api_server"
    assert version.framework == "" and version.seq_len is None


def test_editing_makes_version_n_plus_1_and_keeps_the_old_one(recipe, member_user):
    v2 = recipes.edit_recipe(member_user, recipe, {"max_model_len": 8192}, change_note="longer")
    v3 = recipes.edit_recipe(member_user, recipe, {"served_model_name": "llama"})
    recipe.refresh_from_db()
    assert (v2.number, v3.number, recipe.current_version) == (2, 3, v3)
    assert v3.max_model_len == 8192 and v2.change_note == "longer"
    assert RecipeVersion.objects.get(recipe=recipe, number=1).max_model_len == 4096


def test_an_edit_that_changes_nothing_is_a_no_op(recipe, member_user):
    same = recipes.edit_recipe(member_user, recipe, {"max_model_len": 4096, "dtype": "float16"})
    assert same == recipe.current_version
    assert recipe.versions.count() == 1


def test_quantization_is_stored_by_scheme_so_flag_spellings_do_not_make_versions(member_user, team):
    made = recipes.create_recipe(
        member_user,
        team=team,
        name="q",
        values={"model": "qwen2-7b", "image": IMAGE, "quantization": "awq"},
    )
    assert made.current_version.quantization == "W4A16"
    assert recipes.edit_recipe(member_user, made, {"quantization": "w4a16"}).number == 1


def test_versions_are_immutable(recipe):
    version = recipe.current_version
    version.max_model_len = 1
    with pytest.raises(ValueError, match="immutable"):
        version.save()
    assert RecipeVersion.objects.get(pk=version.pk).max_model_len == 4096


def test_nothing_is_saved_when_the_recipe_has_errors(member_user, team):
    with pytest.raises(recipes.RecipeInvalid) as exc:
        recipes.create_recipe(
            member_user,
            team=team,
            name="bad",
            values=inference(tensor_parallel_size=3, env={"1X": "y"}),
        )
    assert exc.value.field == "env"
    assert set(exc.value.details) >= {"env", "tensor_parallel_size", "messages"}
    assert not Recipe.objects.exists() and not RecipeVersion.objects.exists()


def test_a_failed_edit_keeps_the_current_version(recipe, member_user):
    with pytest.raises(recipes.RecipeInvalid) as exc:
        recipes.edit_recipe(member_user, recipe, {"model": "lama2-13b"})
    assert exc.value.field == "model" and "llama2-13b" in str(exc.value.details["model"])
    assert recipe.versions.count() == 1


def test_node_specific_findings_do_not_block_saving(member_user, team):
    made = recipes.create_recipe(
        member_user, team=team, name="tp1", values=inference(tensor_parallel_size=1)
    )
    assert made.current_version.tensor_parallel_size == 1  # fine on 64 GB, too few on 32 GB


def test_names_are_unique_per_team_among_live_recipes(recipe, member_user, team, other_team):
    with pytest.raises(Invalid) as exc:
        recipes.create_recipe(member_user, team=team, name=recipe.name, values=inference())
    assert exc.value.field == "name"
    recipes.archive_recipe(member_user, recipe)
    again = recipes.create_recipe(member_user, team=team, name=recipe.name, values=inference())
    assert again.pk != recipe.pk


def test_only_members_of_the_team_and_admins_change_its_recipes(
    recipe, outsider_user, admin_user, other_team, member_user
):
    with pytest.raises(NotAllowed):
        recipes.edit_recipe(outsider_user, recipe, {"max_model_len": 8192})
    with pytest.raises(NotAllowed):
        recipes.archive_recipe(outsider_user, recipe)
    with pytest.raises(NotAllowed):
        recipes.create_recipe(member_user, team=other_team, name="x", values=inference())
    assert recipes.edit_recipe(admin_user, recipe, {"max_model_len": 8192}).number == 2
    Membership.objects.create(team=recipe.team, user=outsider_user)
    assert recipes.edit_recipe(outsider_user, recipe, {"max_model_len": 2048}).number == 3


def test_archived_recipes_cannot_be_edited(recipe, member_user):
    archived = recipes.archive_recipe(member_user, recipe)
    assert archived.archived and archived.archived_at is not None
    with pytest.raises(Conflict):
        recipes.edit_recipe(member_user, recipe, {"max_model_len": 8192})
    assert Recipe.objects.active().count() == 0 and RecipeVersion.objects.count() == 1


def test_renaming_does_not_make_a_version(recipe, member_user):
    recipes.edit_recipe(member_user, recipe, {}, name="llama2-13b-chat")
    recipe.refresh_from_db()
    assert recipe.name == "llama2-13b-chat" and recipe.versions.count() == 1


def test_versions_nothing_points_at_are_not_referenced(recipe):
    assert not RecipeVersion.objects.referenced().exists()


def test_training_recipes_are_checked_against_the_ascendspeed_table(member_user, team):
    values = {"model": "baichuan2-13b", "image": IMAGE, "framework": "ascendspeed"}
    values |= {"strategy": "pretrain", "seq_len": 8192, "tensor_parallel_size": 8}
    with pytest.raises(recipes.RecipeInvalid) as exc:
        recipes.create_recipe(
            member_user,
            team=team,
            name="baichuan",
            kind="training",
            values={**values, "pipeline_parallel_size": 2},
        )
    assert "does not divide" in exc.value.message
    made = recipes.create_recipe(
        member_user,
        team=team,
        name="baichuan",
        kind="training",
        values={**values, "pipeline_parallel_size": 1},
    )
    found = recipes.review("training", made.current_version.content())
    warning = next(m for m in found if m.field == "model")
    assert "inconsistent in the seed" in warning.message and "row 16.3" in warning.message
    assert made.current_version.vllm_version == "" and made.current_version.cards_per_node == 8


def test_create_demo_recipes_is_idempotent(admin_user, team):
    first = create_demo_recipes(admin_user)
    assert [r.name for r in first] == ["qwen2-7b-tp1", "llama2-13b-tp2", "llama2-7b-pretrain"]
    assert [r.kind for r in first] == ["inference", "inference", "training"]
    assert create_demo_recipes(admin_user) == first
    assert Recipe.objects.count() == 3
    qwen = first[0].current_version
    assert qwen.env == {"USE_PFA_HIGH_PRECISION_MODE": "1"} and qwen.image == IMAGE
    for r in first:
        errors = [
            m for m in recipes.review(r.kind, r.current_version.content()) if m.level == "error"
        ]
        assert errors == [], r.name


# ------------------------------------------------------------------ placement


def test_the_generic_placement_takes_the_first_cards():
    placement = placement_for(None, None, 2)
    assert (placement.label, placement.card_ids) == (GENERIC_LABEL, (0, 1))
    assert placement.facts.chip_name == "910B3" and placement.paths.driver_dir.endswith("driver")
    with pytest.raises(Invalid) as exc:
        placement_for(None, (8,), 1)
    assert exc.value.field == "cards"


def test_a_node_placement_prefers_free_cards_and_reads_the_node(node32):
    Card.objects.filter(node=node32, device=0).update(processes=[{"pid": 1}])
    Card.objects.filter(node=node32, device=1).update(cordoned=True)
    placement = placement_for(node32, None, 2)
    assert placement.card_ids == (2, 3)
    assert (placement.facts.chip_name, placement.facts.card_count) == ("910B4", 8)
    assert placement.facts.free_cards == 6
    assert placement.paths.npu_smi == "/usr/local/bin/npu-smi"
    chosen = placement_for(node32, (0, 5), 2)
    assert chosen.card_ids == (0, 5)
    assert [(m.field, m.level) for m in chosen.notes] == [("cards", "warning")]
    assert "davinci0 on gy1-b4 is held by a process" in chosen.notes[0].message


def test_cards_the_node_does_not_have_are_refused(node32):
    with pytest.raises(Invalid) as exc:
        placement_for(node32, (6, 9), 2)
    assert exc.value.field == "cards" and "[9]" in exc.value.message
    for raw in ("a,b", "1,1", "-1"):
        with pytest.raises(Invalid):
            parse_cards(raw)
    assert parse_cards("0, 3") == (0, 3) and parse_cards("") is None


def test_render_names_the_container_and_labels_it(recipe, node64):
    out = recipes.render_version(recipe.current_version, placement_for(node64, (4, 5), 2))
    assert out.container_name == f"npufleet-recipe-{recipe.pk}"
    assert out.labels == {
        "npufleet.managed": "1",
        "npufleet.recipe": str(recipe.pk),
        "npufleet.recipe_version": "1",
    }
    argv = out.docker_run.argv
    assert "--device=/dev/davinci4" in argv and "--device=/dev/davinci5" in argv
    assert "/data/models/Llama-2-13b-chat-hf:/data/models/Llama-2-13b-chat-hf:ro" in argv
    assert "/usr/local/bin/npu-smi:/usr/local/bin/npu-smi:ro" in argv
    assert out.launch.argv[3:5] == ("--model", "/data/models/Llama-2-13b-chat-hf")
    job = recipes.render_version(
        recipe.current_version,
        placement_for(node64, (4, 5), 2),
        kind="deploy",
        pk=7,
        labels={"npufleet.job": "7"},
    )
    assert job.container_name == "npufleet-deploy-7" and job.labels["npufleet.job"] == "7"


def test_weights_under_an_extra_mount_are_found_through_it(member_user, team, node64):
    made = recipes.create_recipe(
        member_user,
        team=team,
        name="mounted",
        values=inference(
            weights_path="/data/models/llama2-13b",
            mounts=[{"host_path": "/data", "container_path": "/mnt/data", "read_only": True}],
        ),
    )
    out = recipes.render_version(made.current_version, placement_for(node64, None, 2))
    assert out.launch.argv[4] == "/mnt/data/models/llama2-13b"
    assert out.docker_run.argv.count("-v") == 7  # six seed mounts plus the one extra


def test_weights_at_the_ma_user_home_are_refused(member_user, team):
    with pytest.raises(recipes.RecipeInvalid) as exc:
        recipes.create_recipe(
            member_user,
            team=team,
            name="home",
            values=inference(weights_path="/home/ma-user/weights"),
        )
    assert exc.value.field == "weights_path"
