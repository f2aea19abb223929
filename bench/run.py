"""Performance benchmark: the dashboard under gunicorn, against the Junction sandbox with injected latency.

    .venv/bin/python bench/run.py            # defaults: 50 ms latency, 300 invites, concurrency 8
    .venv/bin/python bench/run.py --quick    # smoke run, about half a minute

Two parts (see bench/README.md for how to read the output):

1. Sending an invite. The same number of invites is sent twice at the same concurrency: straight to the
   sandbox (what the dashboard cannot beat) and through the dashboard as a browser does (GET the form,
   untimed; time the POST and its 303 to the result page). Also counts the TCP connections the sandbox
   accepted while the dashboard ran, to show that its Junction connections are pooled and reused.
2. The invite form with a large org (2,000 teams by default): server time of a cached render, and how
   many traversals of the team list's pages the sandbox saw, during the renders and after the cache's TTL.

It is a measurement, not a test: it exits 0 whether or not the targets are met, and says which were missed.
The sandbox and gunicorn run as subprocesses from the repository root, exactly as `python -m invite.sandbox`
and the Procfile's `web:` line start them, and are always stopped on the way out (also on Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import math
import os
import platform
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python bench/run.py` puts bench/ on the path, not the repository root

from invite.sandbox.state import DEMO_KEY, DEMO_ORG_ID, seed_teams  # noqa: E402

KEY_HEADER = "X-Management-Key"
SEED_TEAMS = len(seed_teams(0))
SENT_MARKER = "Invitation sent to"
FORM_P50_TARGET_MS = 50.0
RATIO_TARGET = 1.10

# The dashboard can legitimately take up to gunicorn's timeout (see gunicorn.conf.py) on one request;
# the direct client waits as long as the dashboard's own Junction client would (JUNCTION_TIMEOUT_SECONDS).
DASHBOARD_TIMEOUT = 60.0
DIRECT_TIMEOUT = 10.0
START_TIMEOUT = 30.0

_HIDDEN = re.compile(r'<input[^>]*name="(csrf_token|submission_token)"[^>]*value="([^"]*)"')
_SERVER_TIMING = re.compile(r"\bapp;dur=([0-9.]+)")
_JUNCTION_TIMING = re.compile(r"\bjunction;dur=([0-9.]+)")
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)
_JUNCTION_LOG = re.compile(r"^junction (\w+) (\S+) -> (\d+) in (\d+) ms")


# --------------------------------------------------------------------------------------------- figures


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low = math.floor(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": percentile(values, 0.50),
        "p95": percentile(values, 0.95),
        "mean": sum(values) / len(values) if values else math.nan,
        "max": max(values) if values else math.nan,
    }


@dataclass
class Sample:
    """One timed operation. ms is client-side wall time; server_* come from the Server-Timing header."""

    ms: float = math.nan
    ok: bool = False
    error: str | None = None
    server_ms: float = math.nan  # GET / alone, or POST / (the 303) in the dashboard run
    result_server_ms: float = math.nan  # GET /sent/<token> after the 303
    post_junction_ms: float = math.nan  # Junction's share of server_ms (Server-Timing: junction)
    form_ms: float = math.nan  # the untimed GET / before a POST, client side
    form_server_ms: float = math.nan

    @property
    def post_own_ms(self) -> float:
        """server_ms less Junction's share: the dashboard's own work on the POST."""
        return self.server_ms - self.post_junction_ms


def server_timing(response: requests.Response, metric: re.Pattern[str] = _SERVER_TIMING) -> float:
    match = metric.search(response.headers.get("Server-Timing", ""))
    return float(match.group(1)) if match else math.nan


def ok_values(samples: list[Sample], attr: str = "ms") -> list[float]:
    return [getattr(s, attr) for s in samples if s.ok and not math.isnan(getattr(s, attr))]


def error_counts(samples: list[Sample]) -> dict[str, int]:
    return dict(Counter(s.error or "unknown" for s in samples if not s.ok).most_common())


# --------------------------------------------------------------------------------------------- machine


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram_gib = math.nan
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = int(line.split()[1]) / 1024 / 1024
    try:
        os_name = platform.freedesktop_os_release().get("PRETTY_NAME", platform.system())
    except OSError:
        os_name = platform.system()
    commit = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(  # noqa: S603 - fixed argv
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH, informational only
            cwd=ROOT, capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_gib": round(ram_gib, 1),
        "python": platform.python_version(),
        "os": f"{os_name}, {platform.system()} {platform.release()}",
        "commit": commit,
    }


# --------------------------------------------------------------------------------------------- processes


def free_port() -> int:
    """A random port that is free right now (a small race with other programs is accepted)."""
    for _ in range(200):
        port = random.randint(20000, 60999)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its live children, from /proc (Linux only).

    Taken before and after a run, the difference says how much CPU each side spent per request, which on a
    small machine is what decides whether the dashboard is waiting on Junction or on the CPU."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # Fields after the ")" that ends the command name: state ppid ... utime(12) stime(13).
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(stat.parent.name) == pid or int(fields[1]) == pid:
                total += (int(fields[11]) + int(fields[12])) / tick
    return total


def child_env(**settings: str) -> dict[str, str]:
    """This process's environment without anything that configures the product, plus `settings`."""
    prefixes = ("JUNCTION_", "INVITE_", "WEB_", "TEAMS_CACHE_", "DATABASE_URL", "SECRET_KEY", "PORT", "HOST",
                "PROXY_FIX_", "GUNICORN_CMD_ARGS")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


class Child:
    """A subprocess whose output goes to a log file; stop() is safe to call at any time, more than once."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path):
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("ab")
        # A session of its own: Ctrl-C reaches only this script, which then stops the children in order.
        self.proc = subprocess.Popen(  # noqa: S603 - argv built here from sys.executable and fixed words
            argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, url: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(url, timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {START_TIMEOUT:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        self._log.flush()
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # gunicorn: graceful stop; the sandbox: clean stop
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()


class Sandbox:
    def __init__(self, stack: contextlib.ExitStack, run_dir: Path, *, latency_ms: float, page_size: int,
                 extra_teams: int, label: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "invite.sandbox", "--port", str(self.port), "--latency-ms", str(latency_ms),
                "--page-size", str(page_size), "--extra-teams", str(extra_teams), "--quiet"]
        self.child = Child(f"sandbox ({label})", argv, child_env(), run_dir / f"sandbox-{label}.log")
        stack.callback(self.child.stop)
        self.child.wait_ready(self.url + "/_sandbox/stats")
        self.invite_url = f"{self.url}/v1/org/{DEMO_ORG_ID}/invite"

    def stats(self) -> dict[str, int]:
        return requests.get(self.url + "/_sandbox/stats", timeout=10).json()

    def info(self) -> dict[str, Any]:
        return requests.get(self.url + "/_sandbox/info", timeout=10).json()

    def log(self) -> list[dict[str, Any]]:
        return requests.get(self.url + "/_sandbox/requests", timeout=30).json()

    def reset(self) -> None:
        requests.post(self.url + "/_sandbox/reset", timeout=10).raise_for_status()

    def keepalive_probe(self) -> str:
        """Five requests on one connection (to /_sandbox/stats: no injected latency). Each must answer, and
        quickly: a pooled client, the dashboard's and the direct run's alike, depends on reused connections."""
        times = []
        with requests.Session() as session:
            try:
                for _ in range(5):
                    started = time.perf_counter()
                    session.get(self.url + "/_sandbox/stats", timeout=3).raise_for_status()
                    times.append((time.perf_counter() - started) * 1000)
            except requests.RequestException as exc:
                return f"BROKEN: a request on a kept-alive connection failed ({type(exc).__name__})"
        reused = percentile(times[1:], 0.5)
        if reused > 20:
            # 40 ms is Linux's delayed ACK meeting Nagle's algorithm on a server without TCP_NODELAY.
            return (f"SLOW: a request on a reused connection takes {reused:.0f} ms (first {times[0]:.1f} ms); "
                    "every figure below is inflated by that much")
        return f"ok (reused connection: {reused:.1f} ms per request)"

class Dashboard:
    """`gunicorn app:app --config gunicorn.conf.py` as the Procfile's web: line, configured by environment."""

    def __init__(self, stack: contextlib.ExitStack, run_dir: Path, sandbox: Sandbox, *, workers: int,
                 threads: int, ttl_seconds: float, label: str, database_url: str | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = child_env(
            INVITE_SANDBOX="1",
            JUNCTION_API_BASE_URL=sandbox.url,
            DATABASE_URL=database_url or f"sqlite:///{run_dir / 'bench.db'}",
            SECRET_KEY=secrets.token_hex(32),
            HOST="127.0.0.1",  # gunicorn.conf.py binds 0.0.0.0 by default; a benchmark stays on loopback
            PORT=str(self.port),
            WEB_CONCURRENCY=str(workers),
            WEB_THREADS=str(threads),
            TEAMS_CACHE_TTL_SECONDS=f"{ttl_seconds:g}",
        )
        # The Procfile's release: line, with the same environment; idempotent, so every start may run it.
        upgrade = subprocess.run(  # noqa: S603 - argv from sys.executable and fixed words
            [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )
        if upgrade.returncode != 0:
            output = "\n".join((upgrade.stdout + upgrade.stderr).splitlines()[-20:])
            raise RuntimeError(f"`flask --app app db upgrade` exited with {upgrade.returncode}:\n{output}")
        gunicorn = Path(sys.executable).with_name("gunicorn")
        command = [str(gunicorn)] if gunicorn.exists() else [sys.executable, "-m", "gunicorn"]
        argv = [*command, "app:app", "--config", "gunicorn.conf.py"]
        self.child = Child(f"dashboard ({label})", argv, env, run_dir / f"dashboard-{label}.log")
        stack.callback(self.child.stop)
        self.child.wait_ready(self.url + "/healthz")

    def junction_calls(self) -> list[tuple[str, str, int, int]]:
        """(method, path, status, ms) of each Junction call, as the dashboard's own client logged it."""
        calls = []
        self.child.tail(0)  # flushes our handle; the workers write their lines themselves
        for line in self.child.log_path.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                match = _JUNCTION_LOG.match(entry.get("msg", ""))
                if entry.get("logger") == "invite.junction" and match:
                    calls.append((match[1], match[2], int(match[3]), int(match[4])))
        return calls


# --------------------------------------------------------------------------------------------- load


class Sessions:
    """One requests.Session per worker thread (a browser tab, or a pooled client), closed together."""

    def __init__(self, setup: Callable[[requests.Session], None] | None = None):
        self._local = threading.local()
        self._all: list[requests.Session] = []
        self._lock = threading.Lock()
        self._setup = setup

    def get(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            if self._setup:
                self._setup(session)
            self._local.session = session
            with self._lock:
                self._all.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            for session in self._all:
                session.close()


def run_concurrently(task: Callable[[int], Sample], count: int, concurrency: int) -> list[Sample]:
    # No `with`: on Ctrl-C the queued tasks are cancelled instead of run to the end.
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="bench")
    try:
        futures = [pool.submit(task, i) for i in range(count)]
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def describe(exc: Exception) -> str:
    return type(exc).__name__


def run_direct(sandbox: Sandbox, count: int, concurrency: int, tag: str, pause: float = 0.0) -> list[Sample]:
    sessions = Sessions(lambda s: s.headers.update({KEY_HEADER: DEMO_KEY}))

    def one(i: int) -> Sample:
        body = {"email": f"bench-{tag}-direct-{i}@example.org", "role": "no_role", "team_role_bindings": None}
        sample = Sample()
        time.sleep(pause)
        started = time.perf_counter()
        try:
            response = sessions.get().post(sandbox.invite_url, json=body, timeout=DIRECT_TIMEOUT)
            sample.ms = (time.perf_counter() - started) * 1000
            status = response.json().get("status") if response.status_code == 200 else None
            sample.ok = status == "invite_created"
            if not sample.ok:
                sample.error = f"HTTP {response.status_code} {status or response.text[:80]}"
        except (requests.RequestException, ValueError) as exc:
            sample.ms = (time.perf_counter() - started) * 1000
            sample.error = describe(exc)
        return sample

    try:
        return run_concurrently(one, count, concurrency)
    finally:
        sessions.close()


def form_tokens(page: str) -> dict[str, str] | None:
    found = {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}
    return found if {"csrf_token", "submission_token"} <= found.keys() else None


def page_heading(page: str) -> str:
    match = _H1.search(page)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", match.group(1)))).strip() if match else "?"


def run_dashboard(dashboard: Dashboard, count: int, concurrency: int, tag: str, pause: float = 0.0,
                  tokens_of: Callable[[str], dict[str, str] | None] = form_tokens) -> list[Sample]:
    """Invites as a browser sends them. `tokens_of` reads the form's hidden fields (None: not the form);
    bench/cost.py passes its own for the floor app, whose form has none."""
    sessions = Sessions()  # cookies carry the CSRF session, as in a browser

    def one(i: int) -> Sample:
        sample = Sample()
        session = sessions.get()
        try:
            started = time.perf_counter()
            form = session.get(dashboard.url + "/", timeout=DASHBOARD_TIMEOUT)
            sample.form_ms = (time.perf_counter() - started) * 1000
            sample.form_server_ms = server_timing(form)
            tokens = tokens_of(form.text) if form.status_code == 200 else None
            if tokens is None:
                sample.error = f"form: HTTP {form.status_code}, no tokens"
                return sample
            data = {**tokens, "email": f"bench-{tag}-dashboard-{i}@example.org", "role": "no_role"}
            time.sleep(pause)
            started = time.perf_counter()
            page = session.post(dashboard.url + "/", data=data, timeout=DASHBOARD_TIMEOUT, allow_redirects=True)
            sample.ms = (time.perf_counter() - started) * 1000
        except requests.RequestException as exc:
            sample.error = describe(exc)
            return sample
        redirect = page.history[0] if page.history else None
        sample.server_ms = server_timing(redirect) if redirect is not None else server_timing(page)
        sample.result_server_ms = server_timing(page) if redirect is not None else math.nan
        if redirect is not None:
            sample.post_junction_ms = server_timing(redirect, _JUNCTION_TIMING)
        sample.ok = (redirect is not None and redirect.status_code == 303 and page.status_code == 200
                     and SENT_MARKER in page.text)
        if not sample.ok:
            first = redirect.status_code if redirect is not None else "no redirect"
            sample.error = f"POST {first} -> {page.status_code}: {page_heading(page.text)[:70]}"
        return sample

    try:
        return run_concurrently(one, count, concurrency)
    finally:
        sessions.close()


def run_page_views(dashboard: Dashboard, paths: list[str], page_ok: Callable[[str], bool], count: int,
                   concurrency: int) -> list[Sample]:
    """GET the paths in turn (first, second, ... again), each view timed on the client and by Server-Timing."""
    sessions = Sessions()

    def one(i: int) -> Sample:
        sample = Sample()
        started = time.perf_counter()
        try:
            response = sessions.get().get(dashboard.url + paths[i % len(paths)], timeout=DASHBOARD_TIMEOUT)
        except requests.RequestException as exc:
            sample.error = describe(exc)
            return sample
        sample.ms = (time.perf_counter() - started) * 1000
        sample.server_ms = server_timing(response)
        sample.ok = response.status_code == 200 and page_ok(response.text)
        if not sample.ok:
            sample.error = f"HTTP {response.status_code}: {page_heading(response.text)[:70]}"
        return sample

    try:
        return run_concurrently(one, count, concurrency)
    finally:
        sessions.close()


def run_form_renders(dashboard: Dashboard, count: int, concurrency: int) -> list[Sample]:
    return run_page_views(dashboard, ["/"], lambda page: form_tokens(page) is not None, count, concurrency)


def spread_renders(dashboard: Dashboard, concurrency: int) -> None:
    """`concurrency` simultaneous GET / on fresh connections, so that every gunicorn worker is likely hit
    (a kept-alive connection stays with the worker that accepted it)."""

    def one(_: int) -> Sample:
        with contextlib.suppress(requests.RequestException):
            requests.get(dashboard.url + "/", timeout=DASHBOARD_TIMEOUT, headers={"Connection": "close"})
        return Sample()

    run_concurrently(one, concurrency, concurrency)


# --------------------------------------------------------------------------------------------- team list


@dataclass
class TeamCalls:
    calls: int  # GET …/team requests the sandbox received
    starts: int  # of which first pages (no cursor): one per traversal begun
    org_calls: int  # GET /v1/org/{id}: the org name, cached with the same TTL

    def minus(self, other: TeamCalls) -> TeamCalls:
        return TeamCalls(self.calls - other.calls, self.starts - other.starts, self.org_calls - other.org_calls)


def team_calls(sandbox: Sandbox) -> TeamCalls:
    calls = starts = org_calls = 0
    for entry in sandbox.log():
        if entry["method"] != "GET":
            continue
        if entry["path"].endswith("/team"):
            calls += 1
            if not any(entry.get("query", {}).get("next_cursor", [])):
                starts += 1
        elif entry["path"] == f"/v1/org/{DEMO_ORG_ID}":
            org_calls += 1
    return TeamCalls(calls, starts, org_calls)


def warm_every_worker(dashboard: Dashboard, sandbox: Sandbox, workers: int, concurrency: int,
                      baseline: TeamCalls, rounds: int = 10) -> TeamCalls:
    """Render the form until every process has loaded the team list (one traversal each), or give up."""
    seen = team_calls(sandbox).minus(baseline)
    for _ in range(rounds):
        if seen.starts >= workers:
            break
        spread_renders(dashboard, concurrency)
        seen = team_calls(sandbox).minus(baseline)
    return seen


# --------------------------------------------------------------------------------------------- invitations page

INVITATION_PAGES = 3  # pages of pending invitations the sandbox holds for part 3
INVITATIONS_MARGIN_MS = 15.0  # what a view may add to its one upstream call (p50, server time)
_INVITATIONS_TABLE = '<table class="data invitations'
_NEXT_LINK = re.compile(r'<a href="([^"]+)" rel="next">')
_LIST_INVITES = re.compile(r"^/v1/org/[^/]+/invite$")


@dataclass
class InvitationsPart:
    lines: list[str]
    targets: list[tuple[str, bool, str]]
    figures: dict[str, Any]


def _cursor_of(url: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get("cursor")
    return values[0] if values else None


def run_invitation_views(dashboard: Dashboard, urls: list[str], count: int, concurrency: int) -> list[Sample]:
    """GET the invitations pages in turn (first, second, ... again), timed like the form renders."""
    return run_page_views(dashboard, urls, lambda page: _INVITATIONS_TABLE in page and 'role="alert"' not in page,
                          count, concurrency)


def invitations_part(stack: contextlib.ExitStack, run_dir: Path, args: argparse.Namespace,
                     step: Callable[[str], None]) -> InvitationsPart:
    """Part 3: views of /invitations, INVITATION_PAGES pages deep, against the sandbox's latency.

    Each view must cost exactly one List Invites call for the page it shows (the earlier cursors ride in
    the URL; team names and the org come from the cache), and its p50 server time must stay within
    INVITATIONS_MARGIN_MS of that call's own time as the dashboard's client logged it.
    """
    step(f"starting a sandbox for the invitations page (latency {args.latency_ms:g} ms, "
         f"page size {args.page_size})")
    sandbox = Sandbox(stack, run_dir, latency_ms=args.latency_ms, page_size=args.page_size, extra_teams=0,
                      label="invitations")
    pending = 12  # the sandbox's seed
    wanted = args.page_size * (INVITATION_PAGES - 1) + max(1, args.page_size // 2)
    extra = max(0, wanted - pending)
    step(f"adding {extra} pending invitations ({INVITATION_PAGES} pages)")
    added = run_direct(sandbox, extra, args.concurrency, secrets.token_hex(3) + "-inv")
    dashboard = Dashboard(stack, run_dir, sandbox, workers=args.workers, threads=args.threads, ttl_seconds=3600,
                          label="invitations", database_url=args.database_url)
    warm_every_worker(dashboard, sandbox, args.workers, args.concurrency, TeamCalls(0, 0, 0))

    # The page addresses, found as a person finds them: by following "Next page" (untimed).
    urls = ["/invitations"]
    with requests.Session() as session:
        while len(urls) <= INVITATION_PAGES:
            page = session.get(dashboard.url + urls[-1], timeout=DASHBOARD_TIMEOUT).text
            found = _NEXT_LINK.search(page)
            if not found:
                break
            urls.append(html.unescape(found.group(1)))
    # Every process renders each page before timing (templates compiled, connections to Junction open):
    # fresh connections, so that every gunicorn worker is likely hit.
    def warm(i: int) -> Sample:
        with contextlib.suppress(requests.RequestException):
            requests.get(dashboard.url + urls[i % len(urls)], timeout=DASHBOARD_TIMEOUT,
                         headers={"Connection": "close"})
        return Sample()

    run_concurrently(warm, 3 * args.concurrency * len(urls), args.concurrency)

    mark = len(sandbox.log())
    step(f"timing {args.renders} views of {len(urls)} invitations pages at concurrency 1, "
         f"then {args.concurrency}")
    views_1 = run_invitation_views(dashboard, urls, args.renders, 1)
    views_c = run_invitation_views(dashboard, urls, args.renders, args.concurrency)
    during = sandbox.log()[mark:]
    junction = dashboard.junction_calls()
    dashboard.child.stop()
    sandbox.child.stop()

    views = views_1 + views_c
    list_calls = [e for e in during if e["method"] == "GET" and _LIST_INVITES.match(e["path"])]
    other_calls = len(during) - len(list_calls)
    asked = Counter(_cursor_of(urls[i % len(urls)]) for _ in range(2) for i in range(args.renders))
    received = Counter((e.get("query", {}).get("next_cursor") or [None])[0] for e in list_calls)
    one_call_each = len(list_calls) == len(views) and received == asked and other_calls == 0
    upstream_ms = [float(c[3]) for c in junction if c[0] == "GET" and _LIST_INVITES.match(c[1]) and c[2] == 200]
    # The log ends with the timed views' calls, the concurrency-1 run's first: the budget is measured
    # against those (at concurrency C the sandbox's own queueing would widen it).
    timed = upstream_ms[-len(views):] if len(upstream_ms) >= len(views) else []
    upstream_1 = timed[:len(views_1)]
    upstream_p50 = percentile(upstream_1, 0.5)
    server_1 = summary(ok_values(views_1, "server_ms"))
    server_c = summary(ok_values(views_c, "server_ms"))
    errors = {**error_counts(views_1), **error_counts(views_c)}
    seeding_errors = error_counts(added)
    budget = upstream_p50 + INVITATIONS_MARGIN_MS

    lines = [
        f"3. Invitations page: {len(urls)} pages of up to {args.page_size} invitations "
        f"({pending + extra - sum(seeding_errors.values())} pending), sandbox latency {args.latency_ms:g} ms",
        header("GET /invitations[?cursor=...&back=...], ms"),
        line("server time, concurrency 1", views_1, "server_ms"),
        line(f"server time, concurrency {args.concurrency}", views_c, "server_ms"),
        line("client time, concurrency 1", views_1),
        line(f"client time, concurrency {args.concurrency}", views_c),
        row("  List Invites call, concurrency 1 (client log)", upstream_1),
        row(f"  List Invites call, concurrency {args.concurrency} (client log)", timed[len(views_1):]),
        f"   Junction calls during the {len(views)} timed views: {len(list_calls)} List Invites "
        f"({sum(1 for e in list_calls if not (e.get('query', {}).get('next_cursor')))} first pages), "
        f"{other_calls} other",
    ]
    if errors:
        lines.append("   view errors: " + "; ".join(f"{n} x {kind}" for kind, n in errors.items()))
    if seeding_errors:
        lines.append("   seeding errors: " + "; ".join(f"{n} x {kind}" for kind, n in seeding_errors.items()))
    targets = [
        ("invitations view: one List Invites call per page shown", one_call_each,
         f"{len(list_calls)} calls for {len(views)} views, cursors {'as asked' if received == asked else 'DIFFER'}, "
         f"{other_calls} other calls"),
        (f"invitations p50 server time <= List Invites p50 + {INVITATIONS_MARGIN_MS:g} ms, concurrency 1",
         server_1["p50"] <= budget, f"{server_1['p50']:.1f} <= {upstream_p50:.0f} + {INVITATIONS_MARGIN_MS:g} ms"),
        ("every invitations view succeeded", not errors and not seeding_errors,
         f"{sum(errors.values())} + {sum(seeding_errors.values())} errors"),
    ]
    figures = {
        "pages": len(urls), "page_size": args.page_size, "pending": pending + extra,
        "server_c1": server_1, "server_cN": server_c,
        "client_c1": summary(ok_values(views_1)), "client_cN": summary(ok_values(views_c)),
        "list_invites_call_c1": summary(upstream_1), "list_invites_call_cN": summary(timed[len(views_1):]),
        "junction_calls_during_views": {"list_invites": len(list_calls), "other": other_calls},
        "errors": errors, "seeding_errors": seeding_errors,
    }
    return InvitationsPart(lines, targets, figures)


# --------------------------------------------------------------------------------------------- report


def ms(value: float) -> str:
    return "    -" if math.isnan(value) else f"{value:7.1f}"


LABEL = 50  # width of the label column in the report


def row(label: str, values: list[float], errors: int | str = "") -> str:
    stats = summary(values)
    return (f"   {label:<{LABEL}}{stats['n']:>5}{errors:>7} {ms(stats['p50'])} {ms(stats['p95'])} "
            f"{ms(stats['mean'])} {ms(stats['max'])}")


def line(label: str, samples: list[Sample], attr: str = "ms") -> str:
    return row(label, ok_values(samples, attr), sum(not s.ok for s in samples))


def header(title: str) -> str:
    return f"   {title:<{LABEL}}{'ok':>5}{'errors':>7} {'p50':>7} {'p95':>7} {'mean':>7} {'max':>7}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The sandbox's latency and how the dashboard runs: the same flags here and in bench/cost.py."""
    parser.add_argument("--latency-ms", type=float, default=50, help="latency the sandbox adds to every /v1 call")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes (WEB_CONCURRENCY)")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn process (WEB_THREADS)")
    parser.add_argument("--database-url", help="the dashboard's DATABASE_URL (default: SQLite in the run's folder)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_server_arguments(parser)
    parser.add_argument("--invites", type=int, default=300, help="invites sent in each of the two runs")
    parser.add_argument("--pause-ms", type=float, default=0,
                        help="idle time before each timed invite (with --latency-ms 0: how much a cold CPU costs)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads sending at once")
    parser.add_argument("--teams", type=int, default=2000, help="teams in the org for the invite-form part")
    parser.add_argument("--page-size", type=int, default=100, help="items per page of the sandbox's lists")
    parser.add_argument("--renders", type=int, default=200, help="form renders timed at each concurrency")
    parser.add_argument("--ttl", type=float, default=5, help="short TEAMS_CACHE_TTL_SECONDS for the expiry check")
    parser.add_argument("--quick", action="store_true", help="smoke run: 40 invites and 40 renders")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.invites, args.renders = min(args.invites, 40), min(args.renders, 40)

    # SIGTERM (a CI runner giving up) unwinds like Ctrl-C, so the finally below stops the children.
    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    # Started in the background by a non-interactive shell, SIGINT arrives ignored: take Ctrl-C back.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    started_at = datetime.now(UTC)
    run_dir = ROOT / "bench" / "results" / started_at.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    tag = secrets.token_hex(3)
    machine = machine_info()
    total_threads = args.workers * args.threads

    def step(text: str) -> None:  # progress goes to stderr; the report alone goes to stdout
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    # The database's kind only: a URL may hold a password.
    database = (args.database_url or "sqlite").split(":", 1)[0]
    parameters = {k: v for k, v in vars(args).items() if k not in ("json", "database_url")}
    figures: dict[str, Any] = {"started_at": started_at.isoformat(timespec="seconds"), "machine": machine,
                               "parameters": {**parameters, "database": database}}
    stack = contextlib.ExitStack()
    try:
        # ---- part 1: sending invites -------------------------------------------------------------
        step(f"starting the sandbox (latency {args.latency_ms:g} ms, page size {args.page_size})")
        sandbox = Sandbox(stack, run_dir, latency_ms=args.latency_ms, page_size=args.page_size, extra_teams=0,
                          label="invites")
        probe = sandbox.keepalive_probe()
        if not probe.startswith("ok"):
            step(f"WARNING sandbox keep-alive probe: {probe}")
        sandbox.reset()
        step(f"direct run: {args.invites} invites at concurrency {args.concurrency}")
        cpu0 = (cpu_seconds(sandbox.child.proc.pid), time.process_time())
        t0 = time.perf_counter()
        direct = run_direct(sandbox, args.invites, args.concurrency, tag, args.pause_ms / 1000)
        direct_wall = time.perf_counter() - t0
        cpu_direct = {"sandbox": cpu_seconds(sandbox.child.proc.pid) - cpu0[0],
                      "client": time.process_time() - cpu0[1]}

        sandbox.reset()  # the same org state for both runs (the invite list grows with every invite)
        step(f"starting the dashboard: gunicorn, {args.workers} workers x {args.threads} threads")
        before = sandbox.stats()
        dashboard = Dashboard(stack, run_dir, sandbox, workers=args.workers, threads=args.threads,
                              ttl_seconds=60, label="invites", database_url=args.database_url)
        step(f"dashboard run: {args.invites} invites at concurrency {args.concurrency}")
        cpu0 = (cpu_seconds(dashboard.child.proc.pid), cpu_seconds(sandbox.child.proc.pid), time.process_time())
        t0 = time.perf_counter()
        through = run_dashboard(dashboard, args.invites, args.concurrency, tag, args.pause_ms / 1000)
        dashboard_wall = time.perf_counter() - t0
        cpu_through = {"dashboard": cpu_seconds(dashboard.child.proc.pid) - cpu0[0],
                       "sandbox": cpu_seconds(sandbox.child.proc.pid) - cpu0[1],
                       "client": time.process_time() - cpu0[2]}
        after = sandbox.stats()
        connections = after["connections_accepted"] - before["connections_accepted"]
        upstream_requests = after["requests"] - before["requests"]
        dashboard.child.stop()
        sandbox.child.stop()

        # ---- part 2: the invite form with a large org -------------------------------------------
        extra = max(0, args.teams - SEED_TEAMS)
        step(f"starting a sandbox with {SEED_TEAMS + extra} teams (page size {args.page_size})")
        big = Sandbox(stack, run_dir, latency_ms=args.latency_ms, page_size=args.page_size, extra_teams=extra,
                      label="teams")
        info = big.info()
        pages = math.ceil(info["teams"] / info["page_size"])
        step("starting the dashboard with a long TTL (nothing expires while renders are timed)")
        base = team_calls(big)
        long_ttl = Dashboard(stack, run_dir, big, workers=args.workers, threads=args.threads, ttl_seconds=3600,
                             label="teams-long-ttl", database_url=args.database_url)
        warm = warm_every_worker(long_ttl, big, args.workers, args.concurrency, base)
        mark = team_calls(big)
        step(f"timing {args.renders} cached renders at concurrency 1, then {args.concurrency}")
        renders_1 = run_form_renders(long_ttl, args.renders, 1)
        renders_c = run_form_renders(long_ttl, args.renders, args.concurrency)
        during = team_calls(big).minus(mark)
        long_ttl.child.stop()

        step(f"starting the dashboard with TEAMS_CACHE_TTL_SECONDS={args.ttl:g}")
        base = team_calls(big)
        short_ttl = Dashboard(stack, run_dir, big, workers=args.workers, threads=args.threads,
                              ttl_seconds=args.ttl, label="teams-short-ttl", database_url=args.database_url)
        warm_short = warm_every_worker(short_ttl, big, args.workers, args.concurrency, base)
        mark = team_calls(big)
        wait = args.ttl + 1
        step(f"waiting {wait:g} s for the team list to expire, then rendering the form again")
        time.sleep(wait)
        expiry_rounds = 3
        for _ in range(expiry_rounds):
            spread_renders(short_ttl, args.concurrency)
        expired = team_calls(big).minus(mark)
        short_ttl.child.stop()
        big.child.stop()

        # ---- part 3: the invitations page -------------------------------------------------------
        invitations = invitations_part(stack, run_dir, args, step)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the sandbox and the dashboard", file=sys.stderr)
        return 130
    except RuntimeError as exc:  # a server did not start: nothing was measured
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.close()

    # ---- figures and report ----------------------------------------------------------------------
    d_p50 = percentile(ok_values(direct), 0.5)
    t_p50 = percentile(ok_values(through), 0.5)
    ratio50 = t_p50 / d_p50 if d_p50 else math.nan
    ratio95 = percentile(ok_values(through), 0.95) / percentile(ok_values(direct), 0.95)
    form_1 = summary(ok_values(renders_1, "server_ms"))
    form_c = summary(ok_values(renders_c, "server_ms"))

    def traversals(calls: TeamCalls) -> float:
        return calls.calls / pages

    team_ok = (warm.starts <= args.workers and during.calls == 0 and expired.starts <= args.workers
               and warm.calls == warm.starts * pages and expired.calls == expired.starts * pages)
    errors_direct, errors_through = error_counts(direct), error_counts(through)
    render_errors = {**error_counts(renders_1), **error_counts(renders_c)}
    targets = [
        ("p50 through the dashboard <= 1.10 x p50 direct", ratio50 <= RATIO_TARGET,
         f"{t_p50:.1f} vs {d_p50:.1f} ms = {ratio50:.2f} x"),
        ("sandbox connections from the dashboard <= its threads", connections <= total_threads,
         f"{connections} <= {args.workers} x {args.threads} = {total_threads}"),
        (f"form p50 server time <= {FORM_P50_TARGET_MS:g} ms, cached, concurrency 1",
         form_1["p50"] <= FORM_P50_TARGET_MS, f"{form_1['p50']:.1f} ms"),
        (f"form p50 server time <= {FORM_P50_TARGET_MS:g} ms, cached, concurrency {args.concurrency}",
         form_c["p50"] <= FORM_P50_TARGET_MS, f"{form_c['p50']:.1f} ms"),
        ("team list: <= 1 traversal per TTL per process", team_ok,
         f"{traversals(warm):g} + {traversals(during):g} + {traversals(expired):g} for {args.workers} processes"),
        ("every invite and render succeeded", not (errors_direct or errors_through or render_errors),
         f"{sum(errors_direct.values())} + {sum(errors_through.values())} + {sum(render_errors.values())} errors"),
    ]

    targets += invitations.targets

    out: list[str] = []
    w = out.append
    w(f"Invite dashboard benchmark, {started_at:%Y-%m-%d %H:%M} UTC, commit {machine['commit']}")
    w(f"Machine     {machine['cpu']}, {machine['cores']} cores ({machine['usable_cores']} usable), "
      f"{machine['ram_gib']:g} GiB RAM, Python {machine['python']}, {machine['os']}")
    w(f"Parameters  sandbox latency {args.latency_ms:g} ms, {args.invites} invites per run at concurrency "
      f"{args.concurrency}, gunicorn gthread {args.workers} workers x {args.threads} threads, "
      f"sandbox page size {args.page_size}, {database} database"
      + (f", {args.pause_ms:g} ms idle before each timed invite" if args.pause_ms else ""))
    w("            client, sandbox and dashboard all share this machine's cores")
    w(f"Sandbox keep-alive probe: {probe}")
    w("")
    w("1. Sending an invite: client wall time per invite, ms")
    w(header(""))
    w(line("direct: POST /v1/org/{org}/invite", direct))
    w(line("dashboard: POST / + 303 -> GET /sent/<token>", through))
    w(f"   {'ratio dashboard / direct':<{LABEL + 12}} {ratio50:7.2f} {ratio95:7.2f}")
    w(f"   wall time: direct {direct_wall:.1f} s ({args.invites / direct_wall:.0f}/s), "
      f"dashboard {dashboard_wall:.1f} s ({args.invites / dashboard_wall:.0f}/s, form GETs included)")
    w("   where the dashboard's time goes, p50 ms (server parts from Server-Timing):")
    w(line("  POST / on the server", through, "server_ms"))
    w(line("    of which Junction POST", through, "post_junction_ms"))
    w(line("    of which the dashboard's own work", through, "post_own_ms"))
    w(line("  GET /sent/<token> on the server", through, "result_server_ms"))
    w(line("  untimed form GET / (client)", through, "form_ms"))
    w(line("  untimed form GET / (server)", through, "form_server_ms"))
    cores = machine["usable_cores"] or 1

    def cpu_line(name: str, cpu: dict[str, float], wall: float) -> str:
        parts = ", ".join(f"{k} {v * 1000 / args.invites:.1f}" for k, v in cpu.items())
        busy = sum(cpu.values()) / (wall * cores)
        return f"   CPU ms per invite, {name:<10} {parts}  (all {cores} cores {busy:.0%} busy)"

    w(cpu_line("direct:", cpu_direct, direct_wall))
    w(cpu_line("dashboard:", cpu_through, dashboard_wall))
    w(f"   sandbox: {connections} TCP connections accepted from the dashboard for {upstream_requests} "
      f"requests (limit: {total_threads} threads)")
    w("   (form GETs call Junction only when a process's cached team list or org has expired)")
    for name, errors in (("direct", errors_direct), ("dashboard", errors_through)):
        if errors:
            w(f"   {name} errors: " + "; ".join(f"{n} x {kind}" for kind, n in errors.items()))
    w("")
    w(f"2. Invite form with {info['teams']} teams (sandbox page size {info['page_size']}: {pages} pages per "
      "traversal of the team list)")
    w(header("GET / once cached, ms"))
    w(line("server time, concurrency 1", renders_1, "server_ms"))
    w(line(f"server time, concurrency {args.concurrency}", renders_c, "server_ms"))
    w(line("client time, concurrency 1", renders_1))
    w(line(f"client time, concurrency {args.concurrency}", renders_c))
    w("   team list traversals (GET .../team calls / pages; 'begun' counts first pages):")
    for label, calls, note in (
        (f"long TTL: warming {args.workers} processes", warm, f"one per process: {args.workers}"),
        (f"long TTL: during the {len(renders_1) + len(renders_c)} cached renders", during, "expected 0"),
        (f"TTL {args.ttl:g} s: warming {args.workers} processes", warm_short, f"one per process: {args.workers}"),
        (f"TTL {args.ttl:g} s: {wait:g} s idle, then {expiry_rounds * args.concurrency} renders", expired,
         f"at most one per process: {args.workers}"),
    ):
        w(f"     {label:<{LABEL - 2}}{traversals(calls):>5g}   ({calls.calls} calls, {calls.starts} begun, "
          f"org fetched {calls.org_calls}x; {note})")
    if render_errors:
        w("   render errors: " + "; ".join(f"{n} x {kind}" for kind, n in render_errors.items()))
    w("")
    out.extend(invitations.lines)
    w("")
    w("Targets")
    for label, ok, detail in targets:
        w(f"   {verdict(ok)}  {label:<{LABEL + 10}} {detail}")
    w("")
    w(f"Logs: {run_dir.relative_to(ROOT)}/")
    print("\n".join(out))

    figures.update({
        "sandbox_keepalive_probe": probe,
        "invites": {
            "direct": {**summary(ok_values(direct)), "errors": errors_direct, "wall_s": direct_wall},
            "dashboard": {**summary(ok_values(through)), "errors": errors_through, "wall_s": dashboard_wall,
                          "post_server": summary(ok_values(through, "server_ms")),
                          "result_server": summary(ok_values(through, "result_server_ms")),
                          "form_client": summary(ok_values(through, "form_ms")),
                          "form_server": summary(ok_values(through, "form_server_ms")),
                          "junction_post_in_dashboard": summary(ok_values(through, "post_junction_ms")),
                          "post_own_work": summary(ok_values(through, "post_own_ms"))},
            "cpu_seconds": {"direct": cpu_direct, "dashboard": cpu_through},
            "ratio_p50": ratio50,
            "ratio_p95": ratio95,
            "sandbox_connections_from_dashboard": connections,
            "sandbox_requests_from_dashboard": upstream_requests,
            "dashboard_threads": total_threads,
        },
        "form": {
            "teams": info["teams"], "page_size": info["page_size"], "pages_per_traversal": pages,
            "server_c1": form_1, "server_cN": form_c,
            "client_c1": summary(ok_values(renders_1)), "client_cN": summary(ok_values(renders_c)),
            "errors": render_errors,
            "team_calls": {"warm": asdict(warm), "during_renders": asdict(during),
                           "short_ttl_warm": asdict(warm_short), "after_ttl": asdict(expired)},
            "traversals": {"warm": traversals(warm), "during_renders": traversals(during),
                           "short_ttl_warm": traversals(warm_short), "after_ttl": traversals(expired)},
        },
        "invitations": invitations.figures,
        "targets": [{"target": label, "pass": ok, "detail": detail} for label, ok, detail in targets],
        "logs": str(run_dir),
    })
    if args.json:
        Path(args.json).write_text(json.dumps(_no_nan(figures), indent=2) + "\n")
        print(f"Figures written to {args.json}")
    return 0


def _no_nan(value: Any) -> Any:
    """NaN (a figure with no samples) as null: json.dumps would write NaN, which is not JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
