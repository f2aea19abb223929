"""The audit trail page: filters, paging, CSV export safe for spreadsheets, the server-drawn chart."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import app_env, form_tokens, make_app

from invite.activity.export import safe_cell
from invite.adapters.storage import Action, claim_action, complete_action, db
from invite.adapters.unit_of_work import FLASK

NOW = datetime.now(UTC)


@pytest.fixture
def app(sandbox, database_url):
    """The trail's queries (LIKE escapes, time zones, day buckets) run on SQLite and on PostgreSQL."""
    return make_app(app_env(sandbox, database_url))


def record(app, token, *, actor="ada@corp.example", action="send", target="x@example.org", kind="invite_created",
           when=None, teams=(), role="no_role"):
    with app.app_context():
        claim = claim_action(FLASK, token, actor_email=actor, actor_role="admin", action=action, target_email=target,
                             role=role, teams=list(teams), client_addr="10.1.2.3", request_id=f"req-{token}")
        complete_action(FLASK, claim.action, outcome={"kind": "result"}, outcome_kind=kind, http_status=200)
        if when is not None:  # backdated in the table (the Action handed back is not tracked by the ORM)
            db.session.execute(sa.update(Action).where(Action.id == claim.action.id).values(created_at=when))
            db.session.commit()


@pytest.fixture
def seeded(app):
    record(app, "tok_a_000000000000000", actor="ada@corp.example", target="first@example.org")
    record(app, "tok_b_000000000000000", actor="bob@corp.example", action="resend", target="second@example.org",
           kind="invite_resent")
    record(app, "tok_c_000000000000000", actor="bob@corp.example", action="revoke", target="third@example.org",
           kind="conflict", when=NOW - timedelta(days=3))
    record(app, "tok_d_000000000000000", actor="cy@corp.example", target="fourth@example.org", kind="unknown",
           when=NOW - timedelta(days=40))
    return app


def rows_shown(client, query=""):
    text = client.get(f"/activity{query}").get_data(as_text=True)
    return {email for email in ("first@example.org", "second@example.org", "third@example.org",
                                "fourth@example.org") if email in text}


def test_a_send_through_the_form_appears_with_who_and_outcome(client, sandbox):
    page = client.get("/").get_data(as_text=True)
    client.post("/", data={**form_tokens(page), "email": "trail@example.org", "role": "org_admin"})
    text = client.get("/activity").get_data(as_text=True)
    assert "trail@example.org" in text and "Invitation sent" in text and "HTTP 200" in text


@pytest.mark.parametrize("query, expected", [
    ("", {"first@example.org", "second@example.org", "third@example.org", "fourth@example.org"}),
    ("?who=BOB", {"second@example.org", "third@example.org"}),
    ("?target=third", {"third@example.org"}),
    ("?action=resend", {"second@example.org"}),
    ("?outcome=failed", {"third@example.org"}),
    ("?outcome=unknown", {"fourth@example.org"}),
    ("?outcome=invite_created", {"first@example.org"}),
    (f"?date_from={(NOW - timedelta(days=5)).date()}&date_to={(NOW - timedelta(days=1)).date()}",
     {"third@example.org"}),
    ("?who=%25", set()),  # a literal %, not a wildcard
])
def test_filters(seeded, client, query, expected):
    assert rows_shown(client, query) == expected


def test_invalid_dates_say_so_and_apply_no_filter(seeded, client):
    response = client.get("/activity?date_from=2026-05-02&date_to=2026-05-01")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "must be on or after" in text and 'aria-invalid="true"' in text


def test_an_empty_trail_says_nothing_was_done_yet_and_an_empty_filter_says_no_match(app, client):
    assert "Nothing has been sent, resent or revoked through this dashboard yet." in client.get(
        "/activity").get_data(as_text=True)
    record(app, "tok_only_000000000000", target="only@example.org")
    unfiltered = client.get("/activity").get_data(as_text=True)
    assert "only@example.org" in unfiltered and "yet." not in unfiltered
    filtered = client.get("/activity?target=nobody").get_data(as_text=True)
    assert "No activity matches these filters." in filtered and "yet." not in filtered


def test_paging_newest_first(app, client):
    for i in range(55):
        record(app, f"tok_page_{i:013d}", target=f"p{i:02d}@example.org", when=NOW - timedelta(minutes=i))
    first = client.get("/activity").get_data(as_text=True)
    assert "p00@example.org" in first and "p49@example.org" in first and "p50@example.org" not in first
    assert 'rel="next"' in first
    second = client.get("/activity?page=2").get_data(as_text=True)
    assert "p50@example.org" in second and "p54@example.org" in second and 'rel="next"' not in second


def test_csv_export_has_every_matching_row_and_neutralises_formulas(app, client):
    record(app, "tok_evil_00000000000", actor="@admin", target="=HYPERLINK(\"http://x\")@example.org",
           teams=[{"id": "t1", "name": "+SUM(A1)"}, {"id": "t2", "name": "-1"}], role="=cmd")
    record(app, "tok_plain_0000000000", target="plain@example.org", action="resend", kind="invite_resent")
    response = client.get("/activity.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 2
    evil = next(r for r in rows if "HYPERLINK" in r["target_email"])
    assert evil["who"] == "'@admin"
    assert evil["target_email"].startswith("'=")
    assert evil["role"] == "'=cmd"
    assert evil["team_names"] == "'+SUM(A1); -1"
    assert evil["client_address"] == "10.1.2.3" and evil["outcome"] == "invite_created"
    filtered = list(csv.DictReader(io.StringIO(client.get("/activity.csv?action=resend").get_data(as_text=True))))
    assert [r["target_email"] for r in filtered] == ["plain@example.org"]


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"), ("a=b", "a=b"), (None, ""),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_chart_is_inline_svg_with_a_bar_per_active_day_and_a_text_alternative(seeded, client):
    text = client.get("/activity").get_data(as_text=True)
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in text and 'role="img"' in text
    today = NOW.date().isoformat()
    assert f"<title>{today}: 2 succeeded</title>" in text  # ada's send and bob's resend
    assert f"<title>{(NOW - timedelta(days=3)).date().isoformat()}: 1 failed</title>" in text
    assert "<script" not in text.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert "The chart&#39;s numbers" in text or "The chart's numbers" in text


def test_records_are_not_changed_by_viewing(seeded, client):
    client.get("/activity")
    client.get("/activity.csv")
    with seeded.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Action)) == 4


# Cells that test every rule of safe_cell and every way a row's values are written: formulas behind any of
# the spaces str.lstrip() strips, empty text, no teams or a JSON null, moments with and without microseconds.
TRICKY = ["=1+1", " =x", "\u00a0@x", "\u2003-1", "\tx", "-", "a=b", "o'brien@example.org", "zoë@example.org", "",
          "+", "@", " plain", "1; 2"]


def test_postgresqls_own_csv_has_the_cells_python_writes(app):
    """On PostgreSQL the CSV is written by COPY (issue 25): each cell must be what csv_lines writes, for every
    outcome kind and action (the words come from the vocabulary), every formula rule and every odd value."""
    from invite.activity import queries
    from invite.activity.export import csv_lines
    from invite.activity.postgres_csv import copied_csv
    from invite.adapters.storage import ACTIONS
    from invite.core.vocabulary import OUTCOMES

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return  # SQLite's CSV is csv_lines itself
        rows = []
        kinds = [*OUTCOMES, "a_kind_from_a_newer_version"]
        for n, (kind, action) in enumerate((k, a) for k in kinds for a in (*ACTIONS, "other")):
            odd = TRICKY[n % len(TRICKY)]
            rows.append({
                "token": f"tok_copy_{n:06d}", "state": "done", "action": action, "outcome_kind": kind,
                "created_at": NOW.replace(microsecond=0 if n % 2 else 123456) - timedelta(minutes=n),
                "actor_email": odd or "ada@corp.example", "actor_role": odd, "target_email": f"{odd}t{n}@example.org",
                "role": odd if n % 3 else None, "channel": "web",
                "teams": None if n % 7 == 0 else [] if n % 7 == 1 else [
                    {"id": f"{odd}id{n}", "name": odd}, {"id": "t2", "name": "=Cardio; Heart"}],
                "http_status": None if n % 4 else 200, "request_id": odd or None, "junction_request_id": odd,
                "client_addr": odd, "invite_id": odd, "os_user": odd, "host": odd, "own_request_id": odd})
        db.session.execute(sa.insert(Action), rows)
        db.session.commit()
        query = queries.filtered()
        from_python = "".join(csv_lines(queries.each_row(query)))
        from_postgresql = b"".join(copied_csv(query)).decode()
        filtered = b"".join(copied_csv(queries.filtered(action="revoke", outcome="failed"))).decode()
    expected = list(csv.reader(io.StringIO(from_python)))
    assert len(expected) == len(rows) + 1
    assert list(csv.reader(io.StringIO(from_postgresql))) == expected
    words = expected[0].index("outcome_words")
    revokes = [row for row in expected[1:] if row[3] == "revoke" and row[words].startswith("Not revoked")]
    assert revokes and list(csv.reader(io.StringIO(filtered)))[1:] == revokes


def test_a_reader_leaving_postgresqls_csv_midway_leaves_no_connection_stuck(app, monkeypatch):
    from invite.activity import postgres_csv, queries

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return
        for n in range(5):
            record(app, f"tok_leave_{n:011d}", target=f"leave{n}@example.org")
        monkeypatch.setattr(postgres_csv, "COPY_CHUNK_BYTES", 1)  # a chunk per line
        for _ in range(db.engine.pool.size() + 2):  # more than the pool holds: none may be lost
            lines = postgres_csv.copied_csv(queries.filtered())
            assert next(lines).startswith(b"when_utc,")
            lines.close()
        assert len(b"".join(postgres_csv.copied_csv(queries.filtered())).splitlines()) == 6
