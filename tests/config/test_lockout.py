"""Sign-in lockout: the login page, the admin login and the API token endpoint refuse a username
from an address after too many wrong passwords, say until when, and accept it again after the
cool-off or an admin's reset."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"


def sign_in(client, user, password):
    return client.post(reverse("login"), {"username": user.username, "password": password})


def admin_sign_in(client, user, password):
    return client.post(
        reverse("admin:login"),
        {"username": user.username, "password": password, "next": reverse("admin:index")},
    )


def token(client, user, password):
    return client.post(TOKEN_URL, {"username": user.username, "password": password})


def age_failures(by: timedelta) -> None:
    """Move every recorded failure back in time, as if that much time had passed."""
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= by
        attempt.save(update_fields=["attempt_time"])


def pass_the_cool_off(settings):
    age_failures(settings.AXES_COOLOFF_TIME + timedelta(minutes=1))


def test_lockout_defaults_are_five_failures_and_fifteen_minutes(settings):
    limit, cool_off = settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME
    assert (limit, cool_off) == (5, timedelta(minutes=15))


def test_login_page_blocks_the_right_password_after_the_failure_limit(
    client, member_user, settings
):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        response = sign_in(client, member_user, "wrong")
        assert response.status_code == 200
        assert b"didn't match" in response.content
    blocked = sign_in(client, member_user, "wrong")
    assert blocked.status_code == 429
    page = blocked.content.decode()
    assert "Sign-in blocked" in page
    assert "15 minutes" in page and "Try again after" in page
    assert blocked["Retry-After"] == "900"

    right = sign_in(client, member_user, PASSWORD)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("home")).status_code == 302  # still signed out


def test_login_page_accepts_the_right_password_again_after_the_cool_off(
    client, member_user, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, member_user, "wrong")
    assert sign_in(client, member_user, PASSWORD).status_code == 429

    pass_the_cool_off(settings)
    response = sign_in(client, member_user, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.session["_auth_user_id"] == str(member_user.pk)


def test_a_try_during_the_lockout_restarts_the_wait(client, member_user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, member_user, "wrong")
    age_failures(settings.AXES_COOLOFF_TIME - timedelta(minutes=1))
    assert sign_in(client, member_user, PASSWORD).status_code == 429  # restarts the wait
    age_failures(timedelta(minutes=2))  # past the first lockout's end, not the second's
    assert sign_in(client, member_user, PASSWORD).status_code == 429


def test_a_lockout_binds_the_username_and_address_pair_only(
    client, member_user, outsider_user, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, member_user, "wrong")
    assert sign_in(client, outsider_user, PASSWORD).status_code == 302
    other_address = client.post(
        reverse("login"),
        {"username": member_user.username, "password": PASSWORD},
        REMOTE_ADDR="10.1.2.3",
    )
    assert other_address.status_code == 302


def test_a_successful_sign_in_forgets_earlier_failures(client, member_user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, member_user, "wrong")
    assert sign_in(client, member_user, PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, member_user, "wrong").status_code == 200
    assert sign_in(client, member_user, PASSWORD).status_code == 302


def test_admin_login_locks_out_too(client, admin_user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert admin_sign_in(client, admin_user, "wrong").status_code == 200
    assert admin_sign_in(client, admin_user, "wrong").status_code == 429
    blocked = admin_sign_in(client, admin_user, PASSWORD)
    assert blocked.status_code == 429
    assert b"Sign-in blocked" in blocked.content
    assert client.get(reverse("admin:index")).status_code == 302

    call_command("axes_reset_username", admin_user.username)
    assert admin_sign_in(client, admin_user, PASSWORD).status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_token_endpoint_locks_out_with_a_json_429(member_user, settings):
    api = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        wrong = token(api, member_user, "wrong")
        assert wrong.status_code == 400
        assert wrong.json()["detail"] == "Wrong username or password."
    blocked = token(api, member_user, "wrong")
    assert blocked.status_code == 429
    assert blocked["Content-Type"] == "application/json"
    assert blocked["Retry-After"] == "900"
    body = blocked.json()
    assert "sign-in is blocked for 15 minutes" in body["detail"]
    assert body["retry_after"] == 900

    right = token(api, member_user, PASSWORD)
    assert right.status_code == 429
    assert "token" not in right.json()

    assert reset(username=member_user.username) >= 1
    issued = token(api, member_user, PASSWORD)
    assert issued.status_code == 200
    assert issued.json()["token"]


def test_token_endpoint_with_json_credentials_counts_failures_too(member_user, settings):
    api = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        api.post(TOKEN_URL, {"username": member_user.username, "password": "x"}, format="json")
    right = api.post(
        TOKEN_URL, {"username": member_user.username, "password": PASSWORD}, format="json"
    )
    assert right.status_code == 429


def test_failure_limit_is_a_setting(client, member_user, settings):
    settings.AXES_FAILURE_LIMIT = 2
    assert sign_in(client, member_user, "wrong").status_code == 200
    assert sign_in(client, member_user, "wrong").status_code == 429
