"""Benchmark: one bulk job of 1,000 rows through the real worker, against the sandbox with injected latency.

    .venv/bin/python bench/bulk_job.py                 # 1,000 rows, 50 ms, BULK_CONCURRENCY=4
    .venv/bin/python bench/bulk_job.py --rows 200      # a smoke run

The sandbox (`python -m invite.sandbox --latency-ms 50`) and the worker (`python -m invite.bulk.worker`,
as the Procfile runs it) are subprocesses; this script plays the web app: it stores the job as a confirmed
preview would (jobs.create_draft + jobs.confirm_job, which wakes the worker through the queue) and polls the
database. Measured:
- wall time from confirm to done, against the ideal rows × latency / concurrency (target ≤ 1.25 ×);
- the worker's resident memory (VmRSS from /proc) when the job is confirmed and its peak until done
  (target: growth ≤ 20 MB). A 20-row warm-up job runs first, so the figures are of a worker that has
  already sent something, as a long-running one has.
It exits 0 whatever the figures: a measurement, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from harness import ROOT, Child, Sandbox, child_env, cpu_seconds, machine_info

from invite import create_app
from invite.bulk import jobs
from invite.bulk.models import BulkJob
from invite.sandbox.state import DEMO_KEY, DEMO_ORG_ID

WALL_RATIO_TARGET = 1.25
RSS_GROWTH_TARGET_MB = 20.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_job(app, rows: int, tag: str) -> BulkJob:
    with app.app_context():
        draft = [jobs.DraftRow(position=i + 1, email=f"bench.{tag}.{i:05d}@example.com", role="no_role", teams=[],
                               verdict="ready", message=None, sendable=True) for i in range(rows)]
        return jobs.create_draft(draft, jobs.Who("bench@localhost", "admin"), source=f"bench {tag}")


def run_job(app, job: BulkJob, worker_pid: int) -> dict:
    """Confirm (which wakes the worker) and wait for done: wall time and the worker's RSS."""
    with app.app_context():
        rss_start = rss_mb(worker_pid)
        cpu_start = cpu_seconds(worker_pid)
        started = time.perf_counter()
        jobs.confirm_job(job.token, jobs.Who("bench@localhost", "admin"))
        peak = rss_start
        while True:
            peak = max(peak, rss_mb(worker_pid))
            status = jobs.job_status(job.id)
            if status.job.state != "running":
                break
            time.sleep(0.05)
        wall = time.perf_counter() - started
        cpu_ms_per_row = (cpu_seconds(worker_pid) - cpu_start) * 1000 / max(1, status.finished)
        return {"state": status.job.state, "wall_s": wall, "worker_cpu_ms_per_row": cpu_ms_per_row,
                "counts": status.counts, "rss_start_mb": rss_start, "rss_peak_mb": peak,
                "rss_end_mb": rss_mb(worker_pid)}


def run_direct(sandbox: Sandbox, rows: int, concurrency: int) -> float:
    """The same number of POSTs straight to the sandbox from `concurrency` threads: the floor on this machine."""
    numbers = iter(range(rows))
    lock = threading.Lock()

    def sender() -> None:
        with requests.Session() as session:
            session.headers["X-Management-Key"] = DEMO_KEY
            while True:
                with lock:
                    i = next(numbers, None)
                if i is None:
                    return
                session.post(sandbox.invite_url, json={"email": f"bench.direct.{i:05d}@example.com",
                                                       "role": "no_role"}, timeout=10).raise_for_status()

    started = time.perf_counter()
    threads = [threading.Thread(target=sender) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    run_dir = ROOT / "bench" / "results" / f"bulk-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as scratch:
        sandbox = Sandbox(stack, run_dir, latency_ms=args.latency_ms, page_size=100, extra_teams=0, label="bulk")
        queue = f"bench-bulk-{int(time.time())}"
        settings = {"INVITE_SANDBOX": "1", "JUNCTION_API_BASE_URL": sandbox.url, "JUNCTION_MANAGEMENT_KEY": DEMO_KEY,
                    "JUNCTION_ORG_ID": DEMO_ORG_ID, "SECRET_KEY": "bench-secret-key-0123456789",
                    "DATABASE_URL": f"sqlite:///{Path(scratch) / 'bench.db'}", "BULK_QUEUE_NAME": queue,
                    "BULK_CONCURRENCY": str(args.concurrency)}
        app = create_app(settings, testing=True)
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
        stack.callback(lambda: [p.unlink() for p in (ROOT / "instance").glob(f"{queue}.huey.db*")])
        worker = Child("worker", [sys.executable, "-m", "invite.bulk.worker"], child_env(**settings),
                       run_dir / "worker.log")
        stack.callback(worker.stop)
        print("warming up the worker with 20 rows…", file=sys.stderr)
        warm = run_job(app, make_job(app, 20, "warm"), worker.proc.pid)
        print(f"sending {args.rows} rows at {args.latency_ms:g} ms, concurrency {args.concurrency}…", file=sys.stderr)
        result = run_job(app, make_job(app, args.rows, "main"), worker.proc.pid)
        posts = sum(1 for e in sandbox.log() if e["method"] == "POST")
        print(f"the same {args.rows} POSTs straight to the sandbox…", file=sys.stderr)
        direct = run_direct(sandbox, args.rows, args.concurrency)
        app.extensions["upstream"].client.close()

    ideal = args.rows * args.latency_ms / 1000 / args.concurrency
    ratio = result["wall_s"] / ideal if ideal else float("inf")
    growth = result["rss_peak_mb"] - result["rss_start_mb"]
    figures = {"machine": machine_info(), "rows": args.rows, "latency_ms": args.latency_ms,
               "concurrency": args.concurrency, "ideal_s": ideal, "ratio": ratio, "rss_growth_mb": growth,
               "invite_posts": posts, "direct_s": direct, "warm_up": warm, **result,
               "load_average": os.getloadavg()}
    machine = figures["machine"]
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram_gib']} GiB, {machine['os']}, "
          f"Python {machine['python']}, commit {machine['commit']}")
    print(f"job: {result['state']}, {result['counts']['sent']} sent, {posts - warm['counts']['sent']} POSTs")
    print(f"wall time confirm -> done: {result['wall_s']:.2f} s vs ideal {ideal:.2f} s = {ratio:.3f} x "
          f"(target <= {WALL_RATIO_TARGET} x: {'met' if ratio <= WALL_RATIO_TARGET else 'MISSED'})")
    print(f"the same POSTs straight to the sandbox from {args.concurrency} threads: {direct:.2f} s "
          f"({direct / ideal:.3f} x ideal); the job took {result['wall_s'] / direct:.3f} x that")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"worker CPU per row: {result['worker_cpu_ms_per_row']:.1f} ms")
    print(f"worker RSS: {result['rss_start_mb']:.1f} MB at confirm, peak {result['rss_peak_mb']:.1f} MB, "
          f"end {result['rss_end_mb']:.1f} MB: growth {growth:.1f} MB "
          f"(target <= {RSS_GROWTH_TARGET_MB:g} MB: {'met' if growth <= RSS_GROWTH_TARGET_MB else 'MISSED'})")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
