"""Shared fixtures: the three personas and API clients for them."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def admin_user(db):
    """A site admin."""
    return get_user_model().objects.create_user(
        "alice-admin", "alice@example.com", PASSWORD, is_staff=True, is_superuser=True
    )


@pytest.fixture
def member_user(db):
    """A member of a team."""
    return get_user_model().objects.create_user("bob-member", "bob@example.com", PASSWORD)


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
