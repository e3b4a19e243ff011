"""A live server on loopback and headless Debian chromium driven by Playwright."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.servers import free_port

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
# Every host name resolves to loopback, so tenants' host names work and nothing leaves the machine.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage",
                 "--host-resolver-rules=MAP * 127.0.0.1"]


@pytest.fixture(params=["sqlite"])
def database_url(request, tmp_path):
    """Browser tests run on SQLite; the same views are covered on PostgreSQL by the view tests."""
    import shutil
    target = tmp_path / "atrium.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), target)
    return f"sqlite:///{target}"


@pytest.fixture
def live_server(app):
    """The test app served by a threaded WSGI server on a free loopback port, with a fresh event hub for its live
    streams (each test app has its own database); yields its port."""
    from app.events import hub as hubmod

    hubmod.reset_for_tests()
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield port
    server.shutdown()
    thread.join(timeout=10)
    hubmod.hub.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def logged_in(browser, port, login_name, errors=None, **context_options):
    """A new browser context logged in as login_name (English UI), on the home page; page errors go to errors."""
    from tests.conftest import TEST_PASSWORD

    context = browser.new_context(locale="en-US", **context_options)
    page = context.new_page()
    if errors is not None:
        page.on("pageerror", lambda exc: errors.append(f"{login_name}: {exc}"))
    page.goto(f"http://localhost:{port}/login")
    page.fill("#login", login_name)
    page.fill("#password", TEST_PASSWORD)
    page.click("button[data-label=login]")
    page.wait_for_url(f"http://localhost:{port}/")
    return context, page
