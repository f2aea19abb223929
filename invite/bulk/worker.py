"""The bulk worker: `python -m invite.bulk.worker` (the Procfile's worker: line).

Builds the app (the same configuration checks as the web process), wakes every running job, then runs
Huey's consumer. Killed at any moment, it is simply started again: the jobs resume by themselves.
"""

from __future__ import annotations

import argparse
import sys

from invite.config import ConfigError, load_settings

# Two jobs at once per worker process; each sends BULK_CONCURRENCY rows at a time.
JOBS_PER_WORKER = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m invite.bulk.worker", description=__doc__)
    parser.add_argument("--jobs", type=int, default=JOBS_PER_WORKER, help="jobs run at once by this process")
    parser.add_argument("--refresh-org-snapshot", action="store_true",
                        help="take the copy of the org's members and invitations once, as the periodic task does, "
                             "and exit (0 when refreshed)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    if settings.embedded_sandbox:
        print("JUNCTION_API_BASE_URL is required for the worker in sandbox mode: the web process's built-in "
              "sandbox is another process's (run `python -m invite.sandbox` and point both at it).", file=sys.stderr)
        return 2

    from invite import create_app
    from invite.adapters.storage import db
    from invite.bulk.sqlite_writes import serialize_sqlite_writes

    app = create_app(settings=settings)
    with app.app_context():
        serialize_sqlite_writes(db.engine)
    queue = app.extensions["bulk_queue"]
    if args.refresh_org_snapshot:
        outcome = queue.refresh_org_snapshot(fresh_for=0)
        print(f"The org's copy of members and invitations: {outcome}.")
        return 0 if outcome == "refreshed" else 1
    queue.sweep()
    queue.refresh_org_snapshot_soon()
    # On SQLite the consumer polls (Redis blocks on the list): a short maximum delay starts a confirmed job
    # within a quarter of a second, for one cheap query four times a second while idle.
    consumer = queue.huey.create_consumer(workers=max(1, args.jobs), worker_type="thread", periodic=True,
                                          initial_delay=0.05, max_delay=0.25, check_worker_health=True)
    consumer.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
