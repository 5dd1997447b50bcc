"""Node and job pages stay live in a real browser: no reload, the user's zone, one format."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from devsim.client import DevsimNode
from fleet.booking.services.bookings import book_cards
from fleet.models import Card, CardSample, UserProfile
from fleet.services.probing import probe_node
from fleet.streams import broadcast_node
from jobs.choices import JobKind, JobStatus
from jobs.models import Job
from jobs.services.deployments import DEPLOY_STEPS
from jobs.services.jobs import create_job, finish
from tests.conftest import PASSWORD
from tests.e2e.conftest import login, off_loop, wait_for_js
from tests.frontend.conftest import make_node
from tests.helpers import onboard

pytestmark = pytest.mark.e2e
pytest_plugins = ["devsim.pytest_plugin"]

ZONE = "Asia/Tokyo"  # not the browser's zone (UTC), so a time in the wrong zone shows


def in_zone(moment) -> str:
    return moment.astimezone(zoneinfo.ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.devsim
def test_node_page_fills_facts_preflight_and_card_table_when_a_probe_lands(
    asgi_live_server, page, admin_user, devsim
):
    UserProfile.objects.create(user=admin_user, time_zone=ZONE)
    sim: DevsimNode = devsim.node("node-a")
    node = onboard(admin_user, sim, "live-node")  # key accepted, never probed
    login(page, asgi_live_server, admin_user.username, PASSWORD)
    page.goto(f"{asgi_live_server.url}/nodes/{node.pk}/")
    page.wait_for_selector("#live[data-state=open]")
    root = page.locator("#node-page")
    expect(root.locator("[data-fragment=preflight]")).to_contain_text("No preflight yet")
    expect(root.locator("[data-fragment=card-table]")).to_contain_text("No cards recorded yet")
    expect(root.locator("[data-f=last-probe]")).to_have_text("never")
    page.evaluate("window.__marker = 1")

    # A probe from outside the page (as the scheduler runs it), with a foreign process on card 2.
    devsim.add_foreign_process("node-a", 2, pid=31337, proc_name="rogue.py")
    off_loop(lambda: probe_node(node.pk, full=True))
    node.refresh_from_db()
    assert node.preflight, node.last_error

    rows = root.locator("[data-fragment=card-table] tr[data-device]")
    expect(rows).to_have_count(8)
    expect(root.locator('tr[data-device="2"] .procs')).to_contain_text("pid 31337")
    expect(root.locator('tr[data-device="2"] .procs')).to_contain_text("outside any container")
    checks = root.locator("[data-fragment=preflight] li[data-check]")
    expect(checks).to_have_count(len(node.preflight))
    expect(root.locator("[data-f=preflight-at]")).to_have_text(
        f"checked {in_zone(node.preflight_at)}"
    )
    expect(root.locator("[data-f=last-probe]")).to_have_text(in_zone(node.last_probe_at))
    expect(root.locator("[data-fragment=facts]")).to_contain_text(node.facts["os"])
    expect(root.locator("[data-fragment=cards] .npu")).to_have_count(8)
    expect(root.locator("[data-fragment=status] .badge")).to_have_text(node.get_status_display())
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"

    # The card charts read times in the user's zone too.
    page.reload()
    expect(page.locator("#chart-status")).to_have_text("1 point")
    sample = CardSample.objects.filter(card__node=node, card__device=0).latest("at")
    shown = page.evaluate(
        """() => {
            const chart = window.Chart.getChart(document.querySelector("#card-charts canvas"));
            const at = new Date(chart.data.datasets[0].data[0].at);
            const pad = (n) => String(n).padStart(2, "0");
            return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ` +
              `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
        }"""
    )
    assert shown == in_zone(sample.at)
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") != ZONE


@pytest.fixture
def probe_worker(monkeypatch):
    """Queued probes run at once on a thread of the server (it is forked after this patch), as
    a Celery worker would run them, so "Probe now" needs no worker and leaves no task behind."""
    import threading

    from fleet import tasks
    from fleet.services import probing

    def run(node_id: int, full: bool | None = None) -> None:
        threading.Thread(target=probing.probe_node, args=(node_id,), kwargs={"full": full}).start()

    monkeypatch.setattr(tasks.probe_node, "delay", run)


@pytest.mark.devsim
def test_probe_now_updates_the_node_page_without_leaving_it(
    probe_worker, asgi_live_server, page, admin_user, devsim
):
    sim: DevsimNode = devsim.node("node-a")
    node = onboard(admin_user, sim, "probed-node")
    off_loop(lambda: probe_node(node.pk, full=True))
    login(page, asgi_live_server, admin_user.username, PASSWORD)
    page.goto(f"{asgi_live_server.url}/nodes/{node.pk}/")
    page.wait_for_selector("#live[data-state=open]")
    row = page.locator('tr[data-device="4"]')
    expect(row.locator("[data-f=health]")).to_have_text("OK")
    page.evaluate("window.__marker = 1")

    devsim.set_card_health("node-a", 4, "Critical")
    page.get_by_role("button", name="Probe now").click()

    expect(page.get_by_test_id("probe-status")).to_have_text(
        "Probe of probed-node queued; the page updates when it lands."
    )
    expect(row.locator("[data-f=health]")).to_have_text("Critical")
    expect(page.locator('#node-page .npu[data-device="4"]')).to_have_class("npu h-Critical")
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"


def test_job_page_shows_finished_full_progress_and_no_live_badge_when_the_job_ends(
    asgi_live_server, page, member_user, team
):
    UserProfile.objects.create(user=member_user, time_zone=ZONE)
    job = create_job(kind=JobKind.DEPLOY, actor=member_user, steps=DEPLOY_STEPS, team=team)
    job.steps[0]["status"] = "done"
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, steps=job.steps)
    job.refresh_from_db()
    login(page, asgi_live_server, member_user.username, PASSWORD)
    page.goto(f"{asgi_live_server.url}/jobs/{job.pk}/")
    live = page.locator("#log-live")
    expect(live).to_have_attribute("data-state", "open")
    expect(live).to_be_visible()
    expect(page.get_by_test_id("job-finished")).to_have_text("—")
    expect(page.get_by_test_id("job-progress")).to_have_attribute("aria-valuenow", "20")
    page.evaluate("window.__marker = 1")

    done = off_loop(lambda: finish(job, JobStatus.SUCCEEDED))

    expect(page.get_by_test_id("job-status")).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("job-finished")).to_have_text(in_zone(done.finished_at))
    expect(page.get_by_test_id("job-progress")).to_have_attribute("aria-valuenow", "100")
    wait_for_js(
        page, "() => document.querySelector('#job-progress .progress-bar').style.width === '100%'"
    )
    expect(page.locator("#job-progress-text")).to_have_text("100%")
    expect(live).to_be_hidden()
    expect(page.get_by_test_id("cancel-job")).to_be_hidden()
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"


def test_overview_tiles_keep_the_booking_team_when_a_probe_lands(
    asgi_live_server, page, member_user, team
):
    node = make_node("node-a", healths=("OK", "OK"))
    now = timezone.now()
    book_cards(
        member_user, team=team, node=node, start=now, end=now + timedelta(hours=2),
        purpose="live tiles", devices=[0],
    )  # fmt: skip
    login(page, asgi_live_server, member_user.username, PASSWORD)
    page.wait_for_selector("#live[data-state=open]")
    tile = page.locator(f'.tile[data-node-id="{node.pk}"]')
    expect(tile.locator('.npu[data-device="0"] [data-testid=npu-team]')).to_have_text(team.name)
    page.evaluate("window.__marker = 1")

    Card.objects.filter(node=node, device=1).update(health="Critical")
    off_loop(broadcast_node, node, list(node.cards.all()))

    expect(tile.locator('.npu[data-device="1"]')).to_have_class("npu h-Critical")
    expect(tile.locator('.npu[data-device="0"] [data-testid=npu-team]')).to_have_text(team.name)
    expect(tile.locator("[data-f=status]")).to_have_text(node.get_status_display())
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"
