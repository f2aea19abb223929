"""The process's one Junction client and the values cached from it, reached from views via get_upstream()."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import Flask, current_app, g, has_request_context

from invite.adapters import metrics
from invite.adapters.cache import CachedValue
from invite.config import Settings
from invite.core.send_limits import SendLimits
from invite.junction import JunctionClient, JunctionError, Org, Team
from invite.junction.client import CallRecord

READY_CHECK_TTL_SECONDS = 10.0


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


def _on_junction_call(call: CallRecord) -> None:
    metrics.observe_junction_call(call)
    # The request's log line and Server-Timing header then split its time between Junction and us.
    if has_request_context():
        g.junction_ms = g.get("junction_ms", 0.0) + call.elapsed_ms
        g.junction_calls = g.get("junction_calls", 0) + 1


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
        teams=CachedValue(load_teams, settings.teams_cache_ttl_seconds),
        org=CachedValue(client.get_org, settings.teams_cache_ttl_seconds),
        ready=CachedValue(check_ready, READY_CHECK_TTL_SECONDS),
        limits=SendLimits(min_interval_seconds=settings.resend_min_interval_seconds,
                          per_day=settings.resends_per_day),
        sandbox_server=sandbox_server,
    )
    app.extensions["upstream"] = upstream
    return upstream


def get_upstream() -> Upstream:
    return current_app.extensions["upstream"]
