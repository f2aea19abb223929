"""Fixtures for tests/test_browser.py: Debian's Chromium through Playwright, and the app on a real port.

Import them into a test module (``from browser_fixtures import ...``); conftest's ``sandbox`` fixture
provides the Junction sandbox they talk to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from browser_support import BrowserUnavailable, LiveServer, launch_chromium, live_server
from playwright.sync_api import Browser, BrowserContext, Page

# Long enough for a loaded CI machine, short enough that a broken page fails in seconds, not minutes.
ACTION_TIMEOUT_MS = 8_000
# A navigation waits for the server as well as the browser: a page of 2,000 teams took more than 8 s to load
# at a load average of 15 on two cores. A page that never loads still fails, after 30 s.
NAVIGATION_TIMEOUT_MS = 30_000
VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Browser]:
    # Module scope: one browser for the whole file, stopped before any other test module runs, so the
    # Playwright driver and its event loop never outlive the browser tests.
    try:
        playwright, browser = launch_chromium()
    except BrowserUnavailable as exc:
        problem = str(exc)
    else:
        problem = None
    if problem:  # a failure, never a skip: the browser tests must not vanish quietly
        pytest.fail(problem, pytrace=False)
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()


@pytest.fixture
def serve(sandbox, tmp_path) -> Iterator[Callable[..., LiveServer]]:
    """``serve(**env_overrides)`` starts the dashboard (wired to ``sandbox``) on a free port."""
    with ExitStack() as stack:
        count = 0

        def start(**overrides: str) -> LiveServer:
            nonlocal count
            count += 1
            database = f"sqlite:///{tmp_path / f'invite{count}.db'}"
            return stack.enter_context(live_server(sandbox, database, **overrides))

        yield start


@pytest.fixture
def live(serve) -> LiveServer:
    return serve()


@pytest.fixture
def new_context(chromium_browser) -> Iterator[Callable[..., BrowserContext]]:
    """``new_context(**options)``: a fresh browser context (cookies, JS on/off, CSP), closed after the test."""
    contexts: list[BrowserContext] = []

    def make(**options) -> BrowserContext:
        context = chromium_browser.new_context(viewport=VIEWPORT, **options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context) -> Page:
    return new_context().new_page()
