"""Stopping a deployment asks first (data-confirm, handled by app.js under the CSP)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fleet.booking.services.bookings import book_cards
from jobs.catalog.services.catalog_edits import ensure_seed_catalog
from jobs.choices import DeploymentStatus
from jobs.models import Deployment, Job
from tests.conftest import PASSWORD
from tests.e2e.conftest import login
from tests.frontend.conftest import make_node
from tests.helpers import tp1_version

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def seeded(transactional_db):
    """The manuals' catalog (a flush by an earlier browser test empties the tables)."""
    ensure_seed_catalog()


def test_stop_asks_for_confirmation_and_dismissing_keeps_it_running(
    page, asgi_live_server, member_user, team
):
    node = make_node("node-a", healths=("OK",) * 8)
    now = timezone.now()
    booking = book_cards(
        member_user, team=team, node=node, start=now, end=now + timedelta(hours=2),
        purpose="stop test", devices=[0],
    )  # fmt: skip
    version = tp1_version(member_user, team)
    deployment = Deployment.objects.create(
        recipe_version=version, node=node, booking=booking, team=team, cards=[0],
        status=DeploymentStatus.RUNNING, container_name="npufleet-deploy-1",
        endpoint_url="http://192.0.2.10:8080/v1",
    )  # fmt: skip
    login(page, asgi_live_server, member_user.username, PASSWORD)
    page.goto(f"{asgi_live_server.url}/deployments/")
    asked: list[str] = []

    def dismiss(dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.locator(f'#deployment-{deployment.pk} button[data-action="stop"]').click()

    assert asked and asked[0].startswith(f"Stop deployment {deployment.pk} (qwen-tp1 on node-a)")
    assert page.url == f"{asgi_live_server.url}/deployments/"
    assert not Job.objects.filter(deployment=deployment).exists()
    assert page.get_by_test_id("endpoint").inner_text() == "http://192.0.2.10:8080/v1"
