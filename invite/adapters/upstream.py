"""The process's one Junction client and the values cached from it, reached from views via get_upstream()."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from flask import Flask, current_app, g, has_request_context

from invite.adapters import metrics
from invite.adapters.cache import CachedValue
from invite.config import Settings
from invite.core.send_limits import SendLimits
from invite.junction import JunctionClient, JunctionError, Org, Team
from invite.junction.client import CallRecord

READY_CHECK_TTL_SECONDS = 10.0
T = TypeVar("T")


@dataclass
class Upstream:
    client: JunctionClient
    teams: CachedValue[list[Team]]
    org: CachedValue[Org]
    ready: CachedValue[None]
    # The send limits every channel's sends are judged by (invite.services.actions applies them).
    limits: SendLimits = field(default_factory=SendLimits)
    sandbox_server: object | None = field(default=None, repr=False)

    def team_names(self) -> dict[str, str]:
        try:
            return {team.id: team.name for team in self.teams.get().value}
        except JunctionError:
            return {}

    def org_name(self) -> str | None:
        try:
            return self.org.get().value.name
        except JunctionError:
            return None


class CallTally:
    """The Junction calls made for one request, counted from whichever thread made them: its log line and
    Server-Timing header split the request's time between Junction and us."""

    __slots__ = ("_lock", "calls", "ms")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.ms = 0.0

    def add(self, elapsed_ms: float) -> None:
        with self._lock:  # a request's pool threads may finish calls at the same moment
            self.calls += 1
            self.ms += elapsed_ms


# The tally of the request a pool thread is working for (for_this_request), while it does.
_working_for = threading.local()


def request_tally() -> CallTally | None:
    """The tally of the request this thread is working for: the request's own, or the one a pool thread was
    handed by for_this_request; None outside any request (the worker, the command line)."""
    tally = getattr(_working_for, "tally", None)
    if tally is not None or not has_request_context():
        return tally
    tally = g.get("junction_tally")
    if tally is None:
        tally = g.junction_tally = CallTally()
    return tally


def for_this_request(work: Callable[[], T]) -> Callable[[], T]:
    """`work`, to run on another thread (a pool's) for the current request: the Junction calls it makes count
    in the request's Server-Timing and log line like the request's own (issue 25: a preview walking the
    invitations on a second thread reported 201–222 calls of the 341–362 it made). Only the tally is carried:
    the thread gets no request context, so `g` and the database session stay the request thread's alone."""
    tally = request_tally()

    def run() -> T:
        _working_for.tally = tally
        try:
            return work()
        finally:
            _working_for.tally = None

    return run


def _on_junction_call(call: CallRecord) -> None:
    metrics.observe_junction_call(call)
    tally = request_tally()
    if tally is not None:
        tally.add(call.elapsed_ms)


_embedded_lock = threading.Lock()


def _start_embedded_sandbox(app: Flask):
    """Sandbox mode with no base URL: serve the sandbox on loopback inside this process."""
    from invite.sandbox import SandboxServer

    with _embedded_lock:
        server = SandboxServer(port=0).start()
    app.logger.info("sandbox: serving a simulated Junction at %s", server.base_url)
    return server


def init_upstream(app: Flask, settings: Settings) -> Upstream:
    sandbox_server = None
    base_url = settings.api_base_url
    if settings.embedded_sandbox:
        sandbox_server = _start_embedded_sandbox(app)
        base_url = sandbox_server.base_url
    client = JunctionClient(
        base_url=base_url,
        management_key=settings.management_key,
        org_id=settings.org_id,
        timeout=settings.timeout_seconds,
        pool_maxsize=settings.web_threads,
        on_call=_on_junction_call,
    )

    def check_ready() -> None:
        client.get_org()

    def load_teams() -> list[Team]:
        # Sorted once per load, not on every render: an org may have thousands of teams.
        teams = sorted(client.list_teams(), key=lambda t: (t.name.casefold(), t.region))
        metrics.mark_team_cache_loaded()
        return teams

    upstream = Upstream(
        client=client,
        # Reloaded on a thread of their own before they expire: a page view never waits for either
        # (only a process's first does).
        teams=CachedValue(load_teams, settings.teams_cache_ttl_seconds, refresh_in_background=True),
        org=CachedValue(client.get_org, settings.teams_cache_ttl_seconds, refresh_in_background=True),
        ready=CachedValue(check_ready, READY_CHECK_TTL_SECONDS),
        limits=SendLimits(min_interval_seconds=settings.resend_min_interval_seconds,
                          per_day=settings.resends_per_day),
        sandbox_server=sandbox_server,
    )
    app.extensions["upstream"] = upstream
    return upstream


def get_upstream() -> Upstream:
    return current_app.extensions["upstream"]
