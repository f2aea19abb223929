"""Benchmark: the filtered lists at issue 25's size, through the dashboard as the Procfile runs it.

    .venv/bin/python bench/lists.py --database-url postgresql+psycopg://postgres:postgres@127.0.0.1:5432/DB
    .venv/bin/python bench/lists.py --rounds 1 --ttl 3       # quicker

The org (bench/bulk_preview.py's, the defaults): 2,000 teams, 20,008 members and 10,012 pending invitations,
Junction answering every call 50 ms late in pages of 100. Unlike the preview's org, the generated people here
differ the way filters see them: every 20th is an org admin, 3 in 20 team admins, the rest without a role; the
invitations were sent evenly over the last 365 days, newest first (so the newest ~820 are younger than 30 days,
and `older_than=30` finds nothing on the first eight pages, as the issue's org did).

Measured, each view `--rounds` times (median), one person at a time:

1. **A filtered list's first view** (issue 25: "a page of matches, or the honest end, <= 1 s"): /invitations
   with `older_than=30`, with a role, with both, and /members with a role. Client wall time, the app's
   `Server-Timing` (its time and the Junction calls it counted), the Junction calls the sandbox received, the
   rows shown and where the walk stopped ("full": a page of matches; "end"; "budget": it stopped to stay quick
   and offers Show more). When the first view stops short, the Show more links are followed until a page's
   worth of matches (100) has been shown or the end is reached: how many views and how long in all.
2. **The team list's reload** (issue 25: "a page view when the team list expires never waits for the
   refresh"): a second dashboard with `TEAMS_CACHE_TTL_SECONDS=--ttl`, its team list loaded, viewed every
   0.25 s for 4 x TTL: each view's server time and Junction calls, against the team-list traversals the
   sandbox served meanwhile (20 calls each) on the dashboard's own thread.
3. **Server-Timing's count of calls made on pool threads** (issue 25: 201–222 reported of 341–362 made): one
   bulk preview of `--preview-rows` (60: more than the 50 addresses searched one by one, so both lists are
   walked, the invitations on a pool thread), the calls Server-Timing reports against those the sandbox got.

A measurement, not a test: it exits 0. Logs stay in bench/results/lists-<timestamp>/.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from bulk_preview import member_dicts, org_teams, the_file
from harness import ROOT, Dashboard, machine_info, verdict

from invite.sandbox.server import SandboxServer
from invite.sandbox.state import iso

TARGET_S = 1.0  # issue 25: a page of matches (or the honest end) within a second
PAGE = 100  # a page's worth of matches (the sandbox's page size, as Junction's)
_APP = re.compile(r"\bapp;dur=([0-9.]+)")
_CALLS = re.compile(r'desc="Junction, (\d+) calls?"')
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]*)"')
_ROW = re.compile(r'<tr id="(?:invite|member)-')
_WALK = re.compile(r'<p class="hint" id="list-walk">(.*?)</p>', re.S)
_LOOKED = re.compile(r"(?:Looked at|looking at) (?:all |the last )?([\d,]+) ")
_MORE = re.compile(r'<a href="([^"]+)">Show more</a>')

VIEWS = [
    ("/invitations, first page, no filter", "/invitations"),
    ("/invitations?older_than=30", "/invitations?older_than=30"),
    ("/invitations?role=team_admin (15 %)", "/invitations?role=team_admin"),
    ("/invitations?role=org_admin (5 %)", "/invitations?role=org_admin"),
    ("/invitations?older_than=30&role=org_admin", "/invitations?older_than=30&role=org_admin"),
    ("/members?role=team_admin (15 %)", "/members?role=team_admin"),
    ("/members?role=org_admin (5 %)", "/members?role=org_admin"),
]


# --------------------------------------------------------------------------------------------- the org


def role_of(i: int) -> str:
    kind = i % 20
    return "org_admin" if kind == 0 else "team_admin" if kind <= 3 else "no_role"


def people(members: int, invites: int, now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """bulk_preview's members and invitations with roles, the invitations sent evenly over the last year."""
    member_list = [m | {"role": role_of(i)} for i, m in enumerate(member_dicts(members))]
    step = timedelta(days=365) / max(invites, 1)
    invite_list = [
        {"id": f"00000000-0000-4000-9000-{i:012d}", "email": f"pending{i:05d}@acmehealth.com",
         "invited_at": iso(now - step * (i + 1)), "resent_at": None, "creator": {"type": "management_key"},
         "role": role_of(i), "team_role_bindings": None}
        for i in range(invites)
    ]
    return member_list, invite_list


def serve_sandbox(args: argparse.Namespace) -> int:
    """The subprocess: a sandbox seeded with the org, its URL on stdout, until stdin closes."""
    server = SandboxServer(port=0, page_size=args.page_size, latency_ms=args.latency_ms)
    members, invites = people(args.members, args.invites, datetime.now(UTC))
    with server.state.lock:
        server.state.teams = org_teams(args.teams)
        server.state.members.extend(members)
        server.state.invites.extend(invites)
    server.start()
    print(server.base_url, flush=True)
    sys.stdin.read()
    server.stop()
    return 0


class SeededSandbox:
    def __init__(self, stack: contextlib.ExitStack, args: argparse.Namespace):
        argv = [sys.executable, __file__, "--serve-sandbox", "--teams", str(args.teams), "--members",
                str(args.members), "--invites", str(args.invites), "--page-size", str(args.page_size),
                "--latency-ms", str(args.latency_ms)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # noqa: S603
        stack.callback(self.stop)
        self.url = self.proc.stdout.readline().strip()
        if not self.url:
            raise RuntimeError("the seeded sandbox did not start")

    def requests_total(self) -> int:
        return requests.get(self.url + "/_sandbox/stats", timeout=30).json()["requests"]

    def log(self) -> list[dict[str, Any]]:
        return requests.get(self.url + "/_sandbox/requests", timeout=120).json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


# --------------------------------------------------------------------------------------------- measuring


def view(session: requests.Session, base: str, path: str, sandbox: SeededSandbox) -> dict[str, Any]:
    """One GET: wall and server time, Junction calls (reported and received), rows, and the walk's stop."""
    before = sandbox.requests_total()
    started = time.perf_counter()
    answer = session.get(base + path, timeout=120)
    wall = time.perf_counter() - started
    received = sandbox.requests_total() - before
    if answer.status_code != 200:
        raise RuntimeError(f"GET {path} answered {answer.status_code}: {answer.text[:300]}")
    timing = answer.headers.get("Server-Timing", "")
    app_ms = _APP.search(timing)
    calls = _CALLS.search(timing)
    walk = _WALK.search(answer.text)
    walk_text = html.unescape(re.sub(r"<[^>]+>", "", walk.group(1))).strip() if walk else ""
    stopped = ("end" if "no more" in walk_text else "full" if walk_text.startswith("Found") else
               "budget" if "to keep this page quick" in walk_text else "failed" if walk_text else "")
    looked = _LOOKED.search(walk_text)
    more = _MORE.search(answer.text)
    return {"wall_s": wall, "server_ms": float(app_ms.group(1)) if app_ms else float("nan"),
            "calls_reported": int(calls.group(1)) if calls else 0, "calls_received": received,
            "rows": len(_ROW.findall(answer.text)), "stopped": stopped,
            "looked_at": int(looked.group(1).replace(",", "")) if looked else None,
            "more": html.unescape(more.group(1)) if more else None}


def first_views(args: argparse.Namespace, base: str, sandbox: SeededSandbox) -> list[dict[str, Any]]:
    results = []
    with requests.Session() as session:
        for label, path in VIEWS:
            rounds = [view(session, base, path, sandbox) for _ in range(args.rounds)]
            middle = sorted(rounds, key=lambda r: r["wall_s"])[len(rounds) // 2]
            entry: dict[str, Any] = {"label": label, "path": path, "rounds": rounds, "median": middle}
            # Short of a page's worth: follow Show more until 100 matches were shown, or the end.
            if middle["stopped"] == "budget":
                shown, total, views, current = middle["rows"], middle["wall_s"], 1, middle
                while shown < PAGE and current["more"] and views < 20:
                    current = view(session, base, current["more"], sandbox)
                    shown += current["rows"]
                    total += current["wall_s"]
                    views += 1
                entry["to_a_page"] = {"views": views, "wall_s": total, "shown": shown,
                                      "ended": current["stopped"] == "end"}
            results.append(entry)
            r = middle
            print(f"  {label:45} {r['wall_s'] * 1000:7,.0f} ms (server {r['server_ms']:,.0f}), {r['rows']:3} rows, "
                  f"{r['stopped'] or '-':6} looked at {r['looked_at'] or '-'}, Junction calls "
                  f"{r['calls_reported']} reported / {r['calls_received']} received", flush=True)
            if "to_a_page" in entry:
                t = entry["to_a_page"]
                print(f"  {'':45} {t['shown']} rows after {t['views']} views, {t['wall_s']:.2f} s in all", flush=True)
    return results


def team_reload(args: argparse.Namespace, run_dir: Path, sandbox: SeededSandbox) -> dict[str, Any]:
    """Views every 0.25 s for 4 x TTL on a dashboard whose team list expires every TTL seconds."""
    with contextlib.ExitStack() as stack:
        dashboard = Dashboard(stack, run_dir, sandbox, workers=1, threads=8, ttl_seconds=args.ttl, label="ttl",
                              database_url=args.database_url)
        samples = []
        with requests.Session() as session:
            view(session, dashboard.url, "/invitations", sandbox)  # the process's first load, waited for
            start_index = len(sandbox.log())
            deadline = time.monotonic() + 4 * args.ttl
            while time.monotonic() < deadline:
                samples.append(view(session, dashboard.url, "/invitations", sandbox))
                time.sleep(0.25)
        log = sandbox.log()[start_index:]
    team_calls = sum(1 for e in log if e["method"] == "GET" and e["path"].endswith("/team"))
    pages = -(-args.teams // args.page_size)
    servers = [s["server_ms"] for s in samples]
    return {"views": len(samples), "server_p50_ms": statistics.median(servers), "server_max_ms": max(servers),
            "views_over_1_call": sum(1 for s in samples if s["calls_reported"] != 1),
            "team_calls": team_calls, "traversals": team_calls / pages, "pages_per_traversal": pages,
            "received_while_viewing": sum(s["calls_received"] for s in samples),
            "reported_while_viewing": sum(s["calls_reported"] for s in samples)}


def preview_counts(args: argparse.Namespace, base: str, sandbox: SeededSandbox) -> dict[str, Any]:
    """One bulk preview that walks both lists: the calls Server-Timing reports against those the sandbox got."""
    teams = [t["name"] for t in org_teams(args.teams)]
    text = the_file(args.preview_rows, teams, args.members, args.invites).decode()
    with requests.Session() as session:
        csrf = _CSRF.search(session.get(base + "/bulk", timeout=60).text).group(1)
        before = sandbox.requests_total()
        started = time.perf_counter()
        answer = session.post(base + "/bulk/preview", data={"csrf_token": csrf, "text": text,
                                                            "default_role": "no_role"}, timeout=180)
        wall = time.perf_counter() - started
        received = sandbox.requests_total() - before
    timing = answer.headers.get("Server-Timing", "")
    calls = _CALLS.search(timing)
    app_ms = _APP.search(timing)
    return {"status": answer.status_code, "wall_s": wall, "server_ms": float(app_ms.group(1)) if app_ms else None,
            "calls_reported": int(calls.group(1)) if calls else 0, "calls_received": received}


# --------------------------------------------------------------------------------------------- report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=2000)
    parser.add_argument("--members", type=int, default=20000, help="generated members, besides the seed's 8")
    parser.add_argument("--invites", type=int, default=10000, help="generated invitations, besides the seed's 12")
    parser.add_argument("--page-size", type=int, default=100, help="items per page of the sandbox's lists")
    parser.add_argument("--latency-ms", type=float, default=50, help="delay the sandbox adds to every answer")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ttl", type=float, default=5, help="the team list's TTL for part 2, seconds")
    parser.add_argument("--preview-rows", type=int, default=60, help="rows of part 3's preview (0: skip it)")
    parser.add_argument("--database-url", help="the dashboard's database (default: a scratch SQLite file)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--serve-sandbox", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_sandbox:
        return serve_sandbox(args)

    machine = machine_info()
    loads = [os.getloadavg()]
    print(f"machine: {machine['cpu']}, nproc {os.cpu_count()}, {machine['ram_gib']} GiB, Python {machine['python']}, "
          f"commit {machine['commit']}; load average " + " ".join(f"{x:.1f}" for x in loads[0]))
    print(f"org: {args.teams:,} teams, {args.members:,} + 8 members, {args.invites:,} + 12 pending invitations; "
          f"Junction {args.latency_ms:g} ms late, pages of {args.page_size}; {args.rounds} rounds", flush=True)
    run_dir = ROOT / "bench" / "results" / f"lists-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        sandbox = SeededSandbox(stack, args)
        dashboard = Dashboard(stack, run_dir, sandbox, workers=1, threads=8, ttl_seconds=3600, label="lists",
                              database_url=args.database_url)
        with requests.Session() as session:  # the team list and org loaded, connections open
            view(session, dashboard.url, "/invitations", sandbox)
        print("\n1. A filtered list's first view (median of rounds)", flush=True)
        result["views"] = first_views(args, dashboard.url, sandbox)
        if args.preview_rows:
            print(f"\n3. Server-Timing's count, a preview of {args.preview_rows} rows (both lists walked)", flush=True)
            result["preview"] = p = preview_counts(args, dashboard.url, sandbox)
            print(f"  status {p['status']}, {p['wall_s']:.2f} s (server {p['server_ms'] or 0:,.0f} ms); Junction calls "
                  f"{p['calls_reported']} reported / {p['calls_received']} received", flush=True)
        stack.close()  # the first dashboard stopped before the second starts
        loads.append(os.getloadavg())
    with contextlib.ExitStack() as stack:
        sandbox = SeededSandbox(stack, args)
        print(f"\n2. The team list's reload, TTL {args.ttl:g} s, a view every 0.25 s for {4 * args.ttl:g} s",
              flush=True)
        result["team_reload"] = t = team_reload(args, run_dir, sandbox)
        print(f"  {t['views']} views: server p50 {t['server_p50_ms']:.0f} ms, max {t['server_max_ms']:.0f} ms; views "
              f"counting other than 1 Junction call: {t['views_over_1_call']}; team-list traversals meanwhile "
              f"{t['traversals']:.2f} ({t['team_calls']} calls of {t['pages_per_traversal']} pages), off the views",
              flush=True)
    loads.append(os.getloadavg())

    print("\nTargets")
    for entry in result["views"]:
        r = entry["median"]
        if entry["path"] == "/invitations":
            continue
        ok = r["wall_s"] <= TARGET_S and r["stopped"] in ("full", "end")
        note = "" if r["stopped"] in ("full", "end") else f" (stopped short: {r['rows']} of {PAGE} rows)"
        print(f"  {verdict(ok)} {entry['label']}: {r['wall_s']:.2f} s, {r['stopped']}{note}; <= {TARGET_S:g} s")
    t = result["team_reload"]
    print(f"  {verdict(t['views_over_1_call'] == 0 and t['traversals'] >= 1)} team list reloaded off the views: "
          f"{t['traversals']:.2f} traversals, 0 views paying for them (max server {t['server_max_ms']:.0f} ms)")
    if "preview" in result:
        p = result["preview"]
        print(f"  {verdict(p['calls_reported'] == p['calls_received'])} Server-Timing counts every call: "
              f"{p['calls_reported']} reported / {p['calls_received']} received")
    print("load average: " + "; ".join(" ".join(f"{x:.1f}" for x in load) for load in loads))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "args": vars(args) | {"json": str(args.json)},
                                         "load_average": loads, **result}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
