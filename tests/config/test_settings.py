"""Settings fail loudly, naming the variable, on bad values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "x3nF0m4f3b0b4I4mQ2lZ3eUo7YqQ5vQ9c1mJ4d7Wf8E="


def load_settings(code: str | None = None, **overrides: str) -> subprocess.CompletedProcess[str]:
    """Load the settings in a fresh process with only `overrides` of the documented variables."""
    documented = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in documented and not k.startswith(("DJANGO", "PYTEST"))
    }
    env.update(overrides)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env["NPUFLEET_ENV_FILE"] = ""  # a developer's .env must not change what is tested
    return subprocess.run(
        [
            sys.executable,
            "-c",
            code
            or "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_debug_gives_a_working_local_setup_without_keys():
    result = load_settings(DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_defaults_are_production_and_need_keys():
    result = load_settings()
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DEBUG", "maybe", "DEBUG='maybe' is invalid"),
        (
            "DATABASE_URL",
            "mysql://root@localhost/x",
            "DATABASE_URL='mysql://root@localhost/x' is invalid",
        ),
        ("DATABASE_URL", "not a url", "DATABASE_URL='not a url' is invalid"),
        ("REDIS_URL", "http://127.0.0.1:6379", "REDIS_URL='http://127.0.0.1:6379' is invalid"),
        ("FLEET_CREDENTIALS_KEY", "too-short", "FLEET_CREDENTIALS_KEY='too-short' is invalid"),
        ("FLEET_PROBE_INTERVAL", "often", "FLEET_PROBE_INTERVAL='often' is invalid"),
        ("FLEET_PROBE_INTERVAL", "0", "a whole number of at least 1"),
        ("FLEET_SSH_CONNECT_TIMEOUT", "-1", "FLEET_SSH_CONNECT_TIMEOUT='-1' is invalid"),
    ],
)
def test_bad_value_fails_at_start_naming_the_variable(name, value, expected):
    result = load_settings(**{"DEBUG": "1", name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert expected in result.stderr


def test_production_requires_real_keys():
    result = load_settings(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_production_refuses_the_development_credentials_key():
    result = load_settings(DEBUG="0", SECRET_KEY="s" * 50)
    assert result.returncode != 0
    assert "FLEET_CREDENTIALS_KEY is required" in result.stderr


def test_production_refuses_development_keys():
    result = load_settings(
        DEBUG="0",
        SECRET_KEY="dev-only-insecure-secret-key-do-not-use-in-production",
        FLEET_CREDENTIALS_KEY=GOOD_KEY,
    )
    assert result.returncode != 0
    assert "development key" in result.stderr


def test_production_starts_with_real_keys():
    result = load_settings(DEBUG="0", SECRET_KEY="s" * 50, FLEET_CREDENTIALS_KEY=GOOD_KEY)
    assert result.returncode == 0, result.stderr


def test_database_url_selects_sqlite_or_postgresql():
    sqlite = load_settings(DEBUG="1", DATABASE_URL="sqlite:////tmp/npufleet-settings-test.sqlite3")
    assert sqlite.stdout.strip() == "django.db.backends.sqlite3"
    pg = load_settings(DEBUG="1", DATABASE_URL="postgres://postgres@127.0.0.1:5432/npufleet")
    assert pg.stdout.strip() == "django.db.backends.postgresql"


def test_production_static_files_collect_with_hashed_names(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PYTEST"))}
    env.update(
        DEBUG="0",
        SECRET_KEY="s" * 50,
        FLEET_CREDENTIALS_KEY=GOOD_KEY,
        STATIC_ROOT=str(tmp_path),
        NPUFLEET_ENV_FILE="",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = (tmp_path / "staticfiles.json").read_text()
    assert "vendor/xterm.js" in manifest and "app/app.css" in manifest
