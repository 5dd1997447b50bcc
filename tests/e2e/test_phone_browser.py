"""The dashboard at phone width (390 x 844): the navigation folds into a Menu button that opens
it (Sign out included), and wide tables scroll inside their box, never the page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from fleet.booking.services.bookings import book_cards
from jobs.choices import JobKind
from jobs.services.deployments import DEPLOY_STEPS
from jobs.services.jobs import create_job
from tests.conftest import PASSWORD
from tests.e2e.conftest import login
from tests.frontend.conftest import make_node

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}
NO_SIDEWAYS_SCROLL = "() => document.scrollingElement.scrollWidth <= window.innerWidth + 1"
# For failure messages: the elements that stick out on the right, innermost last.
STICKING_OUT = """() => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(-5)
  .map(el => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)}px`)"""


def fits(page) -> bool:
    assert page.evaluate(NO_SIDEWAYS_SCROLL), (page.url, page.evaluate(STICKING_OUT))
    return True


@pytest.fixture
def busy_fleet(admin_user, team, monkeypatch):
    """A node of 8 cards, a booking and a few jobs: pages with wide tables."""
    from jobs.services import jobs as job_services

    monkeypatch.setattr(job_services, "enqueue", lambda job: None)
    node = make_node("node-a-with-a-rather-long-name", healths=("OK",) * 8)
    now = timezone.now()
    booking = book_cards(
        admin_user,
        team=team,
        node=node,
        start=now,
        end=now + timedelta(hours=3),
        purpose="a purpose long enough to widen its table cell on a narrow screen " * 2,
        devices=[0, 1, 2, 3],
    )
    for _ in range(3):
        create_job(
            kind=JobKind.DEPLOY,
            actor=admin_user,
            steps=DEPLOY_STEPS,
            node=node,
            team=team,
            booking=booking,
        )
    return node


def test_at_phone_width_the_menu_opens_tables_scroll_in_their_box_and_sign_out_works(
    asgi_live_server, page, admin_user, busy_fleet
):
    url = asgi_live_server.url
    page.set_viewport_size(PHONE)
    login(page, asgi_live_server, admin_user.username, PASSWORD)

    toggle = page.get_by_test_id("menu-toggle")
    nav_link = page.locator(".topbar nav").get_by_role("link", name="Deploy a recipe")
    sign_out = page.locator(".topbar").get_by_role("button", name="Sign out")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(nav_link).to_be_hidden()  # folded away: the bar is one line
    expect(sign_out).to_be_hidden()
    assert fits(page)

    # The widest tables of the app: none makes the page scroll sideways; each scrolls itself.
    pages = [
        reverse("node-detail", args=[busy_fleet.pk]),
        reverse("jobs"),
        reverse("booking-mine"),
        reverse("booking-audit"),
    ]
    scrolled_tables = 0
    for path in pages:
        page.goto(f"{url}{path}")
        expect(page.locator("main table").first).to_be_visible()
        assert fits(page)
        wide = page.evaluate(
            "() => [...document.querySelectorAll('main table')]"
            ".filter(t => t.scrollWidth > t.clientWidth + 1)"
            ".map(t => getComputedStyle(t).overflowX)"
        )
        assert all(overflow in ("auto", "scroll") for overflow in wide), (path, wide)
        scrolled_tables += len(wide)
    assert scrolled_tables, "no table was wider than the phone: the check proved nothing"

    # The menu opens in place, with every link and Sign out; the page still fits.
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav_link).to_be_visible()
    expect(page.locator(".topbar nav").get_by_role("link", name="Timeline")).to_be_visible()
    expect(sign_out).to_be_visible()
    assert fits(page)
    # Escape folds it again; the button opens it once more.
    page.keyboard.press("Escape")
    expect(sign_out).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()

    sign_out.click()
    page.wait_for_url(f"{url}/login/**")
    expect(page.locator("#id_username")).to_be_visible()
    page.goto(f"{url}/")
    page.wait_for_url(f"{url}/login/**")  # signed out for real: the overview asks to sign in
