"""Browser fixtures: one portal (a real `backbone serve`) and one Chromium for the whole run, and
a fresh browser context per test. A test fails if the page threw a script error or broke the
Content-Security-Policy, whatever it asserted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from tests.e2e.web.harness import Portal, launch_chromium, running_portal

NAVIGATION_TIMEOUT_MS = 20_000
ACTION_TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    with running_portal(tmp_path_factory.mktemp("portal"), seeded=True) as running:
        yield running


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@contextmanager
def context_for(chromium: Browser, url: str) -> Iterator[BrowserContext]:
    """A fresh browser context (cookies, storage) on a portal's address."""
    context = chromium.new_context(base_url=url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    yield context
    context.close()


@contextmanager
def watched_page(context: BrowserContext) -> Iterator[Page]:
    """A page that fails its test on any script error or policy violation."""
    opened = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # A refused API call logs "Failed to load resource" by design (a wrong code, a step-up
        # needed); script errors and policy violations are what must never happen.
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(message.text)

    opened.on("console", on_console)
    opened.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    yield opened
    assert problems == [], problems


@pytest.fixture
def browser_context(chromium: Browser, portal: Portal) -> Iterator[BrowserContext]:
    with context_for(chromium, portal.url) as context:
        yield context


@pytest.fixture
def page(browser_context: BrowserContext) -> Iterator[Page]:
    with watched_page(browser_context) as opened:
        yield opened
