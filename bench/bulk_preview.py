"""Benchmark: the bulk preview of 5,000 rows against an org of 2,000 teams, 5,000 members and 5,000 invites.

    .venv/bin/python bench/bulk_preview.py                  # both parts, defaults below
    .venv/bin/python bench/bulk_preview.py --latency-ms 50  # the sandbox answers every page 50 ms late

Two parts (see bench/README.md, "Bulk preview"):

1. In process: parse_bulk on the file's bytes, then build_preview with the teams, members and invites
   already in memory: the dashboard's own work on a preview, nothing else.
2. Through the client: a sandbox seeded that large runs as a subprocess (pages of --page-size items, an
   injected latency); the time from the file's bytes to the finished Preview, walking List Members and
   List Invites with JunctionClient.iter_members/iter_invites (teams come from the dashboard's cache in
   production, so they are fetched untimed). Junction's share (the sandbox's answers) is told apart from
   ours with the client's on_call hook. Measured with the two lists walked one after the other, and with
   List Invites walked on a second thread while List Members is walked on the first.

A measurement, not a test: it exits 0 and says whether the 1.5 s target was met.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import machine_info  # noqa: E402 - bench/harness.py, beside this file

from invite.bulk.parser import parse_bulk  # noqa: E402
from invite.bulk.preview import VERDICTS, build_preview  # noqa: E402
from invite.junction import Creator, Invite, JunctionClient, Member, Team  # noqa: E402
from invite.sandbox.server import SandboxServer  # noqa: E402
from invite.sandbox.state import DEMO_KEY, DEMO_ORG_ID, iso, seed_teams  # noqa: E402

TARGET_SECONDS = 1.5
SEED_TEAMS = len(seed_teams(0))
WHEN = datetime(2025, 6, 1, tzinfo=UTC)


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
    1 % a misspelt team (each misspelling different, the costly case for suggestions), the rest new."""
    rng = random.Random(seed)
    lines = ["email,role,teams"]
    for i in range(rows):
        kind = i % 100
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


# --------------------------------------------------------------------------------------------- part 1


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def in_process(args: argparse.Namespace, data: bytes, teams: list[Team]) -> dict[str, Any]:
    members = [Member(m["id"], m["name"], m["email"], m["role"], (), WHEN) for m in member_dicts(args.members)]
    invites = [Invite(i["id"], i["email"], i["role"], (), WHEN, None, Creator("management_key"))
               for i in invite_dicts(args.invites)]
    parse_s, build_s, total_s = [], [], []
    preview = None
    for _ in range(args.repeat):
        p, rows = timed(lambda: parse_bulk(data))
        b, preview = timed(lambda rows=rows: build_preview(
            rows, default_role="org_admin", teams=teams, members=iter(members), invites=iter(invites)))
        parse_s.append(p)
        build_s.append(b)
        total_s.append(p + b)
    return {"parse": parse_s, "build": build_s, "total": total_s, "counts": preview.counts if preview else {}}


# --------------------------------------------------------------------------------------------- part 2


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


def through_client(args: argparse.Namespace, data: bytes) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--serve-sandbox", "--teams", str(args.teams), "--members",
            str(args.members), "--invites", str(args.invites), "--page-size", str(args.page_size),
            "--latency-ms", str(args.latency_ms)]
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as sandbox:  # noqa: S603
        try:
            base_url = sandbox.stdout.readline().strip()
            return measure_client(args, data, base_url)
        finally:
            sandbox.stdin.close()
            sandbox.wait(timeout=30)


def measure_client(args: argparse.Namespace, data: bytes, base_url: str) -> dict[str, Any]:
    calls: list[float] = []  # milliseconds per Junction call, from the client's on_call hook
    client = JunctionClient(base_url=base_url, management_key=DEMO_KEY, org_id=DEMO_ORG_ID, timeout=60,
                            on_call=lambda record: calls.append(record.elapsed_ms))
    teams = client.list_teams()  # cached by the dashboard: not part of a preview
    results: dict[str, Any] = {"teams": len(teams)}

    def one_after_the_other():
        rows = parse_bulk(data)
        return build_preview(rows, default_role="org_admin", teams=teams, members=client.iter_members(),
                             invites=client.iter_invites())

    def side_by_side():
        with ThreadPoolExecutor(1) as pool:
            invites = pool.submit(lambda: list(client.iter_invites()))
            rows = parse_bulk(data)
            members = list(client.iter_members())
            return build_preview(rows, default_role="org_admin", teams=teams, members=members,
                                 invites=invites.result())

    for name, run in (("sequential", one_after_the_other), ("parallel", side_by_side)):
        walls, junction, pages = [], [], []
        for _ in range(args.repeat):
            calls.clear()
            wall, preview = timed(run)
            walls.append(wall)
            junction.append(sum(calls) / 1000)
            pages.append(len(calls))
        results[name] = {"wall": walls, "junction": junction, "pages": pages[0], "counts": preview.counts}
    client.close()
    return results


# --------------------------------------------------------------------------------------------- report


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def spread(values: list[float]) -> str:
    return f"median {ms(statistics.median(values))} (min {ms(min(values))}, max {ms(max(values))})"


def verdict(seconds: float) -> str:
    return "met" if seconds <= TARGET_SECONDS else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--teams", type=int, default=2000)
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--invites", type=int, default=5000)
    parser.add_argument("--page-size", type=int, default=100, help="items per page of the sandbox's lists")
    parser.add_argument("--latency-ms", type=float, default=0, help="delay the sandbox adds to every answer")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--in-process-only", action="store_true", help="skip part 2 (no sandbox)")
    parser.add_argument("--serve-sandbox", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_sandbox:
        return serve_sandbox(args)

    team_dicts = org_teams(args.teams)
    teams = [Team(t["id"], t["name"], t["region"]) for t in team_dicts]
    data = the_file(args.rows, [t.name for t in teams], args.members, args.invites)
    machine = machine_info()
    print(f"machine: {machine['cpu']}, {machine['usable_cores']} usable cores, {machine['ram_gib']} GiB, "
          f"Python {machine['python']}, {machine['os']}, commit {machine['commit']}; load average "
          + " ".join(f"{load:.1f}" for load in os.getloadavg()))
    print(f"file: {args.rows:,} rows, {len(data):,} bytes; org: {len(teams):,} teams, {args.members:,} members, "
          f"{args.invites:,} pending invites; {args.repeat} runs each")

    part1 = in_process(args, data, teams)
    print("\n1. in process (parse + preview, lists in memory)")
    print(f"   parse_bulk     {spread(part1['parse'])}")
    print(f"   build_preview  {spread(part1['build'])}")
    print(f"   total          {spread(part1['total'])}  target <= {TARGET_SECONDS} s: "
          f"{verdict(statistics.median(part1['total']))}")
    print("   verdicts       " + ", ".join(f"{v} {part1['counts'][v]}" for v in VERDICTS))
    if args.in_process_only:
        return 0

    print(f"\n2. through the client against the sandbox (pages of {args.page_size}, latency {args.latency_ms:g} ms)",
          flush=True)
    part2 = through_client(args, data)
    for name in ("sequential", "parallel"):
        result = part2[name]
        print(f"   {name:<10}  wall {spread(result['wall'])}, {result['pages']} pages; target <= "
              f"{TARGET_SECONDS} s: {verdict(statistics.median(result['wall']))}")
        assert result["counts"] == part1["counts"], "the sandbox run judged the rows differently"
    sequential = part2["sequential"]
    ours = [w - j for w, j in zip(sequential["wall"], sequential["junction"], strict=True)]
    print(f"   sequential: in Junction calls {ms(statistics.median(sequential['junction']))}, "
          f"ours {ms(statistics.median(ours))} (wall less calls: parsing pages, the file and the preview)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
