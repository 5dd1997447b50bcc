"""/healthz, the login page and the authenticated home page."""

from __future__ import annotations

import socket

import pytest
from django.db import OperationalError
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
    assert set(body["database"]) == {"ok", "ms"}  # no vendor, host or version


def closed_port() -> int:
    """A loopback port nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_healthz_says_redis_fails_without_its_address_or_error(client, caplog):
    port = closed_port()
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{port}/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body == {"status": "fail", "database": body["database"], "redis": {"ok": False}}
    assert body["database"]["ok"] is True
    text = response.content.decode()
    for leak in ("127.0.0.1", str(port), "redis://", "Error", "refused", "Connection"):
        assert leak not in text
    logged = [r.getMessage() for r in caplog.records if r.name == "config.health"]
    assert any(f"127.0.0.1:{port}" in line and "refused" in line for line in logged), logged


@pytest.mark.django_db
def test_healthz_says_the_database_fails_without_driver_text(client, caplog, monkeypatch):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise OperationalError('connection to server at "db.internal" (10.0.0.5), port 5432 failed')

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == {"ok": False}
    assert b"db.internal" not in response.content and b"10.0.0.5" not in response.content
    assert any("db.internal" in r.getMessage() for r in caplog.records)


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
