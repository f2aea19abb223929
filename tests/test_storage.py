"""Submission storage on real SQLite and real PostgreSQL, migrated by Alembic as in production."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from conftest import app_env, make_app

from invite.storage import DONE, SENDING, Submission, claim_submission, complete_submission, db, get_submission

TEAMS = [{"id": "11111111-2222-4333-8444-555555555555", "name": "Cardiology"}]


def test_migrations_create_the_schema(sandbox, database_url):
    app = make_app(app_env(sandbox, database_url))
    with app.app_context():
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("invite_submissions")}
    assert {"token", "state", "email", "role", "teams", "outcome", "created_at", "completed_at"} <= columns


def test_claim_once_then_complete_then_survive_a_restart(sandbox, database_url):
    env = app_env(sandbox, database_url)
    app = make_app(env)
    with app.app_context():
        first = claim_submission("tok_abcdefghijklmnop", email="a@example.org", role="team_admin", teams=TEAMS)
        assert first.is_new and first.submission.state == SENDING
        again = claim_submission("tok_abcdefghijklmnop", email="a@example.org", role="team_admin", teams=TEAMS)
        assert not again.is_new and again.submission.state == SENDING
        complete_submission(first.submission, {"kind": "result", "status": "invite_created"})

    restarted = make_app(env)  # a new app, engine and session: only what was committed remains
    with restarted.app_context():
        row = get_submission("tok_abcdefghijklmnop")
        assert row.state == DONE
        assert row.outcome == {"kind": "result", "status": "invite_created"}
        assert row.teams == TEAMS and row.team_ids == [TEAMS[0]["id"]]
        assert row.completed_at is not None


def test_concurrent_claims_of_one_token_let_exactly_one_through(sandbox, database_url):
    app = make_app(app_env(sandbox, database_url))
    winners = []
    barrier = threading.Barrier(6)

    def claim():
        with app.app_context():
            barrier.wait()
            result = claim_submission("tok_concurrent_000000", email="c@example.org", role="no_role", teams=[])
            winners.append(result.is_new)
            db.session.remove()

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(winners) == [False] * 5 + [True]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 1
