"""What every benchmark here stands on: the sandbox and the dashboard as subprocesses (as the Procfile and
`python -m invite.sandbox` start them), the machine's description, load at a concurrency, and the figures.

bench/run.py, cost.py, phases.py, soak.py, workers_profile.py and the bulk benchmarks import from here.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python bench/X.py` puts bench/ on the path, not the repository root

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


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The sandbox's latency and how the dashboard runs: the same flags here and in bench/cost.py."""
    parser.add_argument("--latency-ms", type=float, default=50, help="latency the sandbox adds to every /v1 call")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes (WEB_CONCURRENCY)")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn process (WEB_THREADS)")
    parser.add_argument("--database-url", help="the dashboard's DATABASE_URL (default: SQLite in the run's folder)")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"
