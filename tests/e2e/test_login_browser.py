"""The login page in a real browser."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def test_signing_in_shows_the_overview(page, asgi_live_server, member_user):
    login(page, asgi_live_server, member_user.username, PASSWORD)
    assert page.locator("[data-testid=username]").inner_text() == member_user.username
    assert page.locator("h1").first.inner_text() == "Fleet overview"


def test_wrong_password_stays_on_login_with_an_error(page, asgi_live_server, member_user):
    page.goto(f"{asgi_live_server.url}/login/")
    page.fill("#id_username", member_user.username)
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").inner_text().startswith("Your username and password")
