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
            row = claim_action(f"tok_trail_day_{n:06d}", **FIELDS).action
            complete_action(row, outcome={"kind": "result"}, outcome_kind=kind)
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
            row = claim_action(f"tok_trail_csv_{n:06d}", **{**FIELDS, "target_email": f"p{n}@example.org",
                                                           "teams": [{"id": "t1", "name": "=Cardio"}]}).action
            complete_action(row, outcome={"kind": "result"}, outcome_kind="invite_created")
        plain = list(queries.each_row(queries.filtered(), batch=7))
        assert len(plain) == ROWS_PER_CHUNK + 3 and not isinstance(plain[0], db.Model)
        assert [r.id for r in plain] == sorted(r.id for r in plain)
        chunks = list(csv_lines(plain))
    assert len(chunks) == 2  # a chunk of ROWS_PER_CHUNK rows with the header, then the rest
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert len(rows) == ROWS_PER_CHUNK + 3 and rows[0]["target_email"] == "p0@example.org"
    assert rows[0]["team_names"] == "'=Cardio" and rows[0]["outcome_words"] == "Invitation sent"
