"""POST /api/v1/serve/: a dry run answers the plan; otherwise book and deploy in one call."""

from __future__ import annotations

import pytest

from fleet.booking.models import Booking
from jobs.catalog.models import Recipe
from jobs.models import Deployment, Job
from tests.jobs.test_serve import IMAGE, make_node

pytestmark = pytest.mark.django_db
URL = "/api/v1/serve/"


def test_dry_run_answers_the_plan_and_creates_nothing(member_api, team):
    make_node("node-a", "910B3")
    body = {"model": "qwen2-72b", "team": team.slug, "hours": 2, "image": IMAGE, "dry_run": True}
    response = member_api.post(URL, body, format="json")
    assert response.status_code == 200, response.json()
    plan = response.json()["plan"]
    assert (plan["card_gb"], plan["tensor_parallel_size"], plan["max_model_len"]) == (
        64,
        4,
        65536,
    )
    assert plan["node_name"] == "node-a" and plan["devices"] == [0, 1, 2, 3]
    assert any("needs 4 x 64 GB cards at vLLM 0.6.0" in line for line in plan["explanation"])
    assert plan["steps"][0]["step"] == "size"
    assert not Booking.objects.exists() and not Recipe.objects.exists()


def test_serve_books_and_deploys_and_names_what_it_made(member_api, team):
    make_node("node-a", "910B3")
    body = {"model": "qwen2-7b", "team": team.pk, "hours": 1.5, "image": IMAGE}
    response = member_api.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    booking = Booking.objects.get()
    deployment = Deployment.objects.get()
    job = Job.objects.get()
    assert (data["booking"], data["deployment"], data["job"]) == (booking.pk, deployment.pk, job.pk)
    assert data["recipe_version"] == deployment.recipe_version_id
    assert booking.devices == data["plan"]["devices"] == [0]
    assert job.deployment == deployment
    # the job is readable at the address the answer points to
    assert member_api.get(f"/api/v1/jobs/{data['job']}/").json()["deployment"] == deployment.pk


def test_refusal_names_the_fix_and_leaves_nothing(member_api, team):
    make_node("node-a", "910B4", cards=4)
    body = {"model": "qwen2-72b", "team": team.slug, "hours": 1, "image": IMAGE}
    response = member_api.post(URL, body, format="json")
    assert response.status_code == 409
    data = response.json()
    assert "8 x 32 GB cards" in data["detail"] and "Onboard a node" in data["detail"]
    assert data["field"] == "model" and "node-a" in data["not_offered"]
    assert not Booking.objects.exists()


def test_unknown_model_is_a_400_naming_the_field(member_api, team):
    make_node("node-a")
    body = {"model": "gpt-5", "team": team.slug, "hours": 1, "image": IMAGE}
    response = member_api.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "model"
    assert "No catalog entry sizes gpt-5" in response.json()["detail"]


def test_a_team_that_is_not_yours_is_refused(member_api, other_team):
    make_node("node-a")
    body = {"model": "qwen2-7b", "team": other_team.slug, "hours": 1, "image": IMAGE}
    response = member_api.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "team"
    assert "use one of yours: Vision" in response.json()["detail"]


def test_hours_out_of_range_is_a_400(member_api, team):
    body = {"model": "qwen2-7b", "team": team.slug, "hours": 0, "dry_run": True}
    response = member_api.post(URL, body, format="json")
    assert response.status_code == 400 and response.json()["field"] == "hours"


def test_anonymous_is_refused(client):
    assert client.post(URL, {}, content_type="application/json").status_code in (401, 403)
