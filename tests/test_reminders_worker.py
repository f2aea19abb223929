"""The reminders in a real worker process (`python -m invite.bulk.worker`) with a check every minute: a seeded
old invitation is reminded exactly once on SQLite (Huey's SQLite queue), across a restart; and on PostgreSQL
with Redis, with two workers and one killed with -9 mid-check and started again. Every "once" is read from the
sandbox's own request log."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from invite.adapters.storage import Action, db
from tests.bulk_support import posted_addresses, running_bulk
from tests.conftest import POSTGRES_URL, ensure_postgres_database

REDIS_URL = "redis://127.0.0.1:6379/0"
REMINDERS = {"INVITE_REMIND_AFTER": "3d", "INVITE_REMIND_HOURS": "00-24", "INVITE_REMIND_DAYS": "mon-sun",
             "INVITE_REMINDERS_CHECK_EVERY": "1m"}


def _wait(condition, timeout: float, what: str, workers=()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} after {timeout} s\n" + "\n".join(w.log()[-3000:] for w in workers))


def _under_way(app) -> list[str]:
    with app.app_context():
        found = list(db.session.scalars(db.select(Action.target_email).where(Action.channel == "reminder",
                                                                             Action.state == "pending")))
        db.session.commit()
    return found


def _checks(worker) -> int:
    return worker.log().count("reminders check:")


def test_a_worker_reminds_a_seeded_old_invitation_exactly_once_on_sqlite(sandbox, tmp_path):
    sandbox.state.seed_invite("forgot@example.org", datetime.now(UTC) - timedelta(days=4))
    with running_bulk(sandbox, tmp_path, **REMINDERS) as (app, client, workers):
        _wait(lambda: posted_addresses(sandbox)["forgot@example.org"] == 1 and _checks(workers[0]) >= 1, 30,
              "no reminder was sent", workers)
        workers[0].stop()
        workers[0].start()  # a restarted consumer checks at once
        _wait(lambda: _checks(workers[0]) >= 2, 30, "the restarted worker did not check", workers)
        with app.app_context():
            rows = list(db.session.scalars(db.select(Action).where(Action.channel == "reminder")))
    assert posted_addresses(sandbox) == {"forgot@example.org": 1}
    assert [(r.target_email, r.outcome_kind, r.actor_email) for r in rows] == [
        ("forgot@example.org", "invite_resent", "reminders")]


def test_two_workers_and_a_kill_9_remind_each_invitation_once_on_postgresql_and_redis(slow_sandbox, tmp_path):
    url = ensure_postgres_database(POSTGRES_URL)
    import uuid

    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    addresses = [f"nudge{i:02d}@example.org" for i in range(16)]
    for address in addresses:
        slow_sandbox.state.seed_invite(address, datetime.now(UTC) - timedelta(days=5))
    try:
        with running_bulk(slow_sandbox, tmp_path, database_url=f"{url}?options=-csearch_path%3D{schema}", workers=2,
                          REDIS_URL=REDIS_URL, **REMINDERS) as (app, client, workers):
            in_flight: list[str] = []
            for _ in range(3):  # a reminder may complete between the look and the kill: then once more
                _wait(lambda: _under_way(app), 40, "no reminder went out", workers)
                for worker in workers:  # mid-call: a reminder is under way
                    worker.kill9()
                in_flight = _under_way(app)
                for worker in workers:
                    worker.start()
                if in_flight:
                    break
            assert in_flight, "no reminder was under way at a kill"

            def settled() -> bool:
                with app.app_context():
                    rows = list(db.session.scalars(db.select(Action).where(Action.channel == "reminder")))
                    db.session.commit()
                return ({r.target_email for r in rows} == set(addresses) and all(r.state == "done" for r in rows))

            _wait(settled, 120, "not every invitation was reminded and settled", workers)
            checks_then = _checks(workers[0]) + _checks(workers[1])
            _wait(lambda: _checks(workers[0]) + _checks(workers[1]) >= checks_then + 1, 70, "no further check",
                  workers)
            with app.app_context():
                rows = list(db.session.scalars(db.select(Action).where(Action.channel == "reminder")))
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
    posts = posted_addresses(slow_sandbox)
    assert set(posts) <= set(addresses) and set(posts.values()) == {1}, posts
    # One reminder row per invitation; a row the kill left under way was settled, never posted again.
    assert sorted(r.target_email for r in rows) == addresses, [(r.target_email, r.outcome_kind) for r in rows]
    assert all(r.outcome_kind in ("invite_resent", "confirmed_pending", "unknown") for r in rows)
    settled = {r.target_email for r in rows if r.outcome_kind in ("confirmed_pending", "unknown")}
    assert set(in_flight) <= settled, (in_flight, settled)
