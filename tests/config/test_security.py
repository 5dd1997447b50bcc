"""Production settings: DEBUG off by default, HTTPS settings on when DEBUG=0, `check --deploy`
clean; every page under a Content-Security-Policy without inline scripts or styles."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.config.test_settings import GOOD_KEY, ROOT, load_settings

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k3y-" + "x7Qp9Lm2Zr5Tv8Wn4Bj6Hd1Fs0Gc3Ya" * 2,
    "FLEET_CREDENTIALS_KEY": GOOD_KEY,
    "ALLOWED_HOSTS": "fleet.example.com",
}
SECURITY_NAMES = [
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_PROXY_SSL_HEADER",
]


def security_settings(**env: str) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {SECURITY_NAMES!r}}}))"
    )
    result = load_settings(code=code, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_debug_is_off_unless_set():
    result = load_settings()
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr
    assert "DEBUG=1" in result.stderr  # says how to get a local try-out going


def test_https_settings_are_on_in_production():
    values = security_settings(**PRODUCTION)
    assert values == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": False,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


def test_https_settings_are_off_in_development():
    values = security_settings(DEBUG="1")
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["CSRF_COOKIE_SECURE"] is False
    assert values["SECURE_PROXY_SSL_HEADER"] is None


def test_each_https_setting_follows_its_variable():
    values = security_settings(
        **PRODUCTION,
        SECURE_SSL_REDIRECT="0",
        SECURE_HSTS_SECONDS="60",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_PROXY_SSL_HEADER="X-Scheme",
    )
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 60
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["CSRF_COOKIE_SECURE"] is False
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_SCHEME", "https"]
    assert (
        security_settings(**PRODUCTION, SECURE_PROXY_SSL_HEADER="-")["SECURE_PROXY_SSL_HEADER"]
        is None
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto: https"),
        ("SECURE_HSTS_SECONDS", "a year"),
        ("AXES_FAILURE_LIMIT", "0"),
        ("API_THROTTLE_USER", "lots"),
        ("API_THROTTLE_ANON", "10/fortnight"),
        ("API_TOKEN_TTL_DAYS", "0"),
    ],
)
def test_bad_security_values_fail_at_start_naming_the_variable(name, value):
    result = load_settings(**PRODUCTION, **{name: value})
    assert result.returncode != 0
    assert f"{name}={value!r} is invalid" in result.stderr


def test_check_deploy_is_clean_with_a_production_environment():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in SECURITY_NAMES and not k.startswith(("DJANGO", "PYTEST"))
    }
    env.update(PRODUCTION, NPUFLEET_ENV_FILE="", DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNINGS" not in output and "?: (" not in output, output


def test_the_only_silenced_check_is_hsts_preload(settings):
    assert settings.SILENCED_SYSTEM_CHECKS == ["security.W021"]


# Content-Security-Policy.


@pytest.mark.django_db
def test_pages_carry_a_policy_without_inline_code(client, member_user):
    client.force_login(member_user)
    for url in (reverse("login"), reverse("home"), reverse("api-tokens-page"), "/api/docs/"):
        policy = client.get(url)["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["default-src"] == "'self'", url
        assert directives["script-src"] == "'self'", url
        assert "unsafe-inline" not in directives["style-src"], url
        assert directives["frame-ancestors"] == "'none'", url
        assert directives["object-src"] == "'none'", url


@pytest.mark.django_db
def test_only_the_log_page_gets_a_style_nonce(client, member_user, team):
    from jobs.models import Job

    job = Job.objects.create(kind="deploy", status="running", team=team, requested_by=member_user)
    client.force_login(member_user)
    page = client.get(reverse("job-page", args=[job.pk]))
    nonce = re.search(r"'nonce-([^']+)'", page["Content-Security-Policy"]).group(1)
    assert f'<meta name="csp-nonce" content="{nonce}">' in page.content.decode()
    assert "nonce-" not in client.get(reverse("home"))["Content-Security-Policy"]


@pytest.mark.django_db
def test_redoc_alone_may_use_inline_styles(client, member_user):
    client.force_login(member_user)
    policy = client.get("/api/redoc/")["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "script-src 'self'" in policy


class InlineCode(HTMLParser):
    """Collects inline scripts, <style> elements, style= and on*= attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.found.append(f"<script> without src at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"<style> at line {self.getpos()[0]}")
        for name, _ in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"{name}= on <{tag}> at line {self.getpos()[0]}")
        if names.get("href", "").lower().startswith("javascript:"):
            self.found.append(f"javascript: link at line {self.getpos()[0]}")


TEMPLATE_DIRS = [
    p
    for p in ROOT.glob("*/templates")
    if p.is_dir() and not any(part.startswith(".") for part in p.parts)
] + [p for p in ROOT.glob("*/*/templates") if "node_modules" not in p.parts]


def test_no_template_holds_inline_scripts_or_styles():
    templates = [t for d in TEMPLATE_DIRS for t in d.rglob("*.html")]
    assert len(templates) > 40
    found = {}
    for template in templates:
        parser = InlineCode()
        parser.feed(template.read_text())
        if parser.found:
            found[str(template.relative_to(ROOT))] = parser.found
    assert not found, found


@pytest.mark.django_db
def test_rendered_pages_hold_no_inline_scripts_or_styles(client, admin_user, team):
    from jobs.models import Job
    from tests.frontend.conftest import make_node

    node = make_node("node-a", healths=("OK", "Warning"))
    job = Job.objects.create(kind="deploy", status="running", team=team, requested_by=admin_user)
    client.force_login(admin_user)
    pages = [
        reverse("home"),
        reverse("node-detail", args=[node.pk]),
        reverse("node-edit", args=[node.pk]),
        reverse("node-create"),
        reverse("jobs"),
        reverse("job-page", args=[job.pk]),
        reverse("deployments"),
        reverse("images"),
        reverse("image-build-page"),
        reverse("recipe-list"),
        reverse("booking-mine"),
        reverse("booking-timeline", args=[node.pk]),
        reverse("booking-find"),
        reverse("booking-audit"),
        reverse("booking-cordons"),
        reverse("api-tokens-page"),
        "/api/docs/",
    ]
    found = {}
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        parser = InlineCode()
        parser.feed(response.content.decode())
        if parser.found:
            found[url] = parser.found
    assert not found, found


def test_static_scripts_hold_no_eval():
    for script in (ROOT / "frontend" / "static" / "app").glob("*.js"):
        text = script.read_text()
        assert not re.search(r"\beval\(|new Function\(|setAttribute\(\s*['\"]style", text), script
