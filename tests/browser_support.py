"""What the browser tests (and docs/make_screenshots.py) need: the app on a real port, and Debian's Chromium.

Nothing here ever downloads a browser: Playwright is always pointed at /usr/bin/chromium, and a missing
Chromium is an error with a clear message, never a skip.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from conftest import app_env, make_app
from werkzeug.serving import make_server

if TYPE_CHECKING:
    from flask import Flask
    from playwright.sync_api import Browser, Playwright

    from invite.sandbox import SandboxServer

CHROMIUM_PATH = "/usr/bin/chromium"
# Without the background-networking flags Chromium phones home at start-up, and this machine's closed
# network refuses those connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class BrowserUnavailable(RuntimeError):
    """Debian's Chromium is not installed (or cannot be started)."""


class LiveServer:
    """A Flask app served by werkzeug's threaded server on 127.0.0.1 (port 0 picks a free port)."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._server = make_server(host, port, app, threaded=True)
        self.host = host
        self.port = self._server.server_port
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-server", daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def live_server(sandbox: SandboxServer, database_url: str, **env_overrides: str) -> Iterator[LiveServer]:
    """The dashboard wired to ``sandbox`` (built with conftest's app_env/make_app), served on a free port."""
    app = make_app(app_env(sandbox, database_url, **env_overrides))
    server = LiveServer(app).start()
    try:
        yield server
    finally:
        server.stop()
        app.extensions["upstream"].client.close()


def require_chromium() -> str:
    if not (os.path.isfile(CHROMIUM_PATH) and os.access(CHROMIUM_PATH, os.X_OK)):
        raise BrowserUnavailable(
            f"Chromium is required for the browser tests but {CHROMIUM_PATH} is missing or not executable. "
            "Install Debian's package (apt-get install chromium); Playwright's own browser downloads are "
            "never used."
        )
    return CHROMIUM_PATH


def launch_chromium() -> tuple[Playwright, Browser]:
    """Start Playwright and headless Debian Chromium. The caller closes the browser, then stops Playwright."""
    executable = require_chromium()
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
    except PlaywrightError as exc:
        playwright.stop()
        raise BrowserUnavailable(f"{executable} could not be started by Playwright: {exc}") from exc
    return playwright, browser


@contextmanager
def chromium() -> Iterator[Browser]:
    playwright, browser = launch_chromium()
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()


# --- a realistic org, for the layout tests and the README's screenshots ----------------------------------

LONG_ADDRESSES = (
    "maximilian.hohenberg-castellanos@regional-health-partners.example.org",
    "dr.anneliese.van.der.westhuizen@cardiology.acmehealth-europe.example.com",
    "outpatient-scheduling-coordinators@northwest-clinics.example.net",
    "siobhan.oconnell-fitzgerald@remote-patient-monitoring.example.ie",
)


def grow_org(state, invites: int = 30) -> None:
    """Pending invitations at a real org's scale: long addresses, many teams, sent days to months ago.

    Works on a SandboxState (whose team list `--extra-teams` / `extra_teams=` already made long).
    """
    from datetime import UTC, datetime, timedelta

    with state.lock:
        team_ids = [team["id"] for team in state.teams]
        clock = state.clock
        try:
            for i in range(invites):
                state.clock = lambda i=i: datetime.now(UTC) - timedelta(days=2 * i + 1, hours=i)
                role = ("team_admin", "no_role", "org_admin")[i % 3]
                count = 12 if i % 6 == 0 else 2
                teams = team_ids[3 * i: 3 * i + count] if role == "team_admin" else None
                base = LONG_ADDRESSES[i % len(LONG_ADDRESSES)]
                email = base if i < len(LONG_ADDRESSES) else base.replace("@", f"+{i}@")
                state.create_or_resend_invite(email, role, teams)
        finally:
            state.clock = clock
