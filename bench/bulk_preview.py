"""Benchmark: the bulk preview on issue 25's org, through the dashboard as the Procfile runs it.

    .venv/bin/python bench/bulk_preview.py --rows 5                # "bulk preview, 5 rows" (target <= 1.5 s)
    .venv/bin/python bench/bulk_preview.py --rows 5000 --browser   # "bulk preview, 5,000 rows, to the load event"
    .venv/bin/python bench/bulk_preview.py --in-process            # the dashboard's own work, no HTTP
    .venv/bin/python bench/bulk_preview.py --threshold             # searching n addresses vs walking the org

The org (the defaults): 2,000 teams, 20,008 members and 10,012 pending invitations (the sandbox's seed plus
20,000 and 10,000 generated), Junction answering every call 50 ms late in pages of 100. The sandbox, seeded
that large, runs as a subprocess (this script's hidden --serve-sandbox mode); the dashboard is
`gunicorn app:app --config gunicorn.conf.py` on --database-url (PostgreSQL, as the issue measured, or a
scratch SQLite file when none is given), its team list already loaded (a warm-up preview first: the team
list's own reload is another row of the issue).

Without --browser: a person's session posts the list to /bulk/preview; timed from the POST to the whole
answer, with the app's Server-Timing and the Junction calls the sandbox received. With --browser: headless
Chromium (/usr/bin/chromium) uploads the list as a file and presses Preview; timed from the navigation's start (the
POST) to the preview page's load event, from the page's own Navigation Timing, with its size and DOM nodes.
Each is measured --rounds times (3) and the median reported. A measurement, not a test: it exits 0.

Before the rounds, the worker's copy of the org (issue 25: invite/adapters/org_snapshot.py, which a list of
more than 50 addresses is checked against while it is younger than INVITE_ORG_SNAPSHOT_MAX_AGE) is taken
once, as a production worker does when it starts and every INVITE_ORG_SNAPSHOT_EVERY after:
`python -m invite.bulk.worker --refresh-org-snapshot` with the dashboard's settings. --no-org-snapshot leaves
it out (and marks a copy an earlier run left in the database as never taken), so a long list walks
Junction's lists as a dashboard with no worker running would.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from harness import ROOT, Dashboard, child_env, machine_info

from invite.bulk.parser import parse_bulk
from invite.bulk.preview import VERDICTS, build_preview
from invite.junction import Creator, Invite, Member, Team
from invite.sandbox.server import SandboxServer
from invite.sandbox.state import iso, seed_teams

TARGETS = {"http": 1.5, "browser": 8.0}  # seconds: issue 25's two rows
SEED_TEAMS = len(seed_teams(0))
WHEN = datetime(2025, 6, 1, tzinfo=UTC)
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]*)"')
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)
_APP = re.compile(r"\bapp;dur=([0-9.]+)")
_COUNT = re.compile(r'data-count="(\w+)">(\d+)<')


# --------------------------------------------------------------------------------------------- the org


def member_email(i: int) -> str:
    return f"member{i:05d}@acmehealth.com"


def invite_email(i: int) -> str:
    return f"pending{i:05d}@acmehealth.com"


def org_teams(count: int) -> list[dict[str, Any]]:
    """The sandbox's own team list, grown to `count` teams."""
    return seed_teams(max(0, count - SEED_TEAMS))


def member_dicts(count: int) -> list[dict[str, Any]]:
    return [
        {"id": f"00000000-0000-4000-8000-{i:012d}", "name": f"Member {i}", "email": member_email(i),
         "created_on": iso(WHEN + timedelta(minutes=i)), "role": "no_role", "team_role_bindings": None}
        for i in range(count)
    ]


def invite_dicts(count: int) -> list[dict[str, Any]]:
    # Newest first, as the sandbox keeps its invites; older than its seed invites, so they go after them.
    return [
        {"id": f"00000000-0000-4000-9000-{i:012d}", "email": invite_email(i),
         "invited_at": iso(WHEN - timedelta(minutes=i)), "resent_at": None, "creator": {"type": "management_key"},
         "role": "no_role", "team_role_bindings": None}
        for i in range(count)
    ]


def the_file(rows: int, team_names: list[str], members: int, invites: int, seed: int = 9) -> bytes:
    """A CSV of `rows` people, 1 to 3 teams each by name: 10 % members, 10 % pending, 1 % a bad address,
    1 % a misspelt team (each misspelling different, the costly case for suggestions), the rest new. The
    kinds are spread over the rows (row i is kind 37 i mod 100), so 5 rows hold a member and a pending one."""
    rng = random.Random(seed)
    lines = ["email,role,teams"]
    for i in range(rows):
        kind = i * 37 % 100
        if kind < 10:
            email = member_email(rng.randrange(members))
        elif kind < 20:
            email = invite_email(rng.randrange(invites))
        elif kind == 20:
            email = f"broken{i}@"
        else:
            email = f"new.person{i:05d}@example.com"
        teams = rng.sample(team_names, rng.randint(1, 3))
        if kind == 21:
            name = teams[0]
            cut = rng.randrange(1, len(name) - 1)
            teams[0] = name[:cut] + name[cut + 1:]
        lines.append(f"{email},team_admin,{';'.join(teams)}")
    return ("\n".join(lines) + "\n").encode()


def serve_sandbox(args: argparse.Namespace) -> int:
    """The subprocess: a sandbox seeded with the big org, its URL on stdout, until stdin closes."""
    server = SandboxServer(port=0, page_size=args.page_size, latency_ms=args.latency_ms)
    with server.state.lock:
        server.state.teams = org_teams(args.teams)
        server.state.members.extend(member_dicts(args.members))
        server.state.invites.extend(invite_dicts(args.invites))
    server.start()
    print(server.base_url, flush=True)
    sys.stdin.read()
    server.stop()
    return 0


class SeededSandbox:
    """The hidden --serve-sandbox mode as a subprocess; `url` is what harness.Dashboard needs of a sandbox."""

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

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


# --------------------------------------------------------------------------------------------- measuring


def forget_org_snapshot(database_url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE org_snapshot SET taken_at = NULL"))
    engine.dispose()
    print("no copy of the org: a long list walks Junction", flush=True)


def refresh_org_snapshot(sandbox: SeededSandbox, database_url: str) -> None:
    """The worker's copy of the org taken once, by the worker's own command, on the dashboard's database."""
    env = child_env(INVITE_SANDBOX="1", JUNCTION_API_BASE_URL=sandbox.url, DATABASE_URL=database_url,
                    JUNCTION_TIMEOUT_SECONDS="60")
    before = sandbox.requests_total()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "invite.bulk.worker", "--refresh-org-snapshot"],  # noqa: S603
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"the worker's refresh exited with {done.returncode}: {done.stdout}{done.stderr}")
    print(f"the worker's copy of the org taken in {time.perf_counter() - started:.1f} s (the command's whole run), "
          f"{sandbox.requests_total() - before} Junction calls", flush=True)


def post_preview(session: requests.Session, url: str, text: str) -> tuple[float, float, str]:
    """(wall seconds, server ms, page) of one preview posted as the page's form would post it."""
    csrf = _CSRF.search(session.get(url + "/bulk", timeout=60).text).group(1)
    started = time.perf_counter()
    answer = session.post(url + "/bulk/preview", data={"csrf_token": csrf, "text": text, "default_role": "no_role"},
                          timeout=120)
    wall = time.perf_counter() - started
    heading = _H1.search(answer.text)
    if answer.status_code != 200 or not heading or "Check the list" not in heading.group(1):
        raise RuntimeError(f"the preview answered {answer.status_code}: {answer.text[:500]}")
    match = _APP.search(answer.headers.get("Server-Timing", ""))
    return wall, float(match.group(1)) if match else float("nan"), answer.text


def through_http(args: argparse.Namespace, dashboard: Dashboard, sandbox: SeededSandbox, text: str) -> dict:
    rounds = []
    with requests.Session() as session:
        for _ in range(args.rounds):
            before = sandbox.requests_total()
            wall, server_ms, page = post_preview(session, dashboard.url, text)
            calls = sandbox.requests_total() - before - 0  # the GET /bulk before it calls nothing upstream
            rounds.append({"wall_s": wall, "server_ms": server_ms, "junction_calls": calls,
                           "counts": {k: int(v) for k, v in _COUNT.findall(page)}})
    return {"rounds": rounds, "median_s": statistics.median(r["wall_s"] for r in rounds)}


NAVIGATION = """() => {
  const n = performance.getEntriesByType('navigation')[0];
  return {start: n.startTime, response_start: n.responseStart, response_end: n.responseEnd,
          dom_content_loaded: n.domContentLoadedEventEnd, load: n.loadEventEnd, bytes: n.decodedBodySize,
          nodes: document.getElementsByTagName('*').length, rows: document.querySelectorAll('tbody tr').length};
}"""


def through_browser(args: argparse.Namespace, dashboard: Dashboard, text: str) -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    from browser_support import chromium

    rounds = []
    with chromium() as browser:
        for _ in range(args.rounds):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(180_000)  # a slow preview is a figure, not an error
            page.goto(dashboard.url + "/bulk")
            # A list this long comes as a file: uploaded, as a person would (typing 400 KB takes Playwright minutes).
            page.locator("#file").set_input_files({"name": "people.csv", "mimeType": "text/csv",
                                                   "buffer": text.encode()})
            with page.expect_navigation(wait_until="load", timeout=180_000):
                page.get_by_role("button", name="Preview").click()
            figures = page.evaluate(NAVIGATION)
            heading = page.locator("h1").inner_text()
            if "Check the list" not in heading:
                raise RuntimeError(f"the preview page says {heading!r}")
            context.close()
            rounds.append({"to_load_s": (figures["load"] - figures["start"]) / 1000,
                           "server_s": (figures["response_start"] - figures["start"]) / 1000, **figures})
    return {"rounds": rounds, "median_s": statistics.median(r["to_load_s"] for r in rounds)}


def threshold(args: argparse.Namespace) -> dict:
    """invite.bulk.standing through the client against the seeded sandbox: n addresses searched one by one
    (after the first page of each list), for growing n, against both lists walked: where SMALL_LIST sits."""
    from invite.bulk import standing
    from invite.junction import JunctionClient
    from invite.sandbox.state import DEMO_KEY, DEMO_ORG_ID

    results: dict = {"searched": {}, "walked": None}
    with contextlib.ExitStack() as stack:
        sandbox = SeededSandbox(stack, args)
        client = stack.enter_context(JunctionClient(base_url=sandbox.url, management_key=DEMO_KEY, org_id=DEMO_ORG_ID,
                                                    timeout=60))
        rng = random.Random(5)
        for n in (5, 25, 50, 100, 200):
            # A list like the benchmark's file: a tenth members, a tenth pending, the rest new.
            emails = [member_email(rng.randrange(args.members)) if i % 10 == 0 else
                      invite_email(rng.randrange(args.invites)) if i % 10 == 1 else f"new.{n}.{i}@example.com"
                      for i in range(n)]
            walls = []
            for _ in range(args.rounds):
                before = sandbox.requests_total()
                started = time.perf_counter()
                found = standing.standing_of(client, emails, small_list=n)
                walls.append(time.perf_counter() - started)
                calls = sandbox.requests_total() - before
            results["searched"][n] = {"median_s": statistics.median(walls), "calls": calls,
                                      "found": (len(found.members), len(found.invites))}
            print(f"  {n:>4} addresses searched: {statistics.median(walls):.2f} s, {calls} calls", flush=True)
        walls = []
        for _ in range(args.rounds):
            before = sandbox.requests_total()
            started = time.perf_counter()
            standing.standing_of(client, ["any@example.com"], small_list=0)
            walls.append(time.perf_counter() - started)
            calls = sandbox.requests_total() - before
        results["walked"] = {"median_s": statistics.median(walls), "calls": calls}
        print(f"  both lists walked: {statistics.median(walls):.2f} s, {calls} calls", flush=True)
    return results


def in_process(args: argparse.Namespace, data: bytes, teams: list[Team]) -> dict:
    members = [Member(m["id"], m["name"], m["email"], m["role"], (), WHEN) for m in member_dicts(args.members)]
    invites = [Invite(i["id"], i["email"], i["role"], (), WHEN, None, Creator("management_key"))
               for i in invite_dicts(args.invites)]
    walls = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        preview = build_preview(parse_bulk(data), default_role="no_role", teams=teams, members=members,
                                invites=invites)
        walls.append(time.perf_counter() - started)
    return {"median_s": statistics.median(walls), "walls": walls, "counts": preview.counts}


# --------------------------------------------------------------------------------------------- report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5, help="rows in the list (5)")
    parser.add_argument("--browser", action="store_true", help="time Chromium to the preview's load event")
    parser.add_argument("--in-process", action="store_true", help="parse and judge in this process only")
    parser.add_argument("--threshold", action="store_true", help="n addresses searched against the lists walked")
    parser.add_argument("--teams", type=int, default=2000)
    parser.add_argument("--members", type=int, default=20000, help="generated members, besides the seed's 8")
    parser.add_argument("--invites", type=int, default=10000, help="generated invitations, besides the seed's 12")
    parser.add_argument("--page-size", type=int, default=100, help="items per page of the sandbox's lists")
    parser.add_argument("--latency-ms", type=float, default=50, help="delay the sandbox adds to every answer")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", help="the dashboard's database (default: a scratch SQLite file)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--no-org-snapshot", action="store_true",
                        help="take no copy of the org first: a long list walks Junction, as with no worker running")
    parser.add_argument("--serve-sandbox", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_sandbox:
        return serve_sandbox(args)

    team_dicts = org_teams(args.teams)
    teams = [Team(t["id"], t["name"], t["region"]) for t in team_dicts]
    data = the_file(args.rows, [t.name for t in teams], args.members, args.invites)
    machine = machine_info()
    print(f"machine: {machine['cpu']}, nproc {os.cpu_count()}, {machine['ram_gib']} GiB, Python {machine['python']}, "
          f"{machine['os']}, commit {machine['commit']}; load average "
          + " ".join(f"{load:.1f}" for load in os.getloadavg()))
    print(f"list: {args.rows:,} rows, {len(data):,} bytes; org: {len(teams):,} teams, {args.members:,} + 8 members, "
          f"{args.invites:,} + 12 pending invitations; Junction {args.latency_ms:g} ms late, pages of "
          f"{args.page_size}; {args.rounds} rounds", flush=True)

    if args.threshold:
        result = threshold(args)
        if args.json:
            args.json.write_text(json.dumps({"machine": machine, "load_average": os.getloadavg(), **result},
                                            indent=2, default=str))
        return 0

    if args.in_process:
        result = in_process(args, data, teams)
        print(f"in process (parse_bulk + build_preview, lists in memory): median {result['median_s'] * 1000:,.0f} ms "
              f"of {', '.join(f'{w * 1000:,.0f}' for w in result['walls'])} ms")
        print("verdicts: " + ", ".join(f"{v} {result['counts'][v]}" for v in VERDICTS))
        return 0

    run_dir = ROOT / "bench" / "results" / f"bulk-preview-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir.mkdir(parents=True, exist_ok=True)
    text = data.decode()
    with contextlib.ExitStack() as stack:
        sandbox = SeededSandbox(stack, args)
        dashboard = Dashboard(stack, run_dir, sandbox, workers=1, threads=8, ttl_seconds=3600, label="preview",
                              database_url=args.database_url)
        database_url = args.database_url or f"sqlite:///{run_dir / 'bench.db'}"
        if args.no_org_snapshot:  # a copy an earlier run left in the database counts as never taken
            forget_org_snapshot(database_url)
        else:  # the database is migrated now: Dashboard ran the release command
            refresh_org_snapshot(sandbox, database_url)
        with requests.Session() as session:  # the team list loaded, connections open: as a running dashboard
            post_preview(session, dashboard.url, "warm.up@example.com\n")
        if args.browser:
            result = through_browser(args, dashboard, text)
            kind = "browser"
            for r in result["rounds"]:
                print(f"  to the load event {r['to_load_s']:.2f} s (the answer began at {r['server_s']:.2f} s), "
                      f"{r['bytes'] / 1e6:.2f} MB, {r['nodes']:,} elements, {r['rows']:,} table rows")
        else:
            result = through_http(args, dashboard, sandbox, text)
            kind = "http"
            for r in result["rounds"]:
                print(f"  POST /bulk/preview {r['wall_s'] * 1000:,.0f} ms (server {r['server_ms']:,.0f} ms), "
                      f"{r['junction_calls']} Junction calls; {r['counts']}")
    target = TARGETS[kind]
    median = result["median_s"]
    print(f"median {median:.2f} s; target <= {target:g} s: {'met' if median <= target else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "args": vars(args) | {"json": str(args.json)},
                                         "load_average": os.getloadavg(), **result}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
