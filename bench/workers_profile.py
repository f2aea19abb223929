"""Where the gunicorn workers' Python time goes, per invite: the dashboard beside the floor, under the same load.

    .venv/bin/python bench/workers_profile.py                 # 40 s of invites at concurrency 8 through each app
    .venv/bin/python bench/workers_profile.py --seconds 20 --top 30

bench/cost.py says how much more CPU the dashboard spends per invite than the floor; this says where. One
sandbox (50 ms latency) and both apps are started as bench/cost.py starts them. Each app in turn is warmed,
then py-spy samples every one of its workers (`--gil`: only the thread holding the GIL, so waiting for
Junction, the database or a core is not counted) while invites go through it as a browser sends them.
Samples are counted per invite: at the default 1,000 samples a second, one sample is one millisecond of
Python time, so the figures read as ms per invite and add up to about the CPU bench/cost.py measures, less
the time spent in the kernel.

The report has three tables: by package (own time, e.g. "sqlalchemy/engine" or "invite/web.py"), the
dashboard's functions by inclusive time, and the functions whose own time differs most from the floor's.
A measurement: it exits 0 either way. Needs py-spy (requirements-dev.txt) and permission to ptrace the
workers (root, or kernel.yama.ptrace_scope 0).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cost import Floor, floor_tokens
from harness import ROOT, Dashboard, Sandbox, form_tokens, run_dashboard

_LOCATION = re.compile(r"^(?P<function>.*?) \((?P<path>.*?)(?::\d+)?\)$")
# Directories that say nothing about whose code it is: cut off a frame's path up to here.
_PREFIXES = (re.compile(r"^.*/site-packages/"), re.compile(r"^.*/lib/python3\.\d+/"))
# Packages big enough that their sub-package is worth telling apart.
_SPLIT = ("invite", "sqlalchemy", "werkzeug", "flask")


def short_path(path: str) -> str:
    """A frame's file as its package sees it: site-packages and the standard library's folder cut off."""
    for prefix in _PREFIXES:
        path = prefix.sub("", path, count=1)
    return path.replace(str(ROOT) + "/", "")


def package_of(path: str) -> str:
    """The row a frame's own time is added to in the by-package table."""
    parts = short_path(path).split("/")
    return "/".join(parts[:2]) if parts[0] in _SPLIT and len(parts) > 1 else parts[0]


def frame_name(frame: str) -> str:
    """`function (short/path.py)`: py-spy's frame without its line number, so one function is one row."""
    found = _LOCATION.match(frame)
    return f"{found['function']} ({short_path(found['path'])})" if found else frame


@dataclass
class Profile:
    """Samples of py-spy's raw (collapsed stack) output, counted by frame."""

    samples: int = 0
    own: Counter[str] = field(default_factory=Counter)  # the innermost frame: where the time was spent
    inclusive: Counter[str] = field(default_factory=Counter)  # every frame on the stack, once per sample
    packages: Counter[str] = field(default_factory=Counter)

    def add(self, lines: Iterable[str]) -> None:
        for line in lines:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            frames = stack.split(";")
            self.samples += n
            self.own[frame_name(frames[-1])] += n
            found = _LOCATION.match(frames[-1])
            self.packages[package_of(found["path"]) if found else frames[-1]] += n
            for name in {frame_name(frame) for frame in frames}:
                self.inclusive[name] += n


def record(server: Dashboard | Floor, sandbox: Sandbox, name: str, seconds: float, rate: int,
           run_dir: Path) -> tuple[Profile, int]:
    """py-spy on each of `server`'s workers while invites go through it; the profile and the invites sent."""
    tokens_of = floor_tokens if isinstance(server, Floor) else form_tokens
    run_dashboard(server, 64, 8, f"warm-{secrets.token_hex(3)}", tokens_of=tokens_of)
    workers = subprocess.run(["pgrep", "-P", str(server.child.proc.pid)],  # noqa: S603, S607 - procps pgrep, our pid
                             capture_output=True, text=True, check=True).stdout.split()
    py_spy = Path(sys.executable).with_name("py-spy")
    outputs = [run_dir / f"{name}-{pid}.txt" for pid in workers]
    spies = [subprocess.Popen(  # noqa: S603 - argv from the venv's own py-spy and our own numbers
        [str(py_spy), "record", "--gil", "--nonblocking", "-r", str(rate), "-d", str(int(seconds) + 4),
         "-f", "raw", "-o", str(output), "-p", pid], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for pid, output in zip(workers, outputs, strict=True)]
    time.sleep(2)  # py-spy attaches
    invites, started, tag = 0, time.monotonic(), secrets.token_hex(3)
    while time.monotonic() - started < seconds:
        sandbox.reset()  # the org's invite list grows with every invite
        samples = run_dashboard(server, 200, 8, f"{tag}-{invites}", tokens_of=tokens_of)
        invites += sum(sample.ok for sample in samples)
    for spy in spies:
        spy.wait()
    profile = Profile()
    for output in outputs:
        if output.exists():
            profile.add(output.read_text().splitlines())
    return profile, invites


def table(title: str, rows: list[tuple], columns: tuple[str, ...]) -> list[str]:
    out = ["", title, "   " + "".join(f"{c:>10}" for c in columns)]
    out += ["   " + "".join(f"{v:>10.3f}" for v in values) + f"  {label[:110]}" for label, *values in rows]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40, help="seconds of invites through each app")
    parser.add_argument("--rate", type=int, default=1000, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=40, help="rows of each table")
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database-url", help="the dashboard's DATABASE_URL (default: SQLite in the run's folder)")
    args = parser.parse_args(argv)
    if not Path(sys.executable).with_name("py-spy").exists():
        print("py-spy is not installed: .venv/bin/pip install -r requirements-dev.txt", file=sys.stderr)
        return 1
    run_dir = ROOT / "bench" / "results" / ("workers-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S"))
    run_dir.mkdir(parents=True, exist_ok=True)
    profiles: dict[str, tuple[Profile, int]] = {}
    with contextlib.ExitStack() as stack:
        sandbox = Sandbox(stack, run_dir, latency_ms=args.latency_ms, page_size=100, extra_teams=0, label="workers")
        servers = {"dashboard": Dashboard(stack, run_dir, sandbox, workers=args.workers, threads=args.threads,
                                          ttl_seconds=3600, label="workers", database_url=args.database_url),
                   "floor": Floor(stack, run_dir, sandbox, workers=args.workers, threads=args.threads)}
        for name, server in servers.items():
            print(f"[{time.strftime('%H:%M:%S')}] {name}: {args.seconds:g} s of invites at concurrency 8 under "
                  "py-spy", file=sys.stderr, flush=True)
            profiles[name] = record(server, sandbox, name, args.seconds, args.rate, run_dir)
    if any(invites == 0 or profile.samples == 0 for profile, invites in profiles.values()):
        print(f"no samples or no invites: see {run_dir}", file=sys.stderr)
        return 1
    per = {name: 1000 / args.rate / invites for name, (_, invites) in profiles.items()}  # ms per sample per invite
    dash, floor = profiles["dashboard"][0], profiles["floor"][0]
    out = [f"Python time per invite in the gunicorn workers (py-spy --gil, {args.rate} samples/s), "
           f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"]
    for name, (profile, invites) in profiles.items():
        out.append(f"   {name:<10} {invites} invites, {profile.samples * per[name]:.2f} ms per invite")

    def side_by_side(counts: str, *, by_difference: bool) -> list[tuple]:
        """(name, dashboard ms, floor ms, difference) per invite for one kind of count, the top rows first."""
        mine = {n: c * per["dashboard"] for n, c in getattr(dash, counts).items()}
        theirs = {n: c * per["floor"] for n, c in getattr(floor, counts).items()}
        rows = [(n, mine.get(n, 0.0), theirs.get(n, 0.0), mine.get(n, 0.0) - theirs.get(n, 0.0))
                for n in mine.keys() | theirs.keys()]
        return sorted(rows, key=lambda row: -row[3 if by_difference else 1])[:args.top]

    both = ("dashboard", "floor", "diff")
    out += table("Own time by package, ms per invite", side_by_side("packages", by_difference=False), both)
    out += table("The dashboard's functions by inclusive time, ms per invite",
                 [(n, c * per["dashboard"]) for n, c in dash.inclusive.most_common(args.top)], ("dashboard",))
    out += table("Functions whose own time differs most from the floor's, ms per invite",
                 side_by_side("own", by_difference=True), both)
    out.append(f"\nRaw stacks (py-spy's collapsed format, one file per worker): {run_dir.relative_to(ROOT)}/")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
