"""Action storage on real SQLite and real PostgreSQL, migrated by Alembic as in production."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from conftest import app_env, make_app
from sqlalchemy import inspect

from invite.storage import DONE, PENDING, Action, claim_action, complete_action, db, get_action

TEAMS = [{"id": "11111111-2222-4333-8444-555555555555", "name": "Cardiology"}]
FIELDS = dict(actor_email="ada@corp.example", actor_role="admin", action="send", target_email="a@example.org",
              role="team_admin", teams=TEAMS, client_addr="10.0.0.7", request_id="req-1")


def test_migrations_create_the_schema(sandbox, database_url):
    app = make_app(app_env(sandbox, database_url))
    with app.app_context():
        inspector = sa.inspect(db.engine)
        columns = {c["name"] for c in inspector.get_columns("actions")}
        assert {"token", "state", "actor_email", "action", "target_email", "teams", "outcome_kind",
                "http_status", "request_id", "client_addr", "created_at", "completed_at"} <= columns
        assert any(u["column_names"] == ["token"] for u in inspector.get_unique_constraints("actions"))


def test_claim_once_then_complete_then_survive_a_restart(sandbox, database_url):
    env = app_env(sandbox, database_url)
    app = make_app(env)
    with app.app_context():
        first = claim_action("tok_abcdefghijklmnop", **FIELDS)
        assert first.is_new and first.action.state == PENDING and first.action.outcome_kind == "unknown"
        again = claim_action("tok_abcdefghijklmnop", **FIELDS)
        assert not again.is_new and again.action.id == first.action.id
        complete_action(first.action, outcome={"kind": "result", "status": "invite_created"},
                        outcome_kind="invite_created", http_status=200)

    restarted = make_app(env)  # a new app, engine and session: only what was committed remains
    with restarted.app_context():
        row = get_action("tok_abcdefghijklmnop")
        assert row.state == DONE and row.outcome_kind == "invite_created" and row.http_status == 200
        assert row.outcome == {"kind": "result", "status": "invite_created"}
        assert row.teams == TEAMS and row.team_ids == [TEAMS[0]["id"]] and row.team_names == ["Cardiology"]
        assert row.actor_email == "ada@corp.example" and row.client_addr == "10.0.0.7"
        assert row.completed_at is not None


def test_a_started_action_that_never_completes_stays_unknown(sandbox, database_url):
    env = app_env(sandbox, database_url)
    with make_app(env).app_context():
        claim_action("tok_crashed_midcall_00", **FIELDS)
    with make_app(env).app_context():
        row = get_action("tok_crashed_midcall_00")
        assert row.state == PENDING and row.outcome_kind == "unknown" and row.completed_at is None


def test_concurrent_claims_of_one_token_let_exactly_one_through(sandbox, database_url):
    app = make_app(app_env(sandbox, database_url))
    winners = []
    barrier = threading.Barrier(6)

    def claim():
        with app.app_context():
            barrier.wait()
            winners.append(claim_action("tok_concurrent_000000", **FIELDS).is_new)
            db.session.remove()

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(winners) == [False] * 5 + [True]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Action)) == 1


def test_fitting_values_cuts_every_sized_text_column_and_leaves_clean_values_untouched():
    """_fitted reads the sized columns once per process (issue 12): it must still cover every one of them."""
    from invite.storage import _SIZED_TEXT_COLUMNS, _fitted

    sized = {c.key: c.type.length for c in Action.__table__.columns
             if isinstance(c.type, sa.String) and c.type.length}
    assert dict(_SIZED_TEXT_COLUMNS) == sized and "target_email" in sized
    clean = {**FIELDS, "teams": TEAMS, "http_status": 200}
    assert _fitted(dict(clean)) == clean
    cut = _fitted({key: "x\x00" + "y" * (length + 5) for key, length in sized.items()})
    for key, length in sized.items():
        value = cut[key]
        assert len(value) == length and value.endswith("…") and "\x00" not in value, key


def test_a_claimed_and_completed_action_is_what_the_database_holds(sandbox, database_url):
    """The audit row is written with plain statements (issue 12): the Action handed back must match the
    stored row column for column, and completing one loaded by another request must not write it twice."""
    app = make_app(app_env(sandbox, database_url))
    long_id = "j" * 300
    with app.app_context():
        row = claim_action("tok_statements_0000", **{**FIELDS, "client_addr": "10.0.0.7\x00"}).action
        state = inspect(row)  # as the ORM's loader leaves a row it read: nothing changed, nothing to write
        assert not state.modified and state.transient and row.id and all(
            not state.attrs[column.key].history.has_changes() for column in Action.__table__.columns)
        complete_action(row, outcome={"kind": "result", "text": "ok\x07"}, outcome_kind="invite_created",
                        http_status=200, junction_request_id=long_id)
        db.session.remove()
        stored = get_action("tok_statements_0000")
        for column in Action.__table__.columns:
            assert getattr(row, column.key) == getattr(stored, column.key), column.key
        assert row.client_addr == "10.0.0.7" and row.outcome["text"] == "ok" and len(row.junction_request_id) == 256
        assert row.channel == "web" and row.bulk_job_id is None and row.completed_at >= row.created_at

        pending = claim_action("tok_statements_0001", **FIELDS).action
        db.session.remove()
        loaded = get_action("tok_statements_0001")  # persistent in this session, as the bulk worker holds it
        complete_action(loaded, outcome={"kind": "result"}, outcome_kind="unknown", commit=False)
        assert not db.session.is_modified(loaded)
        db.session.commit()
        db.session.remove()
        assert get_action("tok_statements_0001").state == DONE and pending.state == PENDING


def test_claiming_refuses_a_field_that_is_not_a_column(sandbox, database_url):
    import pytest

    with make_app(app_env(sandbox, database_url)).app_context(), pytest.raises(TypeError, match="actor_mail"):
        claim_action("tok_not_a_column_00", **{**FIELDS, "actor_mail": "x"})


def test_recent_mailings_and_get_action_from_statements_built_once(sandbox, database_url):
    """Both statements are built once per process with bound parameters (issue 12): each call must still
    read its own arguments, on both databases."""
    from datetime import timedelta

    from invite.activity.queries import recent_mailings
    from invite.storage import utcnow

    app = make_app(app_env(sandbox, database_url))
    with app.app_context():
        for n, (email, kind) in enumerate([("Ann@Example.org", "invite_created"), ("ann@example.org", "unknown"),
                                           ("ann@example.org", "refused"), ("bob@example.org", "invite_resent")]):
            row = claim_action(f"tok_mailings_{n:08d}", **{**FIELDS, "target_email": email}).action
            complete_action(row, outcome={"kind": "result"}, outcome_kind=kind)
        hour_ago = utcnow() - timedelta(hours=1)
        assert len(recent_mailings(" ANN@example.org ", hour_ago)) == 2  # case-insensitive; "refused" did not mail
        assert len(recent_mailings("ann@example.org", hour_ago, except_token="tok_mailings_00000000")) == 1
        assert len(recent_mailings("bob@example.org", hour_ago)) == 1
        assert recent_mailings("ann@example.org", utcnow() + timedelta(minutes=1)) == []
        assert get_action("tok_mailings_00000003").target_email == "bob@example.org"
        assert get_action("tok_mailings_00000001").outcome_kind == "unknown"
        assert get_action("tok_mailings_99999999") is None


def test_the_per_address_send_limit_reads_an_index_not_the_whole_trail(sandbox, database_url):
    """recent_mailings runs on every send and resend; on a trail of years it must not scan every row."""
    from invite.activity.queries import _RECENT_MAILINGS

    app = make_app(app_env(sandbox, database_url))
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            # PostgreSQL's planner picks a scan on a table this small; the index being there is the point.
            names = db.session.scalars(sa.text("SELECT indexname FROM pg_indexes WHERE tablename = 'actions' "
                                               "AND indexdef ILIKE '%lower(%target_email%'")).all()
            assert names == ["ix_actions_target_email_lower"]
            return
        compiled = _RECENT_MAILINGS.compile(db.engine)
        values = compiled.construct_params({"email": "ann@example.org", "since": "2026-01-01", "except_token": ""})
        plan = db.session.connection().exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}", tuple(values[name] for name in compiled.positiontup)).all()
        assert any("ix_actions_target_email_lower" in str(step) for step in plan), plan


def test_a_sends_three_statements_are_each_their_own_transaction_without_begin_on_postgresql(sandbox, database_url):
    """The send limit's read, the write-ahead insert and the completion (issue 12): on PostgreSQL each runs in
    autocommit, so no BEGIN and COMMIT round trips and no transaction left open after it; on SQLite the driver
    opens one around each write, which leaving the block commits (the restart test above reads them back)."""
    from datetime import timedelta

    from psycopg.pq import TransactionStatus

    from invite.activity.queries import recent_mailings
    from invite.storage import utcnow

    app = make_app(app_env(sandbox, database_url))
    seen = []

    def in_transaction_after(conn, cursor, statement, parameters, context, executemany) -> None:
        dbapi = conn.connection.dbapi_connection
        open_ = dbapi.in_transaction if conn.dialect.name == "sqlite" \
            else dbapi.info.transaction_status != TransactionStatus.IDLE
        seen.append((statement.split(None, 1)[0].upper(), open_))

    with app.app_context():
        sa.event.listen(db.engine, "after_cursor_execute", in_transaction_after)
        try:
            recent_mailings("a@example.org", utcnow() - timedelta(days=1))
            row = claim_action("tok_autocommit_00000", **FIELDS).action
            complete_action(row, outcome={"kind": "result"}, outcome_kind="invite_created")
        finally:
            sa.event.remove(db.engine, "after_cursor_execute", in_transaction_after)
        sqlite = db.engine.dialect.name == "sqlite"
    assert [kind for kind, _ in seen] == ["SELECT", "INSERT", "UPDATE"]
    assert [open_ for _, open_ in seen] == ([False, True, True] if sqlite else [False, False, False])
    with make_app(app_env(sandbox, database_url)).app_context():
        assert get_action("tok_autocommit_00000").outcome_kind == "invite_created"
