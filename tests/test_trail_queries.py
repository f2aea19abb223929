"""Reading the trail at size (issue 25): the chart counted by the database, the exports from plain rows in
chunks. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from conftest import app_env, make_app

from invite.activity import queries
from invite.activity.export import ROWS_PER_CHUNK, csv_lines
from invite.adapters.storage import claim_action, complete_action, db
from invite.adapters.unit_of_work import FLASK
from invite.core.vocabulary import group

FIELDS = dict(actor_email="ada@corp.example", action="send", target_email="a@example.org", role="no_role")
# Moments either side of UTC midnights, and a kind of each group.
MOMENTS = [(datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC), "invite_created"),
           (datetime(2026, 3, 2, 0, 0, 0, tzinfo=UTC), "conflict"),
           (datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC), "unknown"),
           (datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=UTC), "held_back"),
           (datetime(2026, 3, 4, 12, 0, tzinfo=UTC), "invite_resent"),
           (datetime(2026, 2, 27, 12, 0, tzinfo=UTC), "revoked")]  # before the window


def _seed(app) -> None:
    with app.app_context():
        for n, (moment, kind) in enumerate(MOMENTS):
            row = claim_action(FLASK, f"tok_trail_day_{n:06d}", **FIELDS).action
            complete_action(FLASK, row, outcome={"kind": "result"}, outcome_kind=kind)
            db.session.execute(sa.update(row.__table__).where(row.__table__.c.id == row.id).values(created_at=moment))
            db.session.commit()


def test_the_chart_counts_per_utc_day_in_the_database(sandbox, database_url):
    app = make_app(app_env(sandbox, database_url))
    _seed(app)
    statements = []
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute",
                        lambda conn, cursor, statement, *rest: statements.append(statement))
        counts = queries.per_day(queries.filtered(), date(2026, 2, 28), date(2026, 3, 4))
    expected = {date(2026, 2, 28) + timedelta(days=i): Counter() for i in range(5)}
    for moment, kind in MOMENTS:
        if moment.date() in expected:
            expected[moment.date()][group(kind)] += 1
    assert counts == expected
    assert any("GROUP BY" in statement.upper() for statement in statements)  # not fetched to count in Python


def test_the_csv_export_reads_plain_rows_and_writes_chunks_of_rows(sandbox, database_url):
    app = make_app(app_env(sandbox, database_url))
    with app.app_context():
        for n in range(ROWS_PER_CHUNK + 3):
            row = claim_action(FLASK, f"tok_trail_csv_{n:06d}", **{**FIELDS, "target_email": f"p{n}@example.org",
                                                           "teams": [{"id": "t1", "name": "=Cardio"}]}).action
            complete_action(FLASK, row, outcome={"kind": "result"}, outcome_kind="invite_created")
        plain = list(queries.each_row(queries.filtered(), batch=7))
        assert len(plain) == ROWS_PER_CHUNK + 3 and not isinstance(plain[0], db.Model)
        assert [r.id for r in plain] == sorted(r.id for r in plain)
        chunks = list(csv_lines(plain))
    assert len(chunks) == 2  # a chunk of ROWS_PER_CHUNK rows with the header, then the rest
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert len(rows) == ROWS_PER_CHUNK + 3 and rows[0]["target_email"] == "p0@example.org"
    assert rows[0]["team_names"] == "'=Cardio" and rows[0]["outcome_words"] == "Invitation sent"


def test_a_search_by_part_of_an_address_can_use_a_trigram_index_on_postgresql(sandbox, database_url):
    """LIKE '%…%' cannot use a btree index; on PostgreSQL the trail has GIN trigram indexes for it (issue 25)."""
    app = make_app(app_env(sandbox, database_url))
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return  # SQLite has no such index: a trail of a million rows belongs on PostgreSQL
        connection = db.session.connection()
        connection.exec_driver_sql(  # enough rows that the planner weighs a scan against the indexes
            "INSERT INTO actions (token, created_at, state, actor_email, action, target_email, teams, outcome_kind, "
            "channel) SELECT 'tok_trgm_' || g, now(), 'done', 'actor' || (g %% 60) || '@corp.example', 'send', "
            "'person.' || g || '@example.org', '[]', 'invite_created', 'web' FROM generate_series(1, 20000) AS g")
        connection.exec_driver_sql("ANALYZE actions")
        connection.exec_driver_sql("SET enable_seqscan = off")  # what matters is that an index can serve it
        for field in ("target", "who"):
            query = queries.filtered(**{field: "son.4242@exam" if field == "target" else "tor7@corp"}
                                     ).with_only_columns(sa.func.count())
            compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
            plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}"))
            assert f"ix_actions_{'target' if field == 'target' else 'actor'}_email_trgm" in plan, plan
