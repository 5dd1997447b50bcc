"""Browser tests: a real Daphne server (HTTP + websockets) on the test database, and Chromium."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, TypeVar

import pytest
from channels.testing.live import make_application
from daphne.testing import DaphneProcess
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

T = TypeVar("T")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _server_setup() -> None:
    """In the forked server: the test database is already configured; don't keep connections."""
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The fork copied asgiref's one-thread executor without its thread: start a fresh one.
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import SyncToAsync

    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)


class LiveServer:
    """Where the server listens."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"


@pytest.fixture
def asgi_live_server(transactional_db, settings) -> Iterator[LiveServer]:
    """Daphne serving the project's ASGI app (pages, static files, websockets) on the test DB."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    process = DaphneProcess(
        "127.0.0.1",
        partial(make_application, static_wrapper=ASGIStaticFilesHandler),
        setup=_server_setup,
    )
    process.start()
    if not process.ready.wait(timeout=30) or process.errors.qsize():
        process.terminate()
        pytest.fail("the Daphne test server did not start")
    try:
        yield LiveServer(process.port.value)
    finally:
        process.terminate()
        process.join(timeout=10)


@pytest.fixture
def page(monkeypatch) -> Iterator:
    """Debian's Chromium driven by Playwright: a fresh browser per test.

    Playwright's sync API keeps an event loop running in this thread, so Django's guard against
    ORM calls from async code is lifted for the duration of the test only.
    """
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def off_loop(func: Callable[..., T], *args: Any) -> T:
    """Run func on a worker thread: with Playwright's event loop in the test thread, Django
    refuses async_to_sync there, so a probe would record but never broadcast."""
    from concurrent.futures import ThreadPoolExecutor

    from django import db

    def call() -> T:
        try:
            return func(*args)
        finally:
            db.connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result(timeout=120)


def wait_for_js(page, expression: str, arg: Any = None, timeout: float = 15.0) -> None:
    """Poll a JavaScript expression (or function of `arg`) until it is truthy.

    Playwright's wait_for_function compiles its predicate with eval inside the page, which the
    site's Content-Security-Policy forbids; page.evaluate runs outside the page's policy.
    """
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            pytest.fail(f"still false after {timeout}s: {expression}")
        page.wait_for_timeout(50)


def login(page, server: LiveServer, username: str, password: str) -> None:
    """Sign in through the login form."""
    page.goto(f"{server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/")
