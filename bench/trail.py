"""The audit trail at a big company's size (issue 25): /activity, its chart and its CSV over a million rows.

    .venv/bin/python bench/trail.py --database-url postgresql+psycopg://postgres:postgres@127.0.0.1/invite_bench
    .venv/bin/python bench/trail.py --rows 100000        # a smaller trail, quicker

Seeds a fresh schema of the given PostgreSQL database (migrated as the release command does) with `--rows`
audit rows over two years (60 actors, 289,000 addresses, a quarter of them in bulk jobs), then asks the app
(in process, through Flask's test client, so only the server's time is measured) for:
the first page, page 500 and the last page of /activity; an address search; the chart over a year; the CSV
of the whole trail (its time, size, and the process's peak memory growth). Each page is asked three times;
the median is reported. It is a measurement, not a test: it exits 0 and says which targets were met.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import uuid
from pathlib import Path

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
    args = parser.parse_args(argv)

    url = sa.engine.make_url(args.database_url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}):
            conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    database_url = f"{args.database_url}?options=-csearch_path%3D{schema}"

    from flask_migrate import upgrade

    from invite import create_app

    try:
        with SandboxServer(port=0) as sandbox:
            app = create_app({"INVITE_SANDBOX": "1", "JUNCTION_API_BASE_URL": sandbox.base_url,
                              "JUNCTION_MANAGEMENT_KEY": DEMO_KEY, "JUNCTION_ORG_ID": DEMO_ORG_ID,
                              "SECRET_KEY": "bench-secret-0123456789abcdef", "DATABASE_URL": database_url,
                              "AUTH_MODE": "dev"}, testing=True)
            with app.app_context():
                upgrade()
            started = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(sa.text(f'SET search_path TO "{schema}"'))
                conn.execute(sa.text(SEED), {"rows": args.rows})
                conn.execute(sa.text("ANALYZE actions"))
            seeded_s = time.perf_counter() - started
            client = app.test_client()
            client.get("/activity")  # warm: templates, connections

            last_page = args.rows // 50
            rows = [
                ("/activity, first page", "/activity", "page"),
                ("/activity, page 500", "/activity?page=500", "page"),
                (f"/activity, last page ({last_page})", f"/activity?page={last_page}", "page"),
                ("/activity, an address searched", "/activity?target=person.4242%40example.org", "page"),
                ("/activity, one actor, page 100", "/activity?who=actor7%40corp.example&page=100", "page"),
            ]
            print(f"Audit trail at scale, commit {machine_info().get('commit', '?')}")
            machine = machine_info()
            print(f"Machine     {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}")
            print(f"Trail       {args.rows:,} rows on PostgreSQL (seeded in {seeded_s:.1f} s)\n")
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
            started = time.perf_counter()
            response = client.get("/activity.csv")
            size = sum(len(chunk) for chunk in response.response)
            csv_s = time.perf_counter() - started
            grown = peak_mib() - before
            results.append(("/activity.csv, the whole trail", csv_s * 1000, response.status_code,
                            csv_s <= CSV_TARGET_S,
                            f"{size / 1e6:.0f} MB, +{grown:.0f} MiB peak; <= {CSV_TARGET_S:g} s"))

            print(f"{'what':45} {'p50 ms':>10}  status  target")
            for label, ms, status, ok, target in results:
                print(f"{label:45} {ms:10.1f}  {status:6}  {verdict(ok)} {target}")
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
