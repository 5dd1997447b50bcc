"""Booking two cards from a node's timeline in a real browser, then the conflict when re-booked."""

from __future__ import annotations

import pytest

from tests.booking.conftest import make_node
from tests.conftest import PASSWORD
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def pick(page, device: int, start: str) -> None:
    page.locator(f'tr[data-device="{device}"] button.pick[data-start="{start}"]').click()


def test_booking_two_cards_from_the_timeline_then_again_shows_the_conflict(
    page, asgi_live_server, member_user, team
):
    node = make_node("node-a")
    login(page, asgi_live_server, member_user.username, PASSWORD)
    timeline = f"{asgi_live_server.url}/bookings/timeline/{node.pk}/"
    # A second tab opened before the booking: it still shows the slots as free.
    stale = page.context.new_page()
    stale.goto(timeline)
    page.goto(timeline)

    slots = page.locator('tr[data-device="0"] button.pick')
    start, second_hour = (slots.nth(i).get_attribute("data-start") for i in (3, 4))
    pick(page, 0, start)
    pick(page, 1, start)
    pick(page, 1, second_hour)  # the window runs from the first to the last picked hour
    form = page.locator("#book-form")
    assert form.locator('input[name=cards][value="0"]').is_checked()
    assert form.locator('input[name=cards][value="1"]').is_checked()
    assert not form.locator('input[name=cards][value="2"]').is_checked()
    assert form.locator("input[name=start]").input_value() == start
    assert form.locator("input[name=hours]").input_value() == "2"
    form.locator("input[name=purpose]").fill("Qwen2-7B smoke test")
    form.locator("button[type=submit]").click()

    message = page.locator(".messages li").first
    assert "Booked card(s) 0, 1 of node-a for Vision" in message.inner_text()
    for device in (0, 1):
        row = page.locator(f'tr[data-device="{device}"]')
        assert row.locator('td.slot.mine[data-team="Vision"]').count() == 2
    assert page.locator('tr[data-device="2"] td.slot.mine').count() == 0
    booking_id = message.inner_text().split("booking #")[1].rstrip(").")

    pick(stale, 0, start)
    pick(stale, 1, start)
    stale.locator("#book-form input[name=purpose]").fill("same cards again")
    stale.locator("#book-form button[type=submit]").click()
    alert = stale.get_by_role("alert")
    text = alert.inner_text()
    assert f"already booked by team Vision (booking #{booking_id}" in text
    assert "Pick other cards or another window" in text
