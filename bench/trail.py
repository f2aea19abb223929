"""The audit trail at a big company's size (issue 25): /activity, its chart and its CSV over a million rows.

    .venv/bin/python bench/trail.py --database-url postgresql+psycopg://postgres:postgres@127.0.0.1/invite_bench
    .venv/bin/python bench/trail.py --rows 100000        # a smaller trail, quicker
    .venv/bin/python bench/trail.py --schema trail_1m    # seed once into a kept schema, reuse it next time

Seeds a fresh schema of the given PostgreSQL database (migrated as the release command does) with `--rows`
audit rows over two years (60 actors, 289,000 addresses, a quarter of them in bulk jobs), then asks the app
(in process, through Flask's test client, so only the server's time is measured) for:
the first page, page 500 and the last page of /activity; an address search; the chart over a year; the CSV
of the whole trail (its time, size, and the process's peak memory growth). Each page is asked three times
and the CSV `--csv-rounds` times; the median is reported. It is a measurement, not a test: it exits 0 and
says which targets were met.

Deep pages are asked for as the app's own links ask for them: by cursor (`before=<created_at>,<id>` of the
last row of the page above, `oldest=1` for the last page) where the app pages by cursor, else by `page=N`
(run against an older checkout, the same script measures the code before the change).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from harness import machine_info, verdict  # noqa: E402

from invite.sandbox import DEMO_KEY, DEMO_ORG_ID, SandboxServer  # noqa: E402

SEED = """
INSERT INTO actions (token, created_at, completed_at, state, actor_email, actor_role, action, target_email,
                     role, teams, outcome_kind, http_status, outcome, request_id, own_request_id, channel,
                     bulk_job_id)
SELECT 'seed-' || g,
       now() - (g * (interval '2 years' / :rows)),
       now() - (g * (interval '2 years' / :rows)) + interval '80 milliseconds',
       'done',
       'actor' || (g % 60) || '@corp.example', 'admin',
       (ARRAY['send', 'resend', 'revoke'])[1 + g % 3],
       'person.' || (g % 289000) || '@example.org',
       'no_role', '[]'::json,
       (ARRAY['invite_created', 'invite_resent', 'already_in_org', 'unknown', 'conflict'])[1 + g % 5],
       200, '{"kind": "result"}'::json, 'req-' || g, 'own-' || g, 'web',
       CASE WHEN g % 4 = 0 THEN 1 + g / 300 END
FROM generate_series(1, :rows) AS g
"""

TARGETS_MS = {"page": 150.0, "chart": 300.0}
CSV_TARGET_S = 30.0
CHART_MEMORY_MIB = 20.0


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(client, path: str, rounds: int = 3) -> tuple[float, int]:
    times, status = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(path)
        response.get_data()
        times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    return statistics.median(times), status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres:postgres@127.0.0.1:5432/invite_bench")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--schema", help="seed into this schema and keep it; a later run with the same --schema "
                                         "and --rows reuses it instead of seeding again")
    parser.add_argument("--csv-rounds", type=int, default=3)
    args = parser.parse_args(argv)

    url = sa.engine.make_url(args.database_url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}):
            conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    schema = args.schema or f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        seeded = conn.scalar(sa.text("SELECT count(*) FROM information_schema.tables WHERE table_schema = :s "
                                     "AND table_name = 'actions'"), {"s": schema})
        if seeded:
            seeded = conn.scalar(sa.text(f'SELECT count(*) FROM "{schema}".actions'))  # noqa: S608 - our own name
    reuse = args.schema is not None and seeded == args.rows
    database_url = f"{args.database_url}?options=-csearch_path%3D{schema}"

    from alembic.util.exc import CommandError
    from flask_migrate import upgrade

    from invite import create_app
    from invite.activity import queries
    from invite.adapters.storage import Action, db

    by_cursor = hasattr(queries, "Cursor")
    try:
        with SandboxServer(port=0) as sandbox:
            app = create_app({"INVITE_SANDBOX": "1", "JUNCTION_API_BASE_URL": sandbox.base_url,
                              "JUNCTION_MANAGEMENT_KEY": DEMO_KEY, "JUNCTION_ORG_ID": DEMO_ORG_ID,
                              "SECRET_KEY": "bench-secret-0123456789abcdef", "DATABASE_URL": database_url,
                              "AUTH_MODE": "dev"}, testing=True)
            with app.app_context():
                try:
                    upgrade()
                except CommandError as exc:  # a kept schema migrated by newer code, measured with older code
                    print(f"(not migrated: {exc})", file=sys.stderr)
            started = time.perf_counter()
            if not reuse:
                with engine.begin() as conn:
                    conn.execute(sa.text(f'SET search_path TO "{schema}"'))
                    conn.execute(sa.text("TRUNCATE actions"))
                    conn.execute(sa.text(SEED), {"rows": args.rows})
                    conn.execute(sa.text("ANALYZE actions"))
            seeded_s = time.perf_counter() - started
            client = app.test_client()
            client.get("/activity")  # warm: templates, connections

            def deep(number: int, **filters: str) -> str:
                """The address of page `number` as the app's links reach it."""
                query = "".join(f"&{name}={quote(value)}" for name, value in filters.items())
                if not by_cursor:
                    return f"/activity?page={number}{query}"
                with app.app_context():  # the last row of the page above: what its Older link carries
                    above = db.session.execute(
                        queries.filtered(**filters).with_only_columns(Action.created_at, Action.id)
                        .order_by(Action.created_at.desc(), Action.id.desc())
                        .offset((number - 1) * queries.PAGE_SIZE - 1).limit(1)).one()
                return f"/activity?before={quote(str(queries.Cursor(above.created_at, above.id)))}{query}"

            last_page = -(-args.rows // 50)
            rows = [
                ("/activity, first page", "/activity", "page"),
                ("/activity, page 500", deep(500), "page"),
                (f"/activity, last page ({last_page:,})",
                 "/activity?oldest=1" if by_cursor else f"/activity?page={last_page}", "page"),
                (f"/activity, last page by Older ({last_page:,})", deep(last_page), "page"),
                ("/activity, an address searched", "/activity?target=person.4242%40example.org", "page"),
                ("/activity, one actor, page 100", deep(100, who="actor7@corp.example"), "page"),
            ]
            if by_cursor:  # the way back from the end: newer than a row near the oldest
                with app.app_context():
                    near_end = db.session.execute(
                        queries.filtered().with_only_columns(Action.created_at, Action.id)
                        .order_by(Action.created_at.asc(), Action.id.asc()).offset(60).limit(1)).one()
                rows.append(("/activity, Newer from the last page",
                             f"/activity?after={quote(str(queries.Cursor(near_end.created_at, near_end.id)))}",
                             "page"))
            machine = machine_info()
            print(f"Audit trail at scale, commit {machine.get('commit', '?')}")
            print(f"Machine     {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
                  f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
            print(f"Trail       {args.rows:,} rows on PostgreSQL "
                  f"({'reused schema ' + schema if reuse else f'seeded in {seeded_s:.1f} s'})\n")
            results = []
            for label, path, kind in rows:
                ms, status = timed(client, path)
                results.append((label, ms, status, ms <= TARGETS_MS[kind], f"<= {TARGETS_MS[kind]:g} ms"))

            before = peak_mib()
            today = time.strftime("%Y-%m-%d", time.gmtime())
            year_ago = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 365 * 86400))
            ms, status = timed(client, f"/activity?date_from={year_ago}&date_to={today}")
            grown = peak_mib() - before
            results.append(("/activity, chart over a year", ms, status, ms <= TARGETS_MS["chart"] and
                            grown <= CHART_MEMORY_MIB, f"<= {TARGETS_MS['chart']:g} ms, +{grown:.0f} MiB "
                                                       f"(<= {CHART_MEMORY_MIB:g})"))

            before = peak_mib()
            csv_times, size, status = [], 0, 0
            for _ in range(args.csv_rounds):
                started = time.perf_counter()
                response = client.get("/activity.csv")
                size = sum(len(chunk) for chunk in response.response)
                csv_times.append(time.perf_counter() - started)
                status = response.status_code
            csv_s = statistics.median(csv_times)
            grown = peak_mib() - before
            results.append(("/activity.csv, the whole trail", csv_s * 1000, status, csv_s <= CSV_TARGET_S,
                            f"{size / 1e6:.0f} MB, +{grown:.0f} MiB peak; <= {CSV_TARGET_S:g} s; rounds "
                            + ", ".join(f"{t:.1f}" for t in csv_times) + " s"))

            print(f"{'what':45} {'p50 ms':>10}  status  target")
            for label, ms, status, ok, target in results:
                print(f"{label:45} {ms:10.1f}  {status:6}  {verdict(ok)} {target}")
    finally:
        if args.schema is None:
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
