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
import re
import secrets
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from harness import (  # bench/harness.py, beside this file
    DASHBOARD_TIMEOUT,
    DEMO_ORG_ID,
    FORM_P50_TARGET_MS,
    RATIO_TARGET,
    ROOT,
    SEED_TEAMS,
    Dashboard,
    Sample,
    Sandbox,
    add_server_arguments,
    cpu_seconds,
    error_counts,
    machine_info,
    ok_values,
    percentile,
    run_concurrently,
    run_dashboard,
    run_direct,
    run_form_renders,
    run_page_views,
    spread_renders,
    summary,
    verdict,
)

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
