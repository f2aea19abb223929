"""Soak under faults: 8 people on the dashboard for 3 minutes while Junction and the platform misbehave.

    .venv/bin/python bench/soak.py              # 180 s, the figures quoted in bench/README.md
    .venv/bin/python bench/soak.py --quick      # 30 s, for development

Bounded and loopback only. It starts, from the repository root:
- `python -m invite.sandbox` at --latency-ms (50) with injected faults (5 % of /v1 requests answered 500,
  2 % held past the dashboard's Junction timeout, 1 % connections reset; each before or after the sandbox
  acted, even odds, from a seed) and a request log on disk that survives its restarts;
- a fresh PostgreSQL database on 127.0.0.1:5432, migrated by the Procfile's release command, and
  `gunicorn app:app --config gunicorn.conf.py` on it (header sign-in, 8 people who are all admins);
then --people simulated people use the dashboard (the invite form, send, invitations search, resend,
revoke, members, activity, CSV) while it restarts the sandbox twice, kills the dashboard's PostgreSQL
connections twice (pg_terminate_backend) and one gunicorn worker with SIGKILL.

It reports requests made, page times, pages that were a 500, the audit trail against the sandbox's own
log of POSTs and DELETEs, double sends, and each worker's memory at start and end. Like run.py it is a
measurement: it exits 0 unless it could not run, and prints which targets were missed.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import random
import re
import secrets
import signal
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

# bench/ is on sys.path (python bench/soak.py); importing run also puts the repository root there.
from harness import ROOT, Child, child_env, free_port, machine_info, page_heading, percentile

from invite.sandbox.faults import read_request_log

PEOPLE = 8
ADMIN_GROUP = "soak-admins"
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PAGE_TIMEOUT = 60.0
# What each simulated person does next, and how often.
ACTIONS = {"form": 12, "send": 22, "search": 14, "resend": 12, "revoke": 6, "members": 12, "activity": 12, "csv": 6}
# A send whose form is posted twice at once, as a double click does.
DOUBLE_CLICK_SHARE = 0.1
# Outcome kinds a row may have for what the sandbox did (besides "unknown", always acceptable).
SEND_KINDS_BY_ANSWER = {
    "invite_created": {"invite_created", "confirmed_pending"},
    "invite_resent": {"invite_resent", "confirmed_pending"},
    "already_in_org": {"already_in_org"},
}
NOT_SENT_KINDS = {"unreachable", "rejected", "validation_error", "conflict", "rate_limited", "key_rejected",
                  "not_found", "unknown"}

_FORM = re.compile(r'<form\b[^>]*\bmethod="post"[^>]*\baction="([^"]+)"[^>]*>(.*?)</form>', re.S | re.I)
_HIDDEN = re.compile(r'<input\b(?=[^>]*\btype="hidden")[^>]*\bname="([^"]+)"[^>]*\bvalue="([^"]*)"', re.I)
_REVOKE_LINK = re.compile(r'href="(/invitations/[0-9a-f-]{36}/revoke\?[^"]*)"')


def log(message: str) -> None:
    print(f"[soak {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------- the stack


class Database:
    """A fresh PostgreSQL database for this run, dropped at the end unless kept."""

    def __init__(self, keep: bool):
        self.name = f"invite_soak_{datetime.now(UTC):%Y%m%d%H%M%S}_{secrets.token_hex(3)}"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.name}"
        self.keep = keep
        self._admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        with self._admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))

    def kill_connections(self) -> int:
        with self._admin.connect() as conn:
            return len(conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                {"name": self.name}).all())

    def audit_rows(self) -> list[dict[str, Any]]:
        engine = sa.create_engine(self.url, poolclass=sa.NullPool)
        try:
            with engine.connect() as conn:
                return [dict(row._mapping) for row in conn.execute(sa.text(
                    "SELECT id, token, created_at, completed_at, state, actor_email, action, target_email, "
                    "invite_id, outcome_kind, http_status FROM actions ORDER BY id"))]
        finally:
            engine.dispose()

    def drop(self) -> None:
        if self.keep:
            log(f"kept database {self.name}")
        else:
            self.kill_connections()
            with self._admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}"'))
        self._admin.dispose()


class FaultySandbox:
    """`python -m invite.sandbox` with faults and a request log; restart() keeps the port and the log."""

    def __init__(self, run_dir: Path, args: argparse.Namespace):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.run_dir = run_dir
        self.args = args
        self.request_log = run_dir / "sandbox-requests.jsonl"
        self.starts = 0
        self.child: Child | None = None
        self.start()

    def start(self) -> None:
        a = self.args
        argv = [sys.executable, "-m", "invite.sandbox", "--port", str(self.port), "--quiet",
                "--latency-ms", f"{a.latency_ms:g}", "--fault-rate-500", f"{a.fault_500:g}",
                "--fault-rate-hold", f"{a.fault_hold:g}", "--fault-rate-reset", f"{a.fault_reset:g}",
                "--fault-hold-seconds", f"{a.hold_seconds:g}", "--fault-phase", "mixed",
                "--fault-seed", str(a.seed + self.starts), "--request-log", str(self.request_log)]
        self.child = Child(f"sandbox #{self.starts + 1}", argv, child_env(), self.run_dir / "sandbox.log")
        self.child.wait_ready(self.url + "/_sandbox/stats")
        self.starts += 1

    def restart(self) -> float:
        started = time.monotonic()
        self.stop()
        self.start()
        return time.monotonic() - started

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()
            self.child = None


class Dashboard:
    """The Procfile's release command, then its web: line, on the run's own PostgreSQL database."""

    def __init__(self, run_dir: Path, sandbox: FaultySandbox, database: Database, args: argparse.Namespace):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = child_env(
            INVITE_SANDBOX="1",
            JUNCTION_API_BASE_URL=sandbox.url,
            JUNCTION_TIMEOUT_SECONDS=f"{args.junction_timeout:g}",
            DATABASE_URL=database.url,
            SECRET_KEY=secrets.token_hex(32),
            AUTH_MODE="header",
            AUTH_TRUSTED_PROXIES="127.0.0.1/32",
            ADMIN_GROUPS=ADMIN_GROUP,
            HOST="127.0.0.1",
            PORT=str(self.port),
            WEB_CONCURRENCY=str(args.workers),
            WEB_THREADS=str(args.threads),
            INVITE_RESEND_COOLDOWN_MINUTES="10",
        )
        release = Child("release", [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], env,
                        run_dir / "release.log")
        if release.proc.wait(timeout=120) != 0:
            raise RuntimeError(f"the release command failed:\n{release.tail()}")
        release.stop()
        gunicorn = Path(sys.executable).with_name("gunicorn")
        argv = [str(gunicorn) if gunicorn.exists() else sys.executable, *([] if gunicorn.exists() else
                ["-m", "gunicorn"]), "app:app", "--config", "gunicorn.conf.py"]
        self.child = Child("dashboard", argv, env, run_dir / "dashboard.log")
        self.child.wait_ready(self.url + "/healthz")

    def workers(self) -> list[int]:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.child.proc.pid:
                    found.append(int(stat.parent.name))
        return sorted(found)

    def stop(self) -> None:
        self.child.stop()


def rss_mib(pid: int) -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


# ----------------------------------------------------------------------------------------- people


@dataclass
class Page:
    action: str
    ms: float
    status: int | None  # None: no answer at all (connection broken)
    was_500: bool
    error: str | None = None


@dataclass
class Person:
    number: int
    dashboard_url: str
    rng: random.Random
    pages: list[Page] = field(default_factory=list)
    sent_emails: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.email = f"person{self.number}@soak.example"
        self.session = requests.Session()
        # What the SSO proxy adds to every request it lets through.
        self.session.headers.update({"X-Forwarded-Email": self.email, "X-Forwarded-Groups": ADMIN_GROUP})

    def visit(self, action: str, method: str, path: str, **kwargs: Any) -> requests.Response | None:
        started = time.perf_counter()
        try:
            response = self.session.request(method, self.dashboard_url + path, timeout=PAGE_TIMEOUT, **kwargs)
            if action == "csv":
                _ = response.content  # streamed: read it whole, as a download does
        except requests.RequestException as exc:
            self.pages.append(Page(action, (time.perf_counter() - started) * 1000, None, False, type(exc).__name__))
            return None
        statuses = [r.status_code for r in (*response.history, response)]
        self.pages.append(Page(action, (time.perf_counter() - started) * 1000, response.status_code, 500 in statuses,
                               None if response.status_code < 400 else page_heading(response.text)[:80]))
        return response

    # -- what a person does --

    def form(self) -> None:
        self.visit("form", "GET", "/")

    def send(self) -> None:
        page = self.visit("form", "GET", "/")
        form = post_form(page, "/")
        if form is None:
            return
        email = f"soak-{self.number}-{secrets.token_hex(4)}@example.org"
        data = {**form[1], "email": email, "role": self.rng.choice(["no_role", "org_admin"])}
        self.sent_emails.append(email)
        if self.rng.random() < DOUBLE_CLICK_SHARE:
            # A double click: the same form (the same one-time token) posted twice at once, on two
            # connections with the same cookies, as a browser does.
            twin = Person(self.number, self.dashboard_url, self.rng)
            twin.session.cookies.update(self.session.cookies)
            other = threading.Thread(target=twin.visit, args=("send", "POST", "/"), kwargs={"data": data})
            other.start()
            self.visit("send", "POST", "/", data=data)
            other.join()
            twin.session.close()
            self.pages.extend(twin.pages)
        else:
            self.visit("send", "POST", "/", data=data)

    def _query(self) -> str:
        if self.sent_emails and self.rng.random() < 0.6:
            return self.rng.choice(self.sent_emails)
        return self.rng.choice(["acmehealth", "soak-", "example", ""])

    def search(self) -> None:
        self.visit("search", "GET", "/invitations", params={"q": self._query()})

    def members(self) -> None:
        self.visit("members", "GET", "/members", params={"q": self.rng.choice(["", "acmehealth", "dana", "eu"])})

    def activity(self) -> None:
        self.visit("activity", "GET", "/activity")

    def csv(self) -> None:
        self.visit("csv", "GET", "/activity.csv")

    def resend(self) -> None:
        listing = self.visit("search", "GET", "/invitations", params={"q": self._query()})
        forms = [f for f in all_post_forms(listing) if f[0].endswith("/resend")]
        if not forms:
            return
        action, fields = self.rng.choice(forms)
        answer = self.visit("resend", "POST", action, data=fields)
        # Within the cooldown the dashboard asks first; this person always confirms.
        confirm = [f for f in all_post_forms(answer) if f[0].endswith("/resend") and f[1].get("confirm") == "1"]
        if confirm:
            self.visit("resend", "POST", confirm[0][0], data=confirm[0][1])

    def revoke(self) -> None:
        if not self.sent_emails:
            return
        listing = self.visit("search", "GET", "/invitations", params={"q": self.rng.choice(self.sent_emails)})
        links = _REVOKE_LINK.findall(listing.text) if listing is not None and listing.status_code == 200 else []
        if not links:
            return
        confirm = self.visit("revoke", "GET", html.unescape(links[0]))
        forms = [f for f in all_post_forms(confirm) if f[0].split("?")[0].endswith("/revoke")]
        if forms:
            self.visit("revoke", "POST", forms[0][0], data=forms[0][1])

    def run(self, deadline: float, think: tuple[float, float]) -> None:
        names, weights = zip(*ACTIONS.items(), strict=True)
        while time.monotonic() < deadline:
            getattr(self, self.rng.choices(names, weights)[0])()
            time.sleep(self.rng.uniform(*think))
        self.session.close()


def all_post_forms(response: requests.Response | None) -> list[tuple[str, dict[str, str]]]:
    if response is None or response.status_code >= 500:
        return []
    return [(html.unescape(action), {name: html.unescape(value) for name, value in _HIDDEN.findall(body)})
            for action, body in _FORM.findall(response.text)]


def post_form(response: requests.Response | None, action: str) -> tuple[str, dict[str, str]] | None:
    for found in all_post_forms(response):
        if found[0] == action and "submission_token" in found[1]:
            return found
    return None


# ----------------------------------------------------------------------------------------- audit vs log


def _moment(text: str | datetime | None) -> datetime | None:
    if text is None or isinstance(text, datetime):
        return text if text is None or text.tzinfo else text.replace(tzinfo=UTC)
    return datetime.fromisoformat(text)


def compare(rows: list[dict[str, Any]], log_lines: list[dict[str, Any]], slack: timedelta) -> dict[str, Any]:
    """Every POST invite and DELETE invite the sandbox received, held against the audit rows.

    A row covers the requests to its target (send/resend: the email; revoke: the invite id) that arrived
    between its start and its completion (a row never completed covers everything after its start).
    Each request takes the earliest such row not yet taken; a request no row covers is lost, one whose
    only rows are taken is a double send. A taken row's outcome must fit what the sandbox did.
    """
    def key_of_line(line: dict[str, Any]) -> tuple[str, str] | None:
        if line["method"] == "POST" and line["path"].endswith("/invite"):
            email = (line.get("json") or {}).get("email")
            return ("send", str(email).casefold()) if email else None
        if line["method"] == "DELETE" and "/invite/" in line["path"]:
            return "revoke", line["path"].rsplit("/", 1)[1]
        return None

    by_key: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["action"] in ("send", "resend"):
            by_key[("send", row["target_email"].casefold())].append(row)
        elif row["invite_id"]:
            by_key[("revoke", row["invite_id"])].append(row)

    lines_by_key: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for line in log_lines:
        if (key := key_of_line(line)) is not None:
            lines_by_key[key].append(line)

    taken: dict[int, dict[str, Any]] = {}
    lost, doubles, mismatches, confirmed_by_another = [], [], [], []
    requests_seen = Counter()
    for line in sorted(log_lines, key=lambda entry: entry.get("received") or entry["ts"]):
        key = key_of_line(line)
        if key is None:
            continue
        requests_seen[key[0]] += 1
        arrived = _moment(line.get("received") or line["ts"])
        covering = [row for row in by_key.get(key, [])
                    if _moment(row["created_at"]) - slack <= arrived
                    and (row["completed_at"] is None or arrived <= _moment(row["completed_at"]) + slack)]
        free = [row for row in covering if row["id"] not in taken]
        if not covering:
            lost.append(line)
            continue
        if not free:
            doubles.append(line)
            continue
        row = free[0]
        taken[row["id"]] = line
        if outcome_fits(row, line):
            continue
        if row["outcome_kind"] == "confirmed_pending" and another_send_acted(row, line, lines_by_key[key]):
            confirmed_by_another.append((row, line))
        else:
            mismatches.append((row, line))
    untouched = [row for row in rows if row["id"] not in taken]
    phantom = [row for row in untouched if row["outcome_kind"] in
               {"invite_created", "invite_resent", "already_in_org", "revoked"} and row["action"] != "revoke"]
    return {
        "requests": dict(requests_seen),
        "rows": len(rows),
        "rows_by_outcome": dict(Counter(row["outcome_kind"] for row in rows).most_common()),
        "rows_never_completed": sum(1 for row in rows if row["state"] != "done"),
        "matched": len(taken),
        "rows_without_request": dict(Counter(row["outcome_kind"] for row in untouched).most_common()),
        "lost": [brief(line) for line in lost],
        "double_sends": [brief(line) for line in doubles],
        "mismatches": [{"row": {k: str(v) for k, v in row.items()}, "sandbox": brief(line)}
                       for row, line in mismatches],
        "confirmed_by_another": len(confirmed_by_another),
        "phantom_sends": [{k: str(v) for k, v in row.items()} for row in phantom],
    }


def another_send_acted(row: dict[str, Any], line: dict[str, Any], others: list[dict[str, Any]]) -> bool:
    """Whether another request for the same address was acted on while this row's follow-up could see it.

    After a lost answer the dashboard lists the address and counts an invitation sent within its clock
    skew allowance (30 s) before the attempt as this one: when two people resend one invitation at once,
    the one whose request failed before Junction acted is told it went out, and it did - by the other.
    """
    since = _moment(row["created_at"]) - timedelta(seconds=30)
    until = _moment(row["completed_at"]) if row["completed_at"] else datetime.max.replace(tzinfo=UTC)
    return any(
        other is not line and other.get("status") == 200
        and (other.get("answer") or {}).get("status") in ("invite_created", "invite_resent")
        and since <= _moment(other["ts"]) <= until
        for other in others
    )


def outcome_fits(row: dict[str, Any], line: dict[str, Any]) -> bool:
    kind = row["outcome_kind"]
    if kind == "unknown" or row["state"] != "done":
        return True  # the dashboard says it cannot know: always honest
    status, answer = line.get("status"), (line.get("answer") or {})
    if row["action"] == "revoke":
        if status == 200:
            return kind == "revoked"
        if status == 404:
            return kind == "already_gone"
        if status is None:
            return False  # nothing was done, so no definite outcome fits
        return kind in NOT_SENT_KINDS
    if status == 200:
        return kind in SEND_KINDS_BY_ANSWER.get(answer.get("status"), set())
    if status is None:
        return False
    return kind in NOT_SENT_KINDS


def brief(line: dict[str, Any]) -> dict[str, Any]:
    return {k: line.get(k) for k in ("received", "boot", "method", "path", "json", "status", "answer", "fault",
                                     "phase", "sent")}


# ----------------------------------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> dict[str, Any]:
    run_dir = ROOT / "bench" / "results" / f"soak-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    run_dir.mkdir(parents=True, exist_ok=True)
    log(f"logs in {run_dir}")
    events: list[str] = []
    with contextlib.ExitStack() as stack:
        database = Database(keep=args.keep_database)
        stack.callback(database.drop)
        sandbox = FaultySandbox(run_dir, args)
        stack.callback(sandbox.stop)
        dashboard = Dashboard(run_dir, sandbox, database, args)
        stack.callback(dashboard.stop)

        # Warm every worker (fresh connections land on either) before measuring memory.
        for _ in range(4 * args.workers):
            with contextlib.suppress(requests.RequestException):
                requests.get(dashboard.url + "/healthz", timeout=10, headers={"Connection": "close"})
        memory_start = {pid: rss_mib(pid) for pid in dashboard.workers()}

        started = time.monotonic()
        deadline = started + args.seconds
        people = [Person(n + 1, dashboard.url, random.Random(args.seed * 100 + n)) for n in range(args.people)]
        threads = [threading.Thread(target=p.run, args=(deadline, (args.think_min, args.think_max)),
                                    name=f"person-{p.number}") for p in people]
        for thread in threads:
            thread.start()

        def at(share: float) -> float:
            return started + args.seconds * share

        schedule = [
            (at(0.20), "restart the sandbox", lambda: f"down for {sandbox.restart():.1f} s"),
            (at(0.35), "kill PostgreSQL connections", lambda: f"{database.kill_connections()} terminated"),
            (at(0.50), "kill -9 one worker", lambda: kill_a_worker(dashboard)),
            (at(0.65), "restart the sandbox", lambda: f"down for {sandbox.restart():.1f} s"),
            (at(0.80), "kill PostgreSQL connections", lambda: f"{database.kill_connections()} terminated"),
        ]
        for when, what, act in schedule:
            time.sleep(max(0.0, when - time.monotonic()))
            result = act()
            events.append(f"{time.monotonic() - started:6.1f} s  {what}: {result}")
            log(events[-1])
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        # Let held requests finish and every row complete before reading memory and the trail.
        time.sleep(min(args.hold_seconds, 10))
        memory_end = {pid: rss_mib(pid) for pid in dashboard.workers()}
        dashboard.stop()
        sandbox.stop()
        rows = database.audit_rows()

    pages = [page for person in people for page in person.pages]
    log_lines = read_request_log(sandbox.request_log)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "load_average": os.getloadavg(),
        "parameters": vars(args),
        "elapsed_seconds": round(elapsed, 1),
        "events": events,
        "pages": pages,
        "sandbox_requests": len(log_lines),
        "sandbox_faults": dict(Counter(f"{line['fault']} {line['phase']}" for line in log_lines if line["fault"])),
        "sandbox_boots": len({line["boot"] for line in log_lines}),
        "audit": compare(rows, log_lines, timedelta(seconds=0.5)),
        "memory_start": memory_start,
        "memory_end": memory_end,
        "run_dir": str(run_dir),
    }


def kill_a_worker(dashboard: Dashboard) -> str:
    workers = dashboard.workers()
    if not workers:
        return "no worker found"
    victim = workers[0]
    os.kill(victim, signal.SIGKILL)
    return f"killed worker {victim}"


def report(result: dict[str, Any]) -> str:
    pages: list[Page] = result["pages"]
    times = [p.ms for p in pages if p.status is not None]
    m = result["machine"]
    audit = result["audit"]
    by_action = ", ".join(f"{k} {v}" for k, v in sorted(Counter(p.action for p in pages).items()))
    out = [
        f"Soak under faults, {result['when']} (commit {m['commit']})",
        f"machine: {m['cpu']}, {m['usable_cores']} usable cores (nproc), {m['ram_gib']} GiB, {m['os']}, "
        f"Python {m['python']}; load average at the end {', '.join(f'{x:.1f}' for x in result['load_average'])}",
        f"ran {result['elapsed_seconds']} s with {result['parameters']['people']} people; "
        f"sandbox at {result['parameters']['latency_ms']:g} ms, faults 500 {result['parameters']['fault_500']:.0%}, "
        f"hold {result['parameters']['fault_hold']:.0%} ({result['parameters']['hold_seconds']:g} s, Junction "
        f"timeout {result['parameters']['junction_timeout']:g} s), reset {result['parameters']['fault_reset']:.0%}",
        "",
        "events:",
        *[f"  {event}" for event in result["events"]],
        "",
        f"requests made: {len(pages)} page views ({by_action})",
        f"page time, ms: p50 {percentile(times, 0.5):.0f}  p95 {percentile(times, 0.95):.0f}  "
        f"p99 {percentile(times, 0.99):.0f}  max {max(times) if times else float('nan'):.0f}",
        f"pages that were a 500: {sum(p.was_500 for p in pages)} (target 0)",
        f"no answer at all (connection broken): {sum(p.status is None for p in pages)}"
        + (f" ({', '.join(f'{k} {v}' for k, v in Counter(p.error for p in pages if p.status is None).items())})"
           if any(p.status is None for p in pages) else ""),
        f"statuses: {dict(sorted(Counter(str(p.status) for p in pages).items()))}",
        "",
        f"sandbox: {result['sandbox_requests']} /v1 requests over {result['sandbox_boots']} starts; injected faults "
        f"{result['sandbox_faults']}",
        f"audit rows: {audit['rows']} ({audit['rows_by_outcome']}); never completed: {audit['rows_never_completed']}",
        f"sandbox POST/DELETE invite requests: {audit['requests']}; each matched to its row: {audit['matched']}",
        f"  lost (a request with no row): {len(audit['lost'])} (target 0)",
        f"  double sends (a second request for one row): {len(audit['double_sends'])} (target 0)",
        f"  outcome does not fit what the sandbox did: {len(audit['mismatches'])} (target 0)",
        f"  said sent after a lost answer, and another person's request for the same address did send it: "
        f"{audit['confirmed_by_another']}",
        f"  rows that say sent with no request behind them: {len(audit['phantom_sends'])} (target 0)",
        f"  rows with no request (never reached Junction): {audit['rows_without_request']}",
        "",
        "worker memory (RSS, MiB): start "
        + ", ".join(f"{pid}: {mib:.0f}" for pid, mib in result["memory_start"].items() if mib)
        + "; end " + ", ".join(f"{pid}: {mib:.0f}" for pid, mib in result["memory_end"].items() if mib),
    ]
    for name in ("lost", "double_sends", "mismatches", "phantom_sends"):
        for item in audit[name][:5]:
            out.append(f"  {name}: {json.dumps(item, default=str)[:400]}")
    for page in [p for p in pages if p.was_500][:5]:
        out.append(f"  500 on {page.action}: {page.error}")
    out.append(f"logs: {result['run_dir']}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="how long the people work (default 180)")
    parser.add_argument("--quick", action="store_true", help="30 seconds, for development")
    parser.add_argument("--people", type=int, default=PEOPLE)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--fault-500", type=float, default=0.05)
    parser.add_argument("--fault-hold", type=float, default=0.02)
    parser.add_argument("--fault-reset", type=float, default=0.01)
    parser.add_argument("--junction-timeout", type=float, default=2.0, help="JUNCTION_TIMEOUT_SECONDS (default 2)")
    parser.add_argument("--hold-seconds", type=float, default=None,
                        help="how long a held request waits (default: the Junction timeout + 2 s)")
    parser.add_argument("--think-min", type=float, default=0.2, help="pause between a person's actions, s")
    parser.add_argument("--think-max", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep-database", action="store_true", help="do not drop the run's database")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = min(args.seconds, 30.0)
    if args.hold_seconds is None:
        args.hold_seconds = args.junction_timeout + 2
    result = run(args)
    print(report(result))
    if args.json:
        serialisable = {**result, "pages": [vars(p) for p in result["pages"]]}
        Path(args.json).write_text(json.dumps(serialisable, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
