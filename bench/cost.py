"""The invite path's own cost, against a floor: a bare Flask + gunicorn + requests app, in the same run.

    .venv/bin/python bench/cost.py               # 300 invites at concurrency 8, 100 at concurrency 1, 3 rounds
    .venv/bin/python bench/cost.py --quick       # one round of 60 and 30

One sandbox (50 ms latency by default), the dashboard exactly as the Procfile runs it, and bench/floor_app.py
under gunicorn with gunicorn.conf.py's worker class, workers and threads. Each round sends the same number of
invites straight to the sandbox, then through the dashboard and through the floor, which take turns in
slices (--slices, 5 by default) so that both meet the machine's moments alike, and measures:

- CPU time per invite (form GET + POST + result page): utime + stime of the gunicorn master and its workers,
  from /proc, before and after the run, divided by the invites. The least load-sensitive figure on a shared
  machine: time spent waiting for a core is not counted.
- p50 of POST + 303 + result page, client wall time, as a ratio to the direct call's p50 of the same round.
- at concurrency 1, the milliseconds the dashboard's p50 adds over the floor's.

See bench/README.md ("The invite path's cost against a floor"). A measurement: it exits 0 either way.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import secrets
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from harness import (
    DASHBOARD_TIMEOUT,
    ROOT,
    SENT_MARKER,
    Child,
    Dashboard,
    Sample,
    Sandbox,
    add_server_arguments,
    child_env,
    cpu_seconds,
    error_counts,
    form_tokens,
    free_port,
    machine_info,
    ok_values,
    percentile,
    run_dashboard,
    run_direct,
    run_page_views,
    verdict,
)

from invite.sandbox.state import DEMO_KEY, DEMO_ORG_ID

CPU_TARGET = 2.0  # dashboard CPU per invite <= this x the floor's
RATIO_MARGIN = 0.15  # dashboard p50 ratio <= the floor's + this


def _gunicorn_conf(name: str) -> str:
    """A literal setting of gunicorn.conf.py (read, not imported: importing it makes a metrics directory)."""
    found = re.search(rf'^{name} = "([^"]+)"', (ROOT / "gunicorn.conf.py").read_text(), re.M)
    if not found:
        raise RuntimeError(f"gunicorn.conf.py sets no {name}")
    return found.group(1)


class Floor:
    """bench/floor_app.py under gunicorn, as the dashboard runs (worker class, workers, threads, keep-alive)."""

    def __init__(self, stack: contextlib.ExitStack, run_dir: Path, sandbox: Sandbox, *, workers: int, threads: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = child_env(FLOOR_JUNCTION_URL=sandbox.url, FLOOR_ORG_ID=DEMO_ORG_ID, FLOOR_KEY=DEMO_KEY,
                        WEB_THREADS=str(threads))
        gunicorn = Path(sys.executable).with_name("gunicorn")
        command = [str(gunicorn)] if gunicorn.exists() else [sys.executable, "-m", "gunicorn"]
        argv = [*command, "bench.floor_app:app", "--bind", f"127.0.0.1:{self.port}",
                "--worker-class", _gunicorn_conf("worker_class"), "--workers", str(workers),
                "--threads", str(threads), "--keep-alive", "5", "--no-control-socket",
                "--config", "/dev/null"]  # not gunicorn.conf.py, which gunicorn would read from the cwd
        self.child = Child("floor", argv, env, run_dir / "floor.log")
        stack.callback(self.child.stop)
        self.child.wait_ready(self.url + "/")


def floor_tokens(page: str) -> dict[str, str] | None:
    """The floor's form has no hidden fields: an empty set when it is the form, None when it is not."""
    return {} if 'name="email"' in page else None


def timed_run(server: Dashboard | Floor, count: int, concurrency: int, tag: str) -> tuple[list[Sample], float]:
    """Invites through `server`, and the CPU seconds its gunicorn master and workers spent on them."""
    tokens_of = floor_tokens if isinstance(server, Floor) else form_tokens
    before = cpu_seconds(server.child.proc.pid)
    samples = run_dashboard(server, count, concurrency, tag, tokens_of=tokens_of)
    return samples, cpu_seconds(server.child.proc.pid) - before


def result_path(server: Dashboard | Floor) -> str:
    """The address of the result page of one invite sent through `server` (untimed)."""
    with requests.Session() as session:
        form = session.get(server.url + "/", timeout=DASHBOARD_TIMEOUT)
        tokens = (floor_tokens if isinstance(server, Floor) else form_tokens)(form.text) or {}
        data = {**tokens, "email": f"cost-{secrets.token_hex(4)}@example.org", "role": "no_role"}
        posted = session.post(server.url + "/", data=data, allow_redirects=False, timeout=DASHBOARD_TIMEOUT)
    location = urlsplit(posted.headers.get("Location", ""))
    return location.path + (f"?{location.query}" if location.query else "")


def cpu_per_request(server: Dashboard | Floor, count: int, concurrency: int) -> dict[str, float]:
    """CPU ms per request of the GETs alone: the form, the result page and (the dashboard) /healthz, which
    renders nothing, so it is the fixed cost every request pays. The POST is the invite's rest."""
    paths = {"form GET": ("/", lambda page: 'name="email"' in page),
             "result GET": (result_path(server), lambda page: SENT_MARKER in page)}
    if isinstance(server, Dashboard):
        paths["/healthz"] = ("/healthz", lambda page: '"ok"' in page)
    spent = {}
    for label, (path, page_ok) in paths.items():
        before = cpu_seconds(server.child.proc.pid)
        samples = run_page_views(server, [path], page_ok, count, concurrency)
        if not all(sample.ok for sample in samples):
            raise RuntimeError(f"GET {path}: {error_counts(samples)}")
        spent[label] = (cpu_seconds(server.child.proc.pid) - before) * 1000 / count
    return spent


def slice_sizes(count: int, slices: int) -> list[int]:
    """`count` split into `slices` nearly equal parts (none empty)."""
    slices = max(1, min(slices, count))
    return [count // slices + (1 if k < count % slices else 0) for k in range(slices)]


def p50(samples: list[Sample], attr: str = "ms") -> float:
    return percentile(ok_values(samples, attr), 0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_server_arguments(parser)
    parser.add_argument("--invites", type=int, default=300, help="invites per run at --concurrency")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads sending at once")
    parser.add_argument("--invites-c1", type=int, default=100, help="invites per run at concurrency 1")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of direct, dashboard, floor runs")
    parser.add_argument("--slices", type=int, default=5,
                        help="within a round, the dashboard and the floor take turns this many times")
    parser.add_argument("--quick", action="store_true", help="one round of 60 invites, 30 at concurrency 1")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.invites, args.invites_c1, args.rounds = min(args.invites, 60), min(args.invites_c1, 30), 1

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, signal.default_int_handler)

    started_at = datetime.now(UTC)
    run_dir = ROOT / "bench" / "results" / ("cost-" + started_at.strftime("%Y%m%d-%H%M%S"))
    run_dir.mkdir(parents=True, exist_ok=True)
    tag = secrets.token_hex(3)
    machine = machine_info()

    def step(text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    rounds: list[dict[str, Any]] = []
    errors: dict[str, int] = {}
    stack = contextlib.ExitStack()
    try:
        step(f"starting the sandbox ({args.latency_ms:g} ms), the dashboard and the floor "
             f"({args.workers} workers x {args.threads} threads each)")
        sandbox = Sandbox(stack, run_dir, latency_ms=args.latency_ms, page_size=100, extra_teams=0, label="cost")
        dashboard = Dashboard(stack, run_dir, sandbox, workers=args.workers, threads=args.threads,
                              ttl_seconds=3600, label="cost", database_url=args.database_url)
        floor = Floor(stack, run_dir, sandbox, workers=args.workers, threads=args.threads)
        step("warming both (templates, connections, caches)")
        for server in (dashboard, floor):
            timed_run(server, 4 * args.concurrency, args.concurrency, f"{tag}-warm")

        for n in range(args.rounds):
            figures: dict[str, Any] = {}
            for concurrency, count in ((args.concurrency, args.invites), (1, args.invites_c1)):
                sandbox.reset()  # the same org state for every run (the invite list grows with every invite)
                step(f"round {n + 1}: {count} invites at concurrency {concurrency}: direct, dashboard, floor")
                runs: dict[str, list[Sample]] = {"direct": run_direct(sandbox, count, concurrency,
                                                                       f"{tag}-{n}-{concurrency}")}
                cpu = {"dashboard": 0.0, "floor": 0.0}
                # The two apps take turns, a slice each (which goes first alternates), so that a change in the
                # machine's speed during the round touches both alike and their ratio stays put.
                servers = [("dashboard", dashboard), ("floor", floor)]
                for k, size in enumerate(slice_sizes(count, args.slices)):
                    for name, server in servers if k % 2 == 0 else servers[::-1]:
                        sandbox.reset()
                        samples, seconds = timed_run(server, size, concurrency, f"{tag}-{n}-{concurrency}-{name}-{k}")
                        runs.setdefault(name, []).extend(samples)
                        cpu[name] += seconds
                for name, samples in runs.items():
                    for kind, times in error_counts(samples).items():
                        errors[f"{name}: {kind}"] = errors.get(f"{name}: {kind}", 0) + times
                direct = p50(runs["direct"])
                figures[f"c{concurrency}"] = {
                    "invites": count,
                    "p50_ms": {name: p50(samples) for name, samples in runs.items()},
                    "ratio": {name: p50(runs[name]) / direct for name in ("dashboard", "floor")},
                    "cpu_ms_per_invite": {name: seconds * 1000 / count for name, seconds in cpu.items()},
                    "dashboard_server_p50_ms": {
                        "form_get": p50(runs["dashboard"], "form_server_ms"),
                        "post": p50(runs["dashboard"], "server_ms"),
                        "post_junction": p50(runs["dashboard"], "post_junction_ms"),
                        "post_own": p50(runs["dashboard"], "post_own_ms"),
                        "result_get": p50(runs["dashboard"], "result_server_ms"),
                    },
                }
            rounds.append(figures)
        step(f"CPU per request of the GETs alone: {args.invites} each at concurrency {args.concurrency}")
        per_request = {name: cpu_per_request(server, args.invites, args.concurrency)
                       for name, server in (("dashboard", dashboard), ("floor", floor))}
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the sandbox, the dashboard and the floor", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.close()

    c = f"c{args.concurrency}"

    def median(values: list[float]) -> float:
        return percentile(values, 0.5)

    cpu_dash = median([r[c]["cpu_ms_per_invite"]["dashboard"] for r in rounds])
    cpu_floor = median([r[c]["cpu_ms_per_invite"]["floor"] for r in rounds])
    # Each round's two runs shared the machine's load of the moment: their ratio is steadier than either figure.
    cpu_times = median([r[c]["cpu_ms_per_invite"]["dashboard"] / r[c]["cpu_ms_per_invite"]["floor"] for r in rounds])
    ratio_dash = median([r[c]["ratio"]["dashboard"] for r in rounds])
    ratio_floor = median([r[c]["ratio"]["floor"] for r in rounds])
    added_c1 = median([r["c1"]["p50_ms"]["dashboard"] - r["c1"]["p50_ms"]["floor"] for r in rounds])
    targets = [
        (f"dashboard CPU per invite <= {CPU_TARGET:g} x the floor's", cpu_times <= CPU_TARGET,
         f"{cpu_times:.2f} x (median of rounds; medians {cpu_dash:.2f} vs {cpu_floor:.2f} ms)"),
        (f"dashboard p50 ratio within {RATIO_MARGIN:g} of the floor's", ratio_dash <= ratio_floor + RATIO_MARGIN,
         f"{ratio_dash:.2f} vs {ratio_floor:.2f} (+{ratio_dash - ratio_floor:.2f})"),
        ("every invite succeeded", not errors, f"{sum(errors.values())} errors"),
    ]

    out: list[str] = []
    w = out.append
    w(f"Invite path cost against a bare Flask floor, {started_at:%Y-%m-%d %H:%M} UTC, commit {machine['commit']}")
    w(f"Machine     {machine['cpu']}, {machine['cores']} cores ({machine['usable_cores']} usable), "
      f"Python {machine['python']}; client, sandbox, dashboard and floor share these cores")
    w(f"Parameters  sandbox latency {args.latency_ms:g} ms, gunicorn {_gunicorn_conf('worker_class')} "
      f"{args.workers} workers x {args.threads} threads, {(args.database_url or 'sqlite').split(':', 1)[0]}")
    w("")
    w(f"{'round':<7}{'conc':>5}{'invites':>8}  {'p50 direct':>10} {'dashboard':>10} {'floor':>8}  "
      f"{'ratio dash':>10} {'floor':>6}  {'CPU ms/invite dash':>18} {'floor':>6} {'x':>5}")
    for n, r in enumerate(rounds, 1):
        for key in (c, "c1"):
            f = r[key]
            w(f"{n:<7}{key[1:]:>5}{f['invites']:>8}  {f['p50_ms']['direct']:>10.1f} {f['p50_ms']['dashboard']:>10.1f} "
              f"{f['p50_ms']['floor']:>8.1f}  {f['ratio']['dashboard']:>10.2f} {f['ratio']['floor']:>6.2f}  "
              f"{f['cpu_ms_per_invite']['dashboard']:>18.2f} {f['cpu_ms_per_invite']['floor']:>6.2f} "
              f"{f['cpu_ms_per_invite']['dashboard'] / f['cpu_ms_per_invite']['floor']:>5.2f}")
    w("")
    w("Dashboard server time, p50 ms (Server-Timing), per round at concurrency "
      f"{args.concurrency} / 1: form GET, POST (Junction, own), result GET")
    for n, r in enumerate(rounds, 1):
        parts = []
        for key in (c, "c1"):
            s = r[key]["dashboard_server_p50_ms"]
            parts.append(f"{s['form_get']:.1f}, {s['post']:.1f} ({s['post_junction']:.1f}, {s['post_own']:.1f}), "
                         f"{s['result_get']:.1f}")
        w(f"   round {n}: " + "  /  ".join(parts))
    invite_cpu = {name: median([r[c]["cpu_ms_per_invite"][name] for r in rounds]) for name in ("dashboard", "floor")}
    w(f"CPU ms per request at concurrency {args.concurrency} (GETs alone; POST = the invite's median less both pages)")
    for name, spent in per_request.items():
        post = invite_cpu[name] - spent["form GET"] - spent["result GET"]
        w(f"   {name:<10} " + ", ".join(f"{label} {ms:.2f}" for label, ms in spent.items()) + f", POST {post:.2f}")
    w(f"At concurrency 1 the dashboard adds {added_c1:.1f} ms over the floor (p50, median of rounds)")
    if errors:
        w("Errors: " + "; ".join(f"{times} x {kind}" for kind, times in errors.items()))
    w("")
    w("Targets (medians over rounds; the CPU one of each round's dashboard / floor ratio)")
    for label, ok, detail in targets:
        w(f"   {verdict(ok)}  {label:<50} {detail}")
    w(f"Logs: {run_dir.relative_to(ROOT)}/")
    print("\n".join(out))
    if args.json:
        figures_out = {"started_at": started_at.isoformat(timespec="seconds"), "machine": machine,
                       "parameters": {k: v for k, v in vars(args).items() if k not in ("json", "database_url")},
                       "rounds": rounds, "cpu_ms_per_request": per_request, "added_ms_c1": added_c1, "errors": errors,
                       "targets": [{"target": label, "pass": ok, "detail": detail} for label, ok, detail in targets]}
        Path(args.json).write_text(json.dumps(figures_out, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
