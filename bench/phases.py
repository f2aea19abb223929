"""Per-phase CPU of one invite, in process: the dashboard's form GET, POST and result GET beside the floor's.

    .venv/bin/python bench/phases.py                 # 500 invites each, against a sandbox with no latency
    .venv/bin/python bench/phases.py --profile 30    # also cProfile the dashboard's loop, top 30 by own time

Both apps are driven through Flask's test client (no gunicorn, no sockets to the app), one thread, taking
turns invite by invite, so each phase's figure is this thread's CPU time (time.thread_time) and a change
in the machine's speed during the run moves both apps alike: the "x floor" line is the steady figure.
The Junction call is real: requests to a sandbox subprocess (bench/harness.py's Sandbox), latency 0. The
dashboard is built by create_app as gunicorn's app.py builds it (not in testing mode: JSON logs on, written
to a file in the run's folder), on SQLite migrated like the release command does. Use it to see where an
invite's CPU goes and to check a cut before running bench/cost.py.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import importlib
import io
import os
import pstats
import secrets
import sys
import time
from datetime import UTC, datetime

from harness import ROOT, SENT_MARKER, Sandbox, child_env, form_tokens

from invite.sandbox.state import DEMO_KEY, DEMO_ORG_ID

PHASES = ("form GET", "POST", "result GET")


def build_dashboard(sandbox: Sandbox, run_dir, log):
    from flask_migrate import upgrade

    from invite import create_app

    env = child_env(INVITE_SANDBOX="1", JUNCTION_API_BASE_URL=sandbox.url, SECRET_KEY=secrets.token_hex(32),
                    DATABASE_URL=f"sqlite:///{run_dir / 'phases.db'}")
    with contextlib.redirect_stdout(log):  # configure_logging writes to the stdout it finds
        app = create_app(env)
    with app.app_context():
        upgrade(directory=str(ROOT / "invite" / "migrations"))
    return app


def build_floor(sandbox: Sandbox):
    os.environ.update(FLOOR_JUNCTION_URL=sandbox.url, FLOOR_ORG_ID=DEMO_ORG_ID, FLOOR_KEY=DEMO_KEY)
    return importlib.import_module("floor_app").app


def invite_once(client, i: int, tag: str, tokens_of) -> list[float]:
    """The three phases of one invite; their CPU seconds in this thread."""
    spent = []
    t = time.thread_time()
    form = client.get("/")
    spent.append(time.thread_time() - t)
    tokens = tokens_of(form.get_data(as_text=True))
    if form.status_code != 200 or tokens is None:
        raise RuntimeError(f"form: HTTP {form.status_code}")
    t = time.thread_time()
    posted = client.post("/", data={**tokens, "email": f"phases-{tag}-{i}@example.org", "role": "no_role"})
    spent.append(time.thread_time() - t)
    if posted.status_code != 303:
        raise RuntimeError(f"POST: HTTP {posted.status_code}")
    t = time.thread_time()
    page = client.get(posted.headers["Location"])
    spent.append(time.thread_time() - t)
    if SENT_MARKER not in page.get_data(as_text=True):
        raise RuntimeError(f"result: HTTP {page.status_code}, not sent")
    return spent


def measure(apps: dict[str, tuple], count: int, tag: str, profile: cProfile.Profile | None = None,
            profiled: str = "dashboard") -> dict[str, list[float]]:
    """CPU ms per phase of each app's invites. The apps take turns, one invite each, so that a change in the
    machine's speed during the run (a shared host) touches both alike and their ratio stays put."""
    clients = {name: (app.test_client(), tokens_of) for name, (app, tokens_of) in apps.items()}
    for name, (client, tokens_of) in clients.items():
        for i in range(20):  # warm: templates compiled, connections open, caches filled
            invite_once(client, i, f"{tag}-{name}-warm", tokens_of)
    totals = {name: [0.0] * len(PHASES) for name in apps}
    for i in range(count):
        for name, (client, tokens_of) in clients.items():
            if profile and name == profiled:
                profile.enable()
            for n, seconds in enumerate(invite_once(client, i, f"{tag}-{name}", tokens_of)):
                totals[name][n] += seconds
            if profile and name == profiled:
                profile.disable()
    return {name: [seconds * 1000 / count for seconds in phases] for name, phases in totals.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invites", type=int, default=500)
    parser.add_argument("--profile", type=int, metavar="N", default=0,
                        help="cProfile the dashboard's timed loop and print the top N functions by own time")
    args = parser.parse_args(argv)
    run_dir = ROOT / "bench" / "results" / ("phases-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S"))
    run_dir.mkdir(parents=True, exist_ok=True)
    tag = secrets.token_hex(3)
    stack = contextlib.ExitStack()
    with stack, (run_dir / "dashboard.log").open("w") as log:
        sandbox = Sandbox(stack, run_dir, latency_ms=0, page_size=100, extra_teams=0, label="phases")
        dashboard = build_dashboard(sandbox, run_dir, log)
        floor = build_floor(sandbox)
        profile = cProfile.Profile(time.thread_time) if args.profile else None  # CPU, not waiting
        figures = measure({"dashboard": (dashboard, form_tokens),
                           "floor": (floor, lambda page: {} if 'name="email"' in page else None)},
                          args.invites, tag, profile)
    print(f"CPU ms per invite in this thread, {args.invites} invites each (test client, sandbox latency 0)")
    print(f"   {'':<10}" + "".join(f"{p:>12}" for p in PHASES) + f"{'total':>12}")
    for name, phases in figures.items():
        print(f"   {name:<10}" + "".join(f"{v:>12.3f}" for v in phases) + f"{sum(phases):>12.3f}")
    ratios = [d / f for d, f in zip(figures["dashboard"], figures["floor"], strict=True)]
    print(f"   {'x floor':<10}" + "".join(f"{v:>12.2f}" for v in ratios)
          + f"{sum(figures['dashboard']) / sum(figures['floor']):>12.2f}")
    if profile:
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("tottime").print_stats(args.profile)
        stats.sort_stats("cumulative").print_stats(args.profile * 3)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
