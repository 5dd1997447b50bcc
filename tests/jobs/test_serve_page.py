"""The "Serve a model" page: the plan with its explanation, then one confirmation; the job page
ends on the endpoint with its latencies."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fleet.booking.models import Booking
from jobs.choices import DeploymentStatus, JobStatus
from jobs.models import Deployment, Job
from tests.frontend.conftest import attr, by_testid, walk
from tests.jobs.test_serve import IMAGE, make_node

pytestmark = pytest.mark.django_db


def plan_query(team, **extra) -> dict:
    return {
        "model": "qwen2-72b",
        "team": team.pk,
        "hours": 2,
        "vllm_version": "0.6.0",
        "image": IMAGE,
        **extra,
    }


def test_the_form_offers_catalog_models_and_only_my_teams(as_member, team, other_team):
    response = as_member.get(reverse("serve"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<option value="qwen2-72b">qwen2-72b (8 x 32 GB, 4 x 64 GB)</option>' in html
    assert f'<option value="{team.pk}"' in html
    assert f'<option value="{other_team.pk}"' not in html
    assert 'data-testid="serve-confirm"' not in html  # no plan yet, nothing to confirm
    # the main navigation links the page
    assert f'href="{reverse("serve")}"' in as_member.get(reverse("home")).content.decode()


def test_plan_shows_why_and_books_nothing(as_member, team):
    make_node("node-a", "910B3")
    response = as_member.get(reverse("serve"), plan_query(team))
    assert response.status_code == 200
    steps = [el for el in walk(by_testid(response, "plan-explanation")) if el.name == "li"]
    texts = [" ".join(str(c) for c in el.children) for el in steps]
    assert any("needs 4 x 64 GB cards at vLLM 0.6.0" in t for t in texts)
    assert any("node-a cards 0-3 (one HCCS half)" in t for t in texts)
    confirm = by_testid(response, "serve-confirm")
    hidden = {
        attr(el, "name"): attr(el, "value")
        for el in walk(confirm)
        if el.name == "input" and attr(el, "type") == "hidden"
    }
    assert hidden["model"] == "qwen2-72b" and hidden["team"] == str(team.pk)
    assert hidden["image"] == IMAGE and hidden["hours"] == "2"
    assert not Booking.objects.exists()


def test_a_refusal_shows_its_fix(as_member, team):
    make_node("node-a", "910B4", cards=4)
    response = as_member.get(reverse("serve"), plan_query(team))
    assert response.status_code == 409
    html = response.content.decode()
    assert "8 x 32 GB cards" in html and "Onboard a node" in html
    assert 'data-testid="serve-confirm"' not in html


def test_book_and_deploy_lands_on_the_job_page_with_the_endpoint_to_come(as_member, team):
    make_node("node-a", "910B3")
    response = as_member.post(reverse("serve"), plan_query(team, model="qwen2-7b"))
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("job-page", args=[job.pk])
    assert Booking.objects.get().devices == [0]
    page = as_member.get(response["Location"])
    assert by_testid(page, "endpoint-pending") is not None
    assert "Booked node-a cards 0" in page.content.decode()


def test_job_page_ends_on_the_endpoint_with_its_latencies(as_member, team):
    make_node("node-a", "910B3")
    as_member.post(reverse("serve"), plan_query(team, model="qwen2-7b"))
    job = Job.objects.get()
    Deployment.objects.filter(pk=job.deployment_id).update(
        status=DeploymentStatus.RUNNING,
        endpoint_url="http://192.0.2.10:30001/v1",
        latencies={"prefill_latency": 41.5, "request_latency": 120.25},
    )
    Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED)
    for url in (reverse("job-page", args=[job.pk]), reverse("job-page-live", args=[job.pk])):
        page = as_member.get(url)
        html = page.content.decode()
        assert 'data-fragment="endpoint"' in html
        assert "http://192.0.2.10:30001/v1" in html
        table = by_testid(page, "endpoint-latencies")
        cells = [str(c) for el in walk(table) if el.name in ("th", "td") for c in el.children]
        assert "prefill_latency" in cells and "41.5" in cells and "120.25" in cells


def test_a_stopped_deployment_does_not_show_its_endpoint_as_live(as_member, team):
    make_node("node-a", "910B3")
    as_member.post(reverse("serve"), plan_query(team, model="qwen2-7b"))
    job = Job.objects.get()
    Deployment.objects.filter(pk=job.deployment_id).update(
        status=DeploymentStatus.STOPPED, endpoint_url="http://192.0.2.10:30001/v1"
    )
    Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED)
    page = as_member.get(reverse("job-page", args=[job.pk]))
    assert by_testid(page, "endpoint-not-live") is not None
    assert 'data-testid="endpoint-url"' not in page.content.decode()


def test_posting_for_a_team_not_mine_is_refused(as_member, other_team):
    make_node("node-a", "910B3")
    response = as_member.post(reverse("serve"), plan_query(other_team))
    assert response.status_code == 400
    assert not Booking.objects.exists()
