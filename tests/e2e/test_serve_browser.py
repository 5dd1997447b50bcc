"""Serve a model in a real browser: plan, confirm, and the job page ends on the endpoint live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from jobs.catalog.services.catalog_edits import ensure_seed_catalog
from jobs.choices import DeploymentStatus, JobStatus
from jobs.models import Deployment, Job
from jobs.services.jobs import finish
from tests.conftest import PASSWORD
from tests.e2e.conftest import login, off_loop
from tests.frontend.conftest import make_node

pytestmark = pytest.mark.e2e
IMAGE = "npufleet/vllm-sim:local"
ENDPOINT = "http://192.0.2.10:30007/v1"


@pytest.fixture(autouse=True)
def seeded(transactional_db):
    """The manuals' catalog (a flush by an earlier browser test empties the tables)."""
    ensure_seed_catalog()


def serve_succeeds(job_id: int) -> None:
    """What the deploy runner records on success: the endpoint, its latencies, the job done."""
    job = Job.objects.get(pk=job_id)
    Job.objects.filter(pk=job_id).update(status=JobStatus.RUNNING)
    Deployment.objects.filter(pk=job.deployment_id).update(
        status=DeploymentStatus.RUNNING,
        endpoint_url=ENDPOINT,
        latencies={"prefill_latency": 41.5, "request_latency": 120.25},
    )
    finish(Job.objects.get(pk=job_id), JobStatus.SUCCEEDED)


def test_serve_a_model_from_plan_to_endpoint(asgi_live_server, page, member_user, team):
    make_node("node-a", healths=("OK",) * 8)
    login(page, asgi_live_server, member_user.username, PASSWORD)
    page.get_by_role("link", name="Serve a model").first.click()
    page.select_option("#id_model", "qwen2-7b")
    page.select_option("#id_team", str(team.pk))
    page.fill("#id_hours", "1")
    page.locator("#serve-form details summary").click()
    page.fill("#id_image", IMAGE)
    page.get_by_test_id("plan").click()

    why = page.get_by_test_id("plan-explanation")
    expect(why).to_contain_text("qwen2-7b needs 1 x 64 GB card at vLLM 0.6.0 (seed 000")
    expect(why).to_contain_text("node-a cards 0 (one HCCS half)")
    page.get_by_test_id("book-and-deploy").click()

    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    job = Job.objects.get()
    expect(page.get_by_test_id("endpoint-pending")).to_be_visible()
    expect(page.locator("#log-live")).to_have_attribute("data-state", "open")
    page.evaluate("window.__marker = 1")

    off_loop(serve_succeeds, job.pk)

    expect(page.get_by_test_id("job-status")).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("endpoint-url")).to_have_text(ENDPOINT)
    expect(page.get_by_test_id("endpoint-latencies")).to_contain_text("prefill_latency")
    expect(page.get_by_test_id("endpoint-latencies")).to_contain_text("120.25")
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"
