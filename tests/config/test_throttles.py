"""API throttles: per signed-in user and per anonymous address, rates from settings; over the
rate the API answers 429 with a JSON detail and Retry-After."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rates(settings):
    """Three requests a minute each; counts of earlier tests forgotten."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/minute", "user": "3/minute"},
    }
    cache.delete("throttle_anon_127.0.0.1")
    yield
    cache.delete("throttle_anon_127.0.0.1")


def forget_user(user) -> None:
    cache.delete(f"throttle_user_{user.pk}")


def test_defaults_are_high_enough_for_people_and_scripts(settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert rates == {"anon": "120/minute", "user": "3000/minute"}
    classes = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]
    assert classes == ["config.throttles.AnonThrottle", "config.throttles.UserThrottle"]


def test_a_signed_in_user_over_the_rate_gets_429_with_detail(low_rates, member_user):
    forget_user(member_user)
    api = APIClient()
    api.force_authenticate(member_user)
    for _ in range(3):
        assert api.get("/api/v1/nodes/").status_code == 200
    refused = api.get("/api/v1/nodes/")
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/json"
    assert "throttled" in refused.json()["detail"]
    assert 0 < int(refused["Retry-After"]) <= 60
    forget_user(member_user)


def test_users_are_counted_apart(low_rates, member_user, outsider_user):
    forget_user(member_user)
    forget_user(outsider_user)
    busy, other = APIClient(), APIClient()
    busy.force_authenticate(member_user)
    other.force_authenticate(outsider_user)
    for _ in range(3):
        busy.get("/api/v1/nodes/")
    assert busy.get("/api/v1/nodes/").status_code == 429
    assert other.get("/api/v1/nodes/").status_code == 200
    forget_user(member_user)
    forget_user(outsider_user)


def test_anonymous_requests_are_counted_per_address(low_rates, member_user):
    api = APIClient()
    for _ in range(3):
        response = api.post("/api/v1/auth/token/", {"username": "nobody", "password": "x"})
        assert response.status_code == 400, response.json()
    refused = api.post(
        "/api/v1/auth/token/", {"username": member_user.username, "password": PASSWORD}
    )
    assert refused.status_code == 429
    assert "detail" in refused.json()
    elsewhere = api.post(
        "/api/v1/auth/token/",
        {"username": member_user.username, "password": PASSWORD},
        REMOTE_ADDR="10.9.8.7",
    )
    assert elsewhere.status_code == 200
    cache.delete("throttle_anon_10.9.8.7")
