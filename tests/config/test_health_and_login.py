"""/healthz, the login page and the authenticated home page."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.conftest import PASSWORD


@pytest.mark.django_db
def test_healthz_reports_database_and_redis(client, django_db_setup):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["redis"]["ok"] is True


@pytest.mark.django_db
def test_healthz_names_redis_when_it_does_not_answer(client):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["database"]["ok"] is True
    assert body["redis"]["ok"] is False
    assert "Connection" in body["redis"]["error"]


def test_home_redirects_anonymous_users_to_login(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_renders_the_form(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content


def test_login_with_the_right_password_reaches_home(client, member_user):
    response = client.post(
        reverse("login"), {"username": member_user.username, "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert response.request["PATH_INFO"] == reverse("home")
    assert member_user.username.encode() in response.content


def test_login_with_a_wrong_password_shows_an_error(client, member_user):
    response = client.post(reverse("login"), {"username": member_user.username, "password": "nope"})
    assert response.status_code == 200
    assert b"didn&#x27;t match" in response.content or b"didn't match" in response.content
    assert "_auth_user_id" not in client.session
