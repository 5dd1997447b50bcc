"""The README walk-through in a real browser, as a new operator does it after `make demo`:
sign in as vera, Deploy a recipe from the top bar on the demo's booking, then the README's API
block (curl + jq, unchanged but for the address) deploys beside it."""

from __future__ import annotations

import json
import shutil

import pytest
from playwright.sync_api import expect

from jobs.models import Deployment
from jobs.services import jobs as job_services
from tests.conftest import PASSWORD
from tests.docs.test_readme_walkthrough import make_demo, run_readme_api_block
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


@pytest.fixture
def demo(transactional_db, settings, monkeypatch):
    """The demo's state; no Celery worker (the server process is forked after this)."""
    monkeypatch.setattr(job_services, "enqueue", lambda job: None)
    return make_demo(settings)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq")
def test_the_readme_walk_through_deploys_in_the_browser_then_over_the_api(
    demo, asgi_live_server, page, tmp_path
):
    vera, recipes, booking = demo
    server = asgi_live_server
    login(page, server, vera.username, PASSWORD)

    page.get_by_role("banner").get_by_role("link", name="Deploy a recipe").click()
    page.wait_for_url(f"{server.url}/deploy/")
    version = recipes["qwen2-7b-tp1"].current_version
    option = page.locator(f"#id_recipe_version option[value='{version.pk}']")
    expect(option).to_contain_text("qwen2-7b-tp1")
    page.select_option("#id_recipe_version", str(version.pk))
    expect(page.locator(f"#id_booking option[value='{booking.pk}']")).to_contain_text("node-a")
    page.select_option("#id_booking", str(booking.pk))
    expect(page.locator("#preview").get_by_test_id("all-clear")).to_be_visible()
    page.get_by_test_id("launch").click()
    page.wait_for_url(f"{server.url}/jobs/*/")
    first = Deployment.objects.get()
    assert first.cards == [0]
    assert page.url == f"{server.url}/jobs/{first.jobs.get().pk}/"

    run = run_readme_api_block(server.url, tmp_path)
    assert run.returncode == 0, run.stderr
    second = Deployment.objects.exclude(pk=first.pk).get()
    assert (second.booking_id, second.cards) == (booking.pk, [2])
    listed, created = run.stdout.split("\n", 1)
    assert json.loads(listed) == {"id": first.pk, "status": "pending", "cards": [0]}
    assert json.loads(created)["cards"] == [2]
