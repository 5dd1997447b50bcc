"""Deploying a recipe in a real browser and watching its log stream into the xterm viewer."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from jobs.catalog.services.catalog_edits import ensure_seed_catalog
from jobs.models import Deployment, Job, LogChunk
from jobs.tasks import run_job
from tests.conftest import PASSWORD, TEST_PREFIX
from tests.e2e.conftest import login, off_loop, wait_for_js
from tests.jobs_engine.conftest import *  # noqa: F403  (its fixtures: engine_node, booking, recipe)
from tests.ws.conftest import write_lines

pytestmark = pytest.mark.e2e
SHOTS = Path("/tmp/shots")
READY = "Application startup complete."


@pytest.fixture(autouse=True)
def seeded(transactional_db):
    """The manuals' catalog (a flush by an earlier browser test empties the tables)."""
    ensure_seed_catalog()


@pytest.fixture
def own_cache_keys(settings):
    """Cache keys of this run only: a follower's "alive" key of deployment 1 from another
    (or a just-ended) run would otherwise make this run's follower stand down."""
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": TEST_PREFIX},
    }


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def viewer_lines(page) -> list[str]:
    return page.evaluate("window.jobLog.lines()")


def wait_for_seq(page, seq: int) -> None:
    wait_for_js(page, "seq => window.jobLog && window.jobLog.lastSeq >= seq", seq)


def db_lines(job: Job) -> list[str]:
    text = "".join(LogChunk.objects.filter(job=job).order_by("seq").values_list("text", flat=True))
    return [line.rstrip() for line in text.splitlines()]


@pytest.mark.devsim
def test_deploy_a_recipe_and_watch_its_log_stream_live_then_reload_without_duplicates(
    asgi_live_server, page, member_user, booking, recipe, engine_node, own_cache_keys
):
    server = asgi_live_server
    login(page, server, member_user.username, PASSWORD)
    page.get_by_role("banner").get_by_role("link", name="Deployments").click()
    page.locator("main").get_by_role("link", name="Deploy a recipe").first.click()
    page.wait_for_url(f"{server.url}/deploy/")

    page.select_option("#id_recipe_version", str(recipe.current_version.pk))
    page.select_option("#id_booking", str(booking.pk))
    preview = page.locator("#preview")
    page.check("#card-picker input[type=checkbox][value='1']")
    error = preview.locator('[data-level=error][data-field="tensor_parallel_size"]')
    expect(error).to_contain_text("differs from the 1 cards booked")
    page.check("#card-picker input[type=checkbox][value='0']")
    # No errors once the cards match; node-wide warnings (e.g. this machine's free disk) may stay.
    expect(preview.locator("[data-level=error]")).to_have_count(0)
    command = preview.get_by_test_id("cmd-docker-run")
    expect(command).to_contain_text(f"--device={engine_node.device_dir}/davinci0")
    expect(command).to_contain_text(f"--device={engine_node.device_dir}/davinci1")
    expect(command).to_contain_text("npufleet/vllm-sim:local")
    expect(preview.get_by_test_id("preview-node")).to_have_text("node-a")
    shot(page, "deploy-form")

    page.get_by_test_id("launch").click()
    page.wait_for_url(f"{server.url}/jobs/*/")
    deployment = Deployment.objects.get()
    deployment_job = deployment.jobs.get()
    assert page.url == f"{server.url}/jobs/{deployment_job.pk}/"
    assert deployment.cards == [0, 1]
    expect(page.locator("#log-live")).to_have_attribute("data-state", "open")
    expect(page.get_by_test_id("job-status")).to_have_attribute("data-status", "pending")
    page.evaluate("window.__marker = 1")

    # No Celery worker in tests: run the job here; it persists and broadcasts as it goes.
    outcome = off_loop(run_job, deployment_job.pk)
    deployment_job.refresh_from_db()
    assert outcome == "succeeded", deployment_job.error

    expect(page.get_by_test_id("job-status")).to_have_attribute("data-status", "succeeded")
    expect(page.locator("#job-steps li[data-status=done]")).to_have_count(5)
    expect(page.get_by_test_id("job-progress")).to_have_attribute("aria-valuenow", "100")
    wait_for_seq(page, deployment_job.log_seq)
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"
    live = viewer_lines(page)
    assert sum(READY in line for line in live) == 1, "\n".join(live[-25:])
    assert any(line.startswith("$ docker run -itd") for line in live)
    assert [line.rstrip() for line in live] == db_lines(deployment_job)
    expect(page.get_by_test_id("cancel-job")).to_be_hidden()
    shot(page, "job-log")

    page.reload()
    wait_for_seq(page, deployment_job.log_seq)
    expect(page.locator("#log-live")).to_have_attribute("data-state", "open")
    again = viewer_lines(page)
    assert sum(READY in line for line in again) == 1
    assert again == live
    assert page.evaluate("window.__marker") is None

    # The deployment serves: endpoint and latencies listed; members stop it from the list.
    page.get_by_role("banner").get_by_role("link", name="Deployments").click()
    row = page.locator(f"#deployment-{deployment.pk}")
    expect(row.get_by_test_id("deployment-status")).to_have_text("Running")
    expect(row.get_by_test_id("endpoint")).to_contain_text("/v1")
    expect(row.get_by_test_id("latencies").locator("tr")).to_have_count(5)
    shot(page, "deployments")
    page.once("dialog", lambda dialog: dialog.accept())  # "Stop deployment …?"
    row.locator("button[data-action=stop]").click()
    page.wait_for_url(f"{server.url}/jobs/*/")
    stop_job = deployment.jobs.get(kind="stop")
    assert page.url == f"{server.url}/jobs/{stop_job.pk}/"
    expect(page.locator("#log-live")).to_have_attribute("data-state", "open")
    assert off_loop(run_job, stop_job.pk) == "succeeded"
    expect(page.get_by_test_id("job-status")).to_have_attribute("data-status", "succeeded")
    deployment.refresh_from_db()
    assert deployment.status == "stopped"


def test_log_viewer_keeps_the_scroll_and_resumes_after_a_dropped_socket(
    asgi_live_server, page, member_user, team
):
    job = Job.objects.create(kind="deploy", status="running", team=team, requested_by=member_user)
    off_loop(write_lines, job.pk, *(f"early line {n}" for n in range(1, 121)))
    login(page, asgi_live_server, member_user.username, PASSWORD)
    page.goto(f"{asgi_live_server.url}/jobs/{job.pk}/")
    wait_for_seq(page, 120)
    expect(page.locator("#log-live")).to_have_attribute("data-state", "open")
    assert viewer_lines(page)[-1] == "early line 120"
    jump = page.get_by_test_id("jump-to-end")
    expect(jump).to_be_hidden()

    # Scrolled up: new lines arrive but the view stays put and offers a jump to the end.
    page.evaluate("window.jobLog.term.scrollToTop()")
    off_loop(write_lines, job.pk, "late line 1", "late line 2")
    wait_for_seq(page, 122)
    assert page.evaluate("window.jobLog.term.buffer.active.viewportY") == 0
    expect(jump).to_be_visible()
    jump.click()
    assert page.evaluate("(b => b.viewportY === b.baseY)(window.jobLog.term.buffer.active)"), (
        "jump to end did not reach the end"
    )
    expect(jump).to_be_hidden()

    # At the bottom, the view follows new lines.
    off_loop(write_lines, job.pk, "late line 3")
    wait_for_seq(page, 123)
    wait_for_js(page, "(b => b.viewportY === b.baseY)(window.jobLog.term.buffer.active)")

    # The socket drops; lines written meanwhile arrive once after the reconnect.
    page.evaluate("window.jobLog.dropSocket()")
    expect(page.locator("#log-live")).to_have_attribute("data-state", "retry")
    off_loop(write_lines, job.pk, "while away 1", "while away 2")
    wait_for_seq(page, 125)
    expect(page.locator("#log-live")).to_have_attribute("data-state", "open")
    off_loop(write_lines, job.pk, "after the reconnect")
    wait_for_seq(page, 126)
    lines = viewer_lines(page)
    assert lines == [f"early line {n}" for n in range(1, 121)] + [
        "late line 1",
        "late line 2",
        "late line 3",
        "while away 1",
        "while away 2",
        "after the reconnect",
    ]
    shot(page, "job-log-scrolled")
