"""The browser tests' fixtures: the test app served live, and Debian's Chromium driven by
Playwright. A plugin (see conftest.py), so every tests/test_browser_*.py shares one browser:
Playwright's sync API runs once per thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
# Shared CI machines can be slow; assertions wait for what a person would see, not race it.
expect.set_options(timeout=10_000)
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def live_url(app: Flask) -> Iterator[str]:
    """The test app served over HTTP on a free local port for the length of the run."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    yield context.new_page()
    context.close()


def log_in(page: Page, live_url: str, email: str) -> None:
    page.goto(f"{live_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Tickets", exact=True)).to_be_visible()
    # The page's script (deferred) sets up its controls once the document is parsed: a filter
    # chosen before that would change nothing (the heading shows earlier).
    page.wait_for_load_state("domcontentloaded")
