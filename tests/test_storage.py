"""Action storage on real SQLite and real PostgreSQL, migrated by Alembic as in production."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from conftest import app_env, make_app
from sqlalchemy import inspect

from invite.adapters.storage import DONE, PENDING, Action, claim_action, complete_action, db, get_action
from invite.adapters.unit_of_work import FLASK

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
        first = claim_action(FLASK, "tok_abcdefghijklmnop", **FIELDS)
        assert first.is_new and first.action.state == PENDING and first.action.outcome_kind == "unknown"
        again = claim_action(FLASK, "tok_abcdefghijklmnop", **FIELDS)
        assert not again.is_new and again.action.id == first.action.id
        complete_action(FLASK, first.action, outcome={"kind": "result", "status": "invite_created"},
                        outcome_kind="invite_created", http_status=200)

    restarted = make_app(env)  # a new app, engine and session: only what was committed remains
    with restarted.app_context():
        row = get_action(FLASK, "tok_abcdefghijklmnop")
        assert row.state == DONE and row.outcome_kind == "invite_created" and row.http_status == 200
        assert row.outcome == {"kind": "result", "status": "invite_created"}
        assert row.teams == TEAMS and row.team_ids == [TEAMS[0]["id"]] and row.team_names == ["Cardiology"]
        assert row.actor_email == "ada@corp.example" and row.client_addr == "10.0.0.7"
        assert row.completed_at is not None


def test_a_started_action_that_never_completes_stays_unknown(sandbox, database_url):
    env = app_env(sandbox, database_url)
    with make_app(env).app_context():
        claim_action(FLASK, "tok_crashed_midcall_00", **FIELDS)
    with make_app(env).app_context():
        row = get_action(FLASK, "tok_crashed_midcall_00")
        assert row.state == PENDING and row.outcome_kind == "unknown" and row.completed_at is None


def test_concurrent_claims_of_one_token_let_exactly_one_through(sandbox, database_url):
    app = make_app(app_env(sandbox, database_url))
    winners = []
    barrier = threading.Barrier(6)

    def claim():
        with app.app_context():
            barrier.wait()
            winners.append(claim_action(FLASK, "tok_concurrent_000000", **FIELDS).is_new)
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
    from invite.adapters.storage import _SIZED_TEXT_COLUMNS, _fitted

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
        row = claim_action(FLASK, "tok_statements_0000", **{**FIELDS, "client_addr": "10.0.0.7\x00"}).action
        state = inspect(row)  # as the ORM's loader leaves a row it read: nothing changed, nothing to write
        assert not state.modified and state.transient and row.id and all(
            not state.attrs[column.key].history.has_changes() for column in Action.__table__.columns)
        complete_action(FLASK, row, outcome={"kind": "result", "text": "ok\x07"}, outcome_kind="invite_created",
                        http_status=200, junction_request_id=long_id)
        db.session.remove()
        stored = get_action(FLASK, "tok_statements_0000")
        for column in Action.__table__.columns:
            assert getattr(row, column.key) == getattr(stored, column.key), column.key
        assert row.client_addr == "10.0.0.7" and row.outcome["text"] == "ok" and len(row.junction_request_id) == 256
        assert row.channel == "web" and row.bulk_job_id is None and row.completed_at >= row.created_at

        pending = claim_action(FLASK, "tok_statements_0001", **FIELDS).action
        db.session.remove()
        loaded = get_action(FLASK, "tok_statements_0001")  # persistent in this session, as the bulk worker holds it
        complete_action(FLASK, loaded, outcome={"kind": "result"}, outcome_kind="unknown", commit=False)
        assert not db.session.is_modified(loaded)
        db.session.commit()
        db.session.remove()
        assert get_action(FLASK, "tok_statements_0001").state == DONE and pending.state == PENDING


def test_claiming_refuses_a_field_that_is_not_a_column(sandbox, database_url):
    import pytest

    with make_app(app_env(sandbox, database_url)).app_context(), pytest.raises(TypeError, match="actor_mail"):
        claim_action(FLASK, "tok_not_a_column_00", **{**FIELDS, "actor_mail": "x"})


def test_a_held_back_claim_sees_only_the_earlier_mailings_of_its_address(sandbox, database_url):
    """claim_action's hold_back is judged on the address's earlier rows that may have mailed (issue 20):
    case-insensitive, the row itself and later rows left out, refusals not counted; the statement is built
    once per process with bound parameters, so each call must still read its own arguments."""

    app = make_app(app_env(sandbox, database_url))
    with app.app_context():
        for n, (email, kind) in enumerate([("Ann@Example.org", "invite_created"), ("ann@example.org", "unknown"),
                                           ("ann@example.org", "refused"), ("bob@example.org", "invite_resent"),
                                           ("ann@example.org", "held_back")]):
            row = claim_action(FLASK, f"tok_mailings_{n:08d}", **{**FIELDS, "target_email": email}).action
            complete_action(FLASK, row, outcome={"kind": "result"}, outcome_kind=kind)
        seen = {}

        def remember(email):
            def hold_back(earlier, now):
                seen[email] = (earlier, now)
                return None
            return hold_back

        claim_action(FLASK, "tok_mailings_ann_new", hold_back=remember("ann"), **{**FIELDS,
                                                                                  "target_email": "ANN@example.org"})
        claim_action(FLASK, "tok_mailings_bob_new", hold_back=remember("bob"), **{**FIELDS,
                                                                                  "target_email": "bob@example.org"})
        claim_action(FLASK, "tok_mailings_cy_new0", hold_back=remember("cy"), **{**FIELDS,
                                                                                 "target_email": "cy@example.org"})
        assert len(seen["ann"][0]) == 2  # the created and the unknown one; not "refused", not "held_back"
        assert len(seen["bob"][0]) == 1 and seen["cy"][0] == []
        assert all(moment <= seen["ann"][1] and moment.tzinfo is not None for moment in seen["ann"][0])
        # ann's new row is still under way ("unknown"): the next claim counts it, as it may mail
        claim_action(FLASK, "tok_mailings_ann_nxt", hold_back=remember("ann"), **{**FIELDS,
                                                                                  "target_email": "ann@example.org"})
        assert len(seen["ann"][0]) == 3
        assert get_action(FLASK, "tok_mailings_00000003").target_email == "bob@example.org"
        assert get_action(FLASK, "tok_mailings_00000001").outcome_kind == "unknown"
        assert get_action(FLASK, "tok_mailings_99999999") is None


def test_a_claim_held_back_is_recorded_complete_with_what_hold_back_said(sandbox, database_url):
    app = make_app(app_env(sandbox, database_url))
    with app.app_context():
        claim = claim_action(FLASK, "tok_held_back_00000", hold_back=lambda earlier, now: {
            "outcome": {"kind": "form", "alert": {"title": "held"}}, "outcome_kind": "held_back"}, **FIELDS)
        assert claim.is_new and claim.action.state == DONE and claim.action.outcome_kind == "held_back"
        db.session.remove()
        stored = get_action(FLASK, "tok_held_back_00000")
        assert stored.state == DONE and stored.outcome == {"kind": "form", "alert": {"title": "held"}}
        assert stored.completed_at is not None


def test_the_per_address_send_limit_reads_an_index_not_the_whole_trail(sandbox, database_url):
    """The send limit's count runs on every send and resend; on a trail of years it must not scan every row."""
    from invite.adapters.storage import _EARLIER_MAILINGS

    app = make_app(app_env(sandbox, database_url))
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            # PostgreSQL's planner picks a scan on a table this small; the index being there is the point.
            names = db.session.scalars(sa.text("SELECT indexname FROM pg_indexes WHERE tablename = 'actions' "
                                               "AND indexdef ILIKE '%lower(%target_email%' "
                                               "AND indexdef NOT ILIKE '%USING gin%'")).all()
            assert names == ["ix_actions_target_email_lower"]
            return
        compiled = _EARLIER_MAILINGS.compile(db.engine)
        values = compiled.construct_params({"email": "ann@example.org", "since": "2026-01-01", "before_id": 10})
        plan = db.session.connection().exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}", tuple(values[name] for name in compiled.positiontup)).all()
        assert any("ix_actions_target_email_lower" in str(step) for step in plan), plan


def test_a_sends_claim_is_one_transaction_and_its_completion_autocommits_on_postgresql(sandbox, database_url):
    """The write-ahead insert and the send limit's count are one transaction, so two channels cannot both slip
    under a limit: on SQLite the driver's, on PostgreSQL one statement in autocommit (the lock on the address,
    the insert, the read: one round trip, issue 25); the completion runs on its own, in autocommit on
    PostgreSQL (issue 12)."""
    from psycopg.pq import TransactionStatus

    app = make_app(app_env(sandbox, database_url))
    seen = []

    def in_transaction_after(conn, cursor, statement, parameters, context, executemany) -> None:
        dbapi = conn.connection.dbapi_connection
        open_ = dbapi.in_transaction if conn.dialect.name == "sqlite" \
            else dbapi.info.transaction_status != TransactionStatus.IDLE
        seen.append((statement.split(None, 1)[0].upper(), open_))

    with app.app_context():
        # On every engine: on PostgreSQL the audit writes have one of their own (storage._autocommit_engine)
        sa.event.listen(sa.engine.Engine, "after_cursor_execute", in_transaction_after)
        try:
            row = claim_action(FLASK, "tok_autocommit_00000", hold_back=lambda earlier, now: None, **FIELDS).action
            complete_action(FLASK, row, outcome={"kind": "result"}, outcome_kind="invite_created")
        finally:
            sa.event.remove(sa.engine.Engine, "after_cursor_execute", in_transaction_after)
        sqlite = db.engine.dialect.name == "sqlite"
    if sqlite:
        assert seen == [("INSERT", True), ("SELECT", True), ("UPDATE", True)]
    else:
        assert seen == [("WITH", False), ("UPDATE", False)]
    with make_app(app_env(sandbox, database_url)).app_context():
        assert get_action(FLASK, "tok_autocommit_00000").outcome_kind == "invite_created"


def test_concurrent_sends_to_one_address_under_a_limit_let_exactly_one_through(sandbox, database_url):
    """Seven claims for one address at once, each judged by a one-per-minute limit: one goes, six are held."""
    from invite.core.send_limits import SendLimits, judge

    app = make_app(app_env(sandbox, database_url))
    limits = SendLimits(min_interval_seconds=60, per_day=5)
    results = []
    barrier = threading.Barrier(7)

    def hold_back(earlier, now):
        held = judge(limits, "a@example.org", earlier, now)
        return None if held is None else {"outcome": {"kind": "form"}, "outcome_kind": "held_back"}

    def claim(n: int) -> None:
        with app.app_context():
            barrier.wait()
            results.append(claim_action(FLASK, f"tok_race_limit_{n:05d}", hold_back=hold_back, **FIELDS).action.state)
            db.session.remove()

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [DONE] * 6 + [PENDING]


def test_the_audit_writes_on_postgresql_need_no_ping_a_dropped_connection_is_replaced(sandbox, database_url):
    """The audit writes' own pool does not ping a connection at checkout (a round trip per statement, issue
    25): a connection PostgreSQL dropped while it sat in the pool fails its statement, which runs once more on
    a fresh one, for a send's claim (under its send limit) and its completion alike."""
    import uuid

    from conftest import POSTGRES_URL, ensure_postgres_database

    if not database_url.startswith("postgresql"):
        return  # SQLite has no server to drop a connection
    name = f"noping_{uuid.uuid4().hex[:8]}"
    app = make_app(app_env(sandbox, f"{database_url}&application_name={name}"))

    def terminate() -> int:
        admin = sa.create_engine(ensure_postgres_database(POSTGRES_URL), poolclass=sa.NullPool)
        with admin.connect() as conn:
            ended = conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                         "WHERE application_name = :n"), {"n": name}).all()
        admin.dispose()
        return len(ended)

    with app.app_context():
        first = claim_action(FLASK, "tok_noping_00000001", hold_back=lambda earlier, now: None, **FIELDS).action
        assert terminate() >= 1
        complete_action(FLASK, first, outcome={"kind": "result"}, outcome_kind="invite_created")
        assert terminate() >= 1
        seen = []
        second = claim_action(FLASK, "tok_noping_00000002", hold_back=lambda earlier, now: seen.append(earlier),
                              **FIELDS)
        assert second.is_new and len(seen[-1]) == 1  # the first send, read on the fresh connection
        db.session.remove()
        assert get_action(FLASK, "tok_noping_00000001").outcome_kind == "invite_created"
