"""Hostile strings in every free-text recipe field stay one quoted argument in the shell text."""

from __future__ import annotations

import shlex

import pytest
from django.utils.html import escape

from jobs.catalog.models import Recipe
from tests.catalog.conftest import inference
from tests.catalog.test_render import HOSTILE

pytestmark = pytest.mark.django_db


def hostile_body(team, text: str) -> dict:
    """A recipe whose every free-text field carries `text`."""
    return {
        "name": f"n{text}"[:100],
        "team": team.pk,
        "change_note": text,
        **inference(
            served_model_name=f"m{text}",
            env={"MY_VAR": text, "OTHER": f"x{text}"},
            extra_args=[f"--tokenizer-mode={text}", "--enforce-eager"],
        ),
    }


@pytest.mark.parametrize("text", HOSTILE, ids=repr)
def test_hostile_text_renders_as_single_quoted_arguments(member_api, team, node64, text):
    created = member_api.post("/api/v1/recipes/", hostile_body(team, text), format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    body = member_api.get(f"/api/v1/recipes/{pk}/render/", {"node": node64.pk}).json()
    for command in (body["docker_run"], body["launch"]):
        assert shlex.split(command["shell"]) == command["argv"]
    run, launch = body["docker_run"]["argv"], body["launch"]["argv"]
    assert run.count(f"MY_VAR={text}") == 1 and run.count(f"OTHER=x{text}") == 1
    assert launch.count(f"--tokenizer-mode={text}") == 1
    assert launch[launch.index("--served-model-name") + 1] == f"m{text}"
    assert launch[-1] == "--enforce-eager"
    assert run[: run.index("--name")].count("-e") == 2
    assert run[run.index("--name") + 1] == f"npufleet-recipe-{pk}"


@pytest.mark.parametrize("text", ["$(id)", "it's", "a\nb", "<script>x</script>"])
def test_hostile_text_is_escaped_on_the_recipe_page(client, member_user, team, text):
    client.force_login(member_user)
    body = hostile_body(team, text)
    response = client.post("/api/v1/recipes/", body, content_type="application/json")
    assert response.status_code == 201
    page = client.get(f"/recipes/{response.json()['id']}/").content.decode()
    recipe = Recipe.objects.get()
    shell = shlex.join(["--served-model-name", f"m{text}"])
    assert escape(shell) in page
    assert "<script>x</script>" not in page
    assert recipe.current_version.env["MY_VAR"] == text


def test_option_values_cannot_become_options(member_api, team):
    for value in ("-x", "--privileged"):
        body = {**hostile_body(team, "ok"), "served_model_name": value}
        response = member_api.post("/api/v1/recipes/", body, format="json")
        assert response.status_code == 400 and "served_model_name" in response.json()
    assert not Recipe.objects.exists()
