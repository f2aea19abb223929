"""A bulk job survives its worker: kill -9 mid-job and a restart resume it, checking the rows that were in
flight before sending anything else; two workers never send the same row. On SQLite with Huey's SQLite
queue, and on PostgreSQL with Redis (several instances). Every "sent once" is read from the sandbox's own
request log."""

from __future__ import annotations

import threading
import time

from invite.adapters.storage import db
from invite.adapters.unit_of_work import FLASK
from invite.bulk import in_app, jobs
from invite.bulk.models import BulkRow
from invite.services.actions import Actor
from tests.bulk_support import posted_addresses, preview_and_confirm, running_bulk, wait_for
from tests.conftest import app_env, make_app

REDIS_URL = "redis://127.0.0.1:6379/0"


def _queue_env(database_url: str) -> dict[str, str]:
    """SQLite: Huey's SQLite queue in instance/. PostgreSQL: Redis, as several instances would run."""
    return {"REDIS_URL": REDIS_URL} if database_url.startswith("postgresql") else {}


def test_kill_9_mid_job_then_restart_resumes_and_checks_rows_in_flight_first(slow_sandbox, tmp_path, database_url):
    addresses = [f"durable{i:02d}@example.com" for i in range(40)]
    with running_bulk(slow_sandbox, tmp_path, database_url=database_url, BULK_CONCURRENCY="4",
                      **_queue_env(database_url)) as (app, client, workers):
        job_id = preview_and_confirm(client, "\n".join(addresses))

        def a_post_in_flight() -> bool:  # Junction has it and has not answered yet: its row is in doubt
            return any(e["method"] == "POST" and e.get("status") is None for e in slow_sandbox.state.requests_log())

        # Killed mid-job, with an invitation on its way (on a loaded machine "8 rows done" alone could land
        # between two sends, and then nothing is in doubt to check).
        deadline = time.monotonic() + 60
        while (client.get(f"/bulk/{job_id}.json").get_json()["finished"] < 8 or not a_post_in_flight()) \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        workers[0].kill9()
        log_at_kill = len(slow_sandbox.state.requests_log())
        # Restarting the web app touches nothing: the job is the database's.
        make_app(app_env(slow_sandbox, database_url, BULK_QUEUE_NAME=workers[0].env["BULK_QUEUE_NAME"],
                         **_queue_env(database_url))).extensions["upstream"].client.close()
        assert client.get(f"/bulk/{job_id}.json").get_json()["state"] == "running"
        workers[0].start()
        done = wait_for(client, job_id, worker=workers[0], timeout=90)
        with app.app_context():
            in_doubt = [row.email for row in db.session.scalars(
                db.select(BulkRow).where(BulkRow.job_id == job_id, BulkRow.outcome_kind.in_(
                    ("confirmed_pending", "unknown"))))]
    assert done["counts"]["waiting"] == 0
    assert done["counts"]["sent"] + done["counts"]["unknown"] == 40
    posts = posted_addresses(slow_sandbox)
    assert set(posts.values()) == {1}, {a: n for a, n in posts.items() if n > 1}
    assert set(posts) <= set(addresses)
    assert in_doubt, "no row was in flight at the kill"
    after = slow_sandbox.state.requests_log()[log_at_kill:]
    first_post = next(i for i, e in enumerate(after) if e["method"] == "POST")
    checks = [e["query"].get("search_query", [""])[0] for e in after[:first_post] if e["method"] == "GET"]
    # Every row that was in flight was looked up before anything else was sent.
    assert set(in_doubt) <= set(checks), (in_doubt, checks)


def test_two_workers_never_send_the_same_row(slow_sandbox, tmp_path, database_url):
    with running_bulk(slow_sandbox, tmp_path, database_url=database_url, workers=2, BULK_CONCURRENCY="3",
                      **_queue_env(database_url)) as (app, client, workers):
        job_ids = [preview_and_confirm(client, "\n".join(f"pair{j}.{i:02d}@example.com" for i in range(15)))
                   for j in range(3)]
        for job_id in job_ids:
            status = wait_for(client, job_id, timeout=90, worker=workers[0])
            assert status["counts"]["sent"] == 15
        # A job is done in the database a moment before its runner writes "ended" to its log.
        deadline = time.monotonic() + 20
        while (logs := workers[0].log() + workers[1].log()).count("ended (done)") < 3 \
                and time.monotonic() < deadline:
            time.sleep(0.1)
    posts = posted_addresses(slow_sandbox)
    assert len(posts) == 45 and set(posts.values()) == {1}
    # Both processes really ran jobs.
    assert logs.count("ended (done)") >= 3


def test_row_claims_are_atomic_under_contention(sandbox, database_url):
    app = make_app(app_env(sandbox, database_url))
    with app.app_context():
        job = jobs.create_draft(FLASK, [jobs.DraftRow(position=i, email=f"c{i}@example.com", role="no_role", teams=[],
                                               verdict="ready", message=None, sendable=True) for i in range(200)],
                                Actor("dev@localhost"))
        app.extensions["bulk_queue"].wake = lambda job_id: None  # nothing runs it: the claims are the test
        jobs.confirm_job(FLASK, job.token, Actor("dev@localhost"), waker=in_app.waker())
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer() -> None:
        with app.app_context():
            while True:
                got = jobs.claim_rows(FLASK, job.id, 3, "test")
                if not got:
                    return
                assert len(got) <= 3
                with lock:
                    claimed.extend(got)

    threads = [threading.Thread(target=claimer) for _ in range(6)]  # an assert in a thread fails the count below
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    app.extensions["upstream"].client.close()
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 200
