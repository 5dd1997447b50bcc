"""Every page works in a real browser under the Content-Security-Policy: nothing is blocked, and
the behaviour moved out of inline scripts and styles (auto-submitting filters, confirmations,
bar widths, team colours, the build form, the log terminal, the API docs) still works."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fleet.booking.services.bookings import book_cards
from jobs.models import Job
from tests.conftest import PASSWORD
from tests.e2e.conftest import login, off_loop, wait_for_js
from tests.frontend.conftest import make_node
from tests.ws.conftest import write_lines

pytestmark = pytest.mark.e2e

# Registered before any page script runs: every CSP violation the page reports.
COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} `
    + `at ${e.sourceFile}:${e.lineNumber}`);
});
"""


class Watch:
    """CSP violations (DOM events and console errors) seen on the pages of one test."""

    def __init__(self, page) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(COLLECT_VIOLATIONS)
        page.on(
            "console",
            lambda msg: (
                self.console.append(msg.text)
                if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text
                else None
            ),
        )

    def assert_clean(self, where: str, expected: str | None = None) -> None:
        """No violation, except `expected` (a URL prefix the policy is meant to block)."""
        events = self.page.evaluate("window.__csp || []")
        if expected:
            blocked = [e for e in events if expected in e]
            assert blocked, f"{where}: {expected} was not blocked"
            events = [e for e in events if expected not in e]
            self.console = [m for m in self.console if expected not in m]
        assert not events and not self.console, f"{where}: {events} {self.console}"
        self.console.clear()


@pytest.fixture
def watched(page):
    return Watch(page)


def test_sign_in_and_fleet_pages_run_without_a_csp_violation(
    asgi_live_server, page, watched, admin_user
):
    node = make_node("node-a", healths=("OK", "OK", "Warning", "OK"))
    url = asgi_live_server.url
    page.goto(f"{url}/login/")
    response = page.request.get(f"{url}/login/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    login(page, asgi_live_server, admin_user.username, PASSWORD)
    watched.assert_clean("login and overview")

    # The memory bars take their width from data-width (no style attribute).
    bar = page.locator(".npu .hbm").nth(2)
    expect(bar).to_have_attribute("data-width", "50")
    assert bar.evaluate("el => el.style.width") == "50%"

    page.goto(f"{url}/nodes/{node.pk}/")
    expect(page.locator("h1").first).to_contain_text("node-a")
    watched.assert_clean("node page")


def test_filters_submit_on_change_and_forms_ask_before_deleting(
    asgi_live_server, page, watched, admin_user, member_user, team
):
    steps = [{"name": f"step {n}", "status": "done" if n < 2 else "pending"} for n in range(5)]
    Job.objects.create(
        kind="deploy", status="running", steps=steps, team=team, requested_by=member_user
    )  # 2 of 5 steps done: 40%
    url = asgi_live_server.url
    login(page, asgi_live_server, admin_user.username, PASSWORD)
    page.goto(f"{url}/jobs/")
    expect(page.locator(".progress-bar").first).to_have_attribute("data-width", "40")
    assert page.locator(".progress-bar").first.evaluate("el => el.style.width") == "40%"
    page.select_option("#f-status", "running")
    page.wait_for_url("**/jobs/?*status=running*")
    watched.assert_clean("jobs list")

    # A token made on the tokens page; revoking asks first, and "cancel" keeps it.
    page.goto(f"{url}/account/tokens/")
    page.get_by_test_id("token-create").click()
    key = page.get_by_test_id("token-key").inner_text().strip()
    assert len(key) == 64
    row = page.locator("tr[data-token]")
    expect(row).to_have_count(1)
    questions: list[str] = []

    def answer(dialog, accept: bool) -> None:
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    row.locator("button[data-action=revoke]").click()
    expect(row).to_have_count(1)
    assert questions and questions[0].startswith(f"Revoke token {key[:8]}")
    page.once("dialog", lambda d: answer(d, True))
    row.locator("button[data-action=revoke]").click()
    expect(page.get_by_text("Token revoked")).to_be_visible()
    expect(page.locator("tr[data-token]")).to_have_count(0)
    watched.assert_clean("tokens page")


def test_timeline_colours_and_build_form_work_without_inline_code(
    asgi_live_server, page, watched, admin_user, member_user, team
):
    node = make_node("node-t", healths=("OK", "OK"))
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    book_cards(
        admin_user,
        team=team,
        node=node,
        start=start,
        end=start + timedelta(hours=2),
        purpose="policy check",
        devices=[0],
    )
    url = asgi_live_server.url
    login(page, asgi_live_server, admin_user.username, PASSWORD)
    page.goto(f"{url}/bookings/timeline/{node.pk}/")
    slot = page.locator("td.slot.busy, td.slot.mine").first
    hue = slot.get_attribute("data-hue")
    assert hue is not None
    assert slot.evaluate("el => el.style.getPropertyValue('--hue')") == hue
    watched.assert_clean("timeline")

    page.goto(f"{url}/images/build/")
    rows = page.locator("#build-args .arg-row")
    before = rows.count()
    page.click("#add-arg")
    expect(rows).to_have_count(before + 1)
    picker = page.locator("#id_template option")
    if picker.count() > 1:
        page.select_option("#id_template", index=1)
        expect(page.locator("#template-about")).to_be_visible()
        assert page.locator("#id_dockerfile").input_value().strip()
    watched.assert_clean("build form")


def test_log_terminal_renders_under_the_policy(asgi_live_server, page, watched, member_user, team):
    job = Job.objects.create(kind="deploy", status="running", team=team, requested_by=member_user)
    off_loop(write_lines, job.pk, "first line", "second line")
    login(page, asgi_live_server, member_user.username, PASSWORD)
    page.goto(f"{asgi_live_server.url}/jobs/{job.pk}/")
    wait_for_js(page, "window.jobLog && window.jobLog.lastSeq >= 2")
    assert page.evaluate("window.jobLog.lines()")[:2] == ["first line", "second line"]
    # xterm's own <style> elements were let in by the response's nonce and apply.
    styled = page.evaluate(
        "[...document.querySelectorAll('.term style')].map(s => !!s.sheet && s.nonce !== '')"
    )
    assert styled and all(styled), styled
    expect(page.locator(".xterm-rows > div").first).to_contain_text("first line")
    watched.assert_clean("job page")


def test_admin_and_api_docs_work_under_the_policy(asgi_live_server, page, watched, admin_user):
    url = asgi_live_server.url
    login(page, asgi_live_server, admin_user.username, PASSWORD)
    page.goto(f"{url}/admin/")
    expect(page.locator("#site-name")).to_be_visible()
    page.goto(f"{url}/admin/auth/user/")
    expect(page.locator("#result_list")).to_contain_text(admin_user.username)
    page.goto(f"{url}/admin/auth/user/{admin_user.pk}/change/")
    expect(page.locator("#id_username")).to_have_value(admin_user.username)
    watched.assert_clean("admin")

    page.goto(f"{url}/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("/api/v1/auth/token/").first).to_be_visible()
    watched.assert_clean("swagger")

    page.goto(f"{url}/api/redoc/")
    expect(page.get_by_text("NPU Fleet API").first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("/api/v1/auth/token/").first).to_be_attached()
    # Redoc's bundle is served by the app with its side-menu logo taken from the site: nothing
    # is fetched from a CDN, so nothing is blocked.
    logo = page.locator("img[alt='redocly logo']")
    expect(logo).to_have_attribute("src", "/static/app/favicon.svg")
    wait_for_js(
        page,
        "() => { const i = document.querySelector(\"img[alt='redocly logo']\");"
        " return !!i && i.complete && i.naturalWidth > 0; }",
    )
    watched.assert_clean("redoc")
