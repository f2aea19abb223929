"""Prometheus metrics: what a platform team graphs and alerts on, and /metrics to scrape them.

Under gunicorn every worker writes its samples to files in PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py sets
it up before any worker forks and marks dead workers), and whichever worker answers /metrics adds up
every worker's files, so a scrape sees the whole instance. Outside gunicorn (tests, `flask run`) the
process's own registry is served.

Labels are fixed words (routes as their URL rule, operations, outcomes, states): never an email, a path
with an id in it, or anything a person typed.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from invite.adapters.access_records import latest_drift
from invite.adapters.storage import db
from invite.auth.peers import peer_address
from invite.junction.client import CallRecord

PAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
JUNCTION_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

http_request_seconds = Histogram(
    "invite_http_request_duration_seconds", "Time to answer a request, by route (URL rule), method and status.",
    ["route", "method", "status"], buckets=PAGE_BUCKETS,
)
junction_calls = Counter(
    "invite_junction_calls", "Junction operations (a request and its retries) by operation and outcome.",
    ["operation", "outcome"],
)
junction_call_seconds = Histogram(
    "invite_junction_call_duration_seconds", "Time one Junction operation took, retries included.",
    ["operation"], buckets=JUNCTION_BUCKETS,
)
audit_actions_started = Counter(
    "invite_audit_actions_started",
    "Actions (send, resend, revoke, update_member, remove_member) recorded before Junction was called.",
    ["action"],
)
audit_actions = Counter(
    "invite_audit_actions", "Actions completed, by action and the outcome the audit trail recorded.",
    ["action", "outcome"],
)
# Labelled (cache="teams") so that a worker which has not loaded the list yet reports nothing, rather than
# a 0 that would win "livemin".
team_cache_loaded = Gauge(
    "invite_team_cache_loaded_timestamp_seconds",
    "When the oldest team list still served by a live worker was loaded (Unix time); age = time() - this.",
    ["cache"], multiprocess_mode="livemin",
)
# For bulk sending (its jobs and their rows): call count_bulk_job / count_bulk_rows as states change.
bulk_jobs = Counter("invite_bulk_jobs", "Bulk jobs by the state they reached.", ["state"])
bulk_rows = Counter("invite_bulk_rows", "Rows of bulk jobs by the state they reached.", ["state"])

# Reminders (issue 26): each reminder's outcome kind ("invite_resent", "held_back", "unknown", "rejected" …),
# and how many pending invitations the last check found due.
reminders = Counter("invite_reminders", "Reminders of pending invitations, by the outcome the trail recorded.",
                    ["outcome"])
reminders_due = Gauge("invite_reminders_due", "Pending invitations the last reminders check found due.",
                      multiprocess_mode="livemax")



class AccessDriftCollector:
    """Access as code (issue 27): how far the org is from ACCESS_FILE, read from the drift check's latest
    stored report at each scrape (one small query), not from a worker's memory: whichever process answers
    /metrics, after any restart, reports the same numbers, and the worker needs no PROMETHEUS_MULTIPROC_DIR.

    - invite_access_drift{kind}: the changes the latest check that could compare found, by kind (invite,
      update, reinvite, revoke, remove); members outside the file that it leaves alone are not drift.
    - invite_access_drift_checked_timestamp_seconds: when that check ran (Unix time).
    - invite_access_drift_check_ok: 1 when the latest check could read the file and Junction, 0 when not.
    Nothing at all without ACCESS_FILE, or before the first check."""

    KINDS = ("invite", "update", "reinvite", "revoke", "remove")  # invite.core.access.KINDS

    def _families(self) -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        return (GaugeMetricFamily("invite_access_drift", "Members and invitations that differ from ACCESS_FILE "
                                  "at the last drift check that could compare, by the kind of change it would make.",
                                  labels=["kind"]),
                GaugeMetricFamily("invite_access_drift_checked_timestamp_seconds",
                                  "When the last drift check that could compare ran (Unix time)."),
                GaugeMetricFamily("invite_access_drift_check_ok",
                                  "1 when the latest drift check could read ACCESS_FILE and Junction, else 0."))

    def describe(self) -> list[GaugeMetricFamily]:
        return list(self._families())

    def collect(self) -> list[GaugeMetricFamily]:
        if current_app.extensions["settings"].access_file is None:
            return []
        try:
            latest, compared = latest_drift()
        except Exception:  # noqa: BLE001 - a scrape must answer whatever the database does
            db.session.rollback()
            return []
        if latest is None:
            return []
        drift, checked, ok = self._families()
        ok.add_metric([], 1.0 if latest.problem is None else 0.0)
        if compared is None:
            return [ok]
        counts = compared.counts or {}
        for kind in self.KINDS:
            drift.add_metric([kind], float(counts.get(kind, 0)))
        checked.add_metric([], compared.checked_at.timestamp())
        return [drift, checked, ok]


access_drift = AccessDriftCollector()
_access_registry = CollectorRegistry(auto_describe=False)
_access_registry.register(access_drift)

EXPORTED = (http_request_seconds, junction_calls, junction_call_seconds, audit_actions_started, audit_actions,
            team_cache_loaded, bulk_jobs, bulk_rows, reminders, reminders_due, access_drift)


def exported_series() -> set[str]:
    """Every series name /metrics can carry (histograms' _bucket/_sum/_count, counters' _total)."""
    suffixes = {"histogram": ("_bucket", "_sum", "_count"), "counter": ("_total",), "gauge": ("",)}
    return {family.name + suffix for metric in EXPORTED for family in metric.describe()
            for suffix in suffixes[family.type]}


# ------------------------------------------------------------------------------- what others call


def observe_junction_call(call: CallRecord) -> None:
    junction_calls.labels(call.operation, call.outcome).inc()
    junction_call_seconds.labels(call.operation).observe(call.elapsed_ms / 1000)


def count_action_started(action: str) -> None:
    audit_actions_started.labels(action).inc()


def count_action(action: str, outcome: str) -> None:
    audit_actions.labels(action, outcome).inc()


def mark_team_cache_loaded() -> None:
    team_cache_loaded.labels("teams").set(time.time())


def count_bulk_job(state: str) -> None:
    """A bulk job reached `state` (a fixed word: queued, running, done, failed, cancelled …)."""
    bulk_jobs.labels(state).inc()


def count_bulk_rows(state: str, rows: int = 1) -> None:
    """`rows` rows of a bulk job reached `state` (a fixed word, e.g. an audit outcome kind)."""
    bulk_rows.labels(state).inc(rows)


def count_reminder(outcome: str) -> None:
    """One reminder ended with `outcome` (an audit outcome kind: a fixed word)."""
    reminders.labels(outcome).inc()


def set_reminders_due(count: int) -> None:
    reminders_due.set(count)


# ------------------------------------------------------------------------------- wiring and /metrics

# A label value is a series, in every worker's file and every scrape: a client must not be able to make new
# ones. The method is any token a client likes, so anything outside this set is counted as "other".
COUNTED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _method_label(method: str) -> str:
    return method if method in COUNTED_METHODS else "other"


def _status_label(status: int) -> str:
    # The app chooses its statuses, but a view may pass an upstream's through: keep them to real ones.
    return str(status) if 100 <= status <= 599 else "other"

bp = Blueprint("metrics", __name__)


def init_metrics(app: Flask) -> None:
    """Time every request. Registered before the sign-in check, so refused requests are counted too."""

    @app.before_request
    def start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def observe_request(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is not None:
            route = request.url_rule.rule if request.url_rule is not None else "unmatched"
            # The route is the URL rule (a fixed set) or "unmatched", never the path a client sent.
            http_request_seconds.labels(route, _method_label(request.method),
                                        _status_label(response.status_code)).observe(
                time.perf_counter() - started)
        return response

    app.register_blueprint(bp)


def _allowed() -> bool:
    settings = current_app.extensions["settings"]
    token = settings.metrics_bearer_token
    if token:
        scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(offered.strip().encode(), token.encode()):
            return True
    try:
        peer = ipaddress.ip_address(peer_address(request.environ).split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped:
        peer = peer.ipv4_mapped
    return any(peer.version == net.version and peer in net for net in settings.metrics_allowed_cidrs)


@bp.get("/metrics")
def metrics():
    # Not behind the SSO identity (a scraper has none): the address or the bearer token decides.
    if not _allowed():
        return Response("Not allowed: scrape from an address in METRICS_ALLOWED_CIDRS, or send "
                        "'Authorization: Bearer <METRICS_BEARER_TOKEN>'.\n", status=403, mimetype="text/plain")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    # content_type, not mimetype: Flask would add a second charset to the one the constant carries.
    return Response(generate_latest(registry) + generate_latest(_access_registry), content_type=CONTENT_TYPE_LATEST)
