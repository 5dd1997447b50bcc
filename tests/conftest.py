"""Shared fixtures: the three personas and API clients for them."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from config.celery import app as celery_app

pytest_plugins = ["devsim.pytest_plugin"]

PASSWORD = "correct-horse-battery-staple"

# Test runs sharing one Redis must not hear each other's websocket groups or Celery queues.
TEST_PREFIX = f"npufleet-test-{os.getpid()}"
settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = TEST_PREFIX
settings.CACHES["default"]["KEY_PREFIX"] = TEST_PREFIX
os.environ["CELERY_KEY_PREFIX"] = f"{TEST_PREFIX}:"
# The simulated fleet's stand-in images (npufleet/vllm-sim, npufleet/busybox) pass the container
# policy's image rule, as the demo's .env allows them; policy tests override this.
settings.JOBS_ALLOWED_IMAGE_PREFIXES = ["npufleet/"]
celery_app.conf.broker_transport_options = {
    **(celery_app.conf.broker_transport_options or {}),
    "global_keyprefix": f"{TEST_PREFIX}:",
}


@pytest.fixture
def admin_user(db):
    """A site admin."""
    return get_user_model().objects.create_user(
        "alice-admin", "alice@example.com", PASSWORD, is_staff=True, is_superuser=True
    )


@pytest.fixture
def team(db):
    """The member's team."""
    from fleet.booking.models import Team

    return Team.objects.create(name="Vision", slug="vision")


@pytest.fixture
def other_team(db):
    """A team the member and the outsider do not belong to."""
    from fleet.booking.models import Team

    return Team.objects.create(name="Speech", slug="speech")


@pytest.fixture
def member_user(db, team):
    """A member of `team`."""
    from fleet.booking.models import Membership

    user = get_user_model().objects.create_user("bob-member", "bob@example.com", PASSWORD)
    Membership.objects.create(team=team, user=user)
    return user


@pytest.fixture
def outsider_user(db):
    """A signed-in user who belongs to no team."""
    return get_user_model().objects.create_user("olga-outsider", "olga@example.com", PASSWORD)


def _api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def admin_api(admin_user) -> APIClient:
    return _api_client(admin_user)


@pytest.fixture
def member_api(member_user) -> APIClient:
    return _api_client(member_user)


@pytest.fixture
def outsider_api(outsider_user) -> APIClient:
    return _api_client(outsider_user)
