"""Bad input at the edges (issue 20): ids out of range, text the database refuses or a page would be fooled
by, sizes, on SQLite and PostgreSQL through the real app."""

from __future__ import annotations

import csv
import io
import re

import pytest
from bulk_support import queue_name, remove_queue_files
from conftest import app_env, make_app
from werkzeug.routing import IntegerConverter

from invite.bulk.models import BulkJob

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]*)"')
# Past SQLite's 64-bit integers, and past PostgreSQL's integer keys (int4).
HUGE_IDS = ("99999999999999999999", "9223372036854775808", "2147483648")


@pytest.fixture
def edges_app(sandbox, database_url):
    name = queue_name()
    app = make_app(app_env(sandbox, database_url, BULK_QUEUE_NAME=name, PROXY_FIX_HOPS="1"))
    yield app
    app.extensions["upstream"].client.close()
    remove_queue_files(name)


def csrf(client) -> str:
    return _CSRF.search(client.get("/bulk").get_data(as_text=True)).group(1)


def int_id_routes(app) -> list:
    """Every route taking an integer in its path, so a new one is covered without being listed here."""
    return [rule for rule in app.url_map.iter_rules()
            if any(isinstance(conv, IntegerConverter) for conv in rule._converters.values())]


def test_every_route_with_an_integer_id_says_not_found_for_one_out_of_range(edges_app):
    client = edges_app.test_client()
    token = csrf(client)
    rules = int_id_routes(edges_app)
    assert {rule.endpoint for rule in rules} >= {"bulk.job_page", "bulk.job_json", "bulk.results_csv",
                                                 "bulk.retry_unknown", "bulk.retry_unknown_confirm"}
    for rule in rules:
        for huge in HUGE_IDS:
            path = re.sub(r"<int(\([^)]*\))?:\w+>", huge, rule.rule)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                answer = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
                assert answer.status_code == 404, (method, path, answer.status_code)


@pytest.mark.parametrize("path", ["/activity", "/activity.csv"])
def test_a_bulk_job_filter_out_of_range_is_the_forms_error(edges_app, path):
    client = edges_app.test_client()
    for huge in HUGE_IDS:
        answer = client.get(path, query_string={"job": huge})
        # The page shows the filter form with its error; the export refuses to export, with the same page.
        assert answer.status_code == (200 if path == "/activity" else 400), (path, huge, answer.status_code)
        assert "A bulk job number is" in answer.get_data(as_text=True)
    assert client.get(path, query_string={"job": "2147483647"}).status_code == 200  # the largest id there is


def preview(client, *, filename: str, headers: dict | None = None):
    upload = (io.BytesIO(b"email,role\nada@example.com,no_role\n"), filename)
    return client.post("/bulk/preview", data={"csrf_token": csrf(client), "text": "", "file": upload},
                       content_type="multipart/form-data", headers=headers or {})


def test_an_uploaded_files_name_is_stored_clean(edges_app):
    client = edges_app.test_client()
    spoof = "invoice\u202eVSC.exe\x00\x1b[31m" + "x" * 300 + ".csv"
    answer = preview(client, filename=spoof)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:2000]
    body = answer.get_data(as_text=True)
    assert "\u202e" not in body and "\x1b" not in body and "\x00" not in body
    assert "invoiceVSC.exe[31m" in body  # the name still shown, as the characters a person can see
    with edges_app.app_context():
        from invite.adapters.storage import db
        source = db.session.query(BulkJob.source).order_by(BulkJob.id.desc()).limit(1).scalar()
    assert source.startswith("invoiceVSC.exe[31mxxx") and len(source) <= 255
    assert not any(ord(ch) < 32 or ch == "\u202e" for ch in source)


def test_a_long_forwarded_address_does_not_break_the_preview(edges_app):
    client = edges_app.test_client()
    forwarded = "2001:db8::" + "1" * 80
    answer = preview(client, filename="list.csv", headers={"X-Forwarded-For": forwarded})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:2000]
    with edges_app.app_context():
        from invite.adapters.storage import db
        stored = db.session.query(BulkJob.client_addr).order_by(BulkJob.id.desc()).limit(1).scalar()
    assert stored and len(stored) <= 64 and stored.startswith("2001:db8::")


def test_a_file_over_the_limit_is_reported_at_its_real_size(edges_app):
    client = edges_app.test_client()
    big = io.BytesIO(b"someone@example.com\n" * 75_000)  # 1,500,000 bytes
    answer = client.post("/bulk/preview", data={"csrf_token": csrf(client), "text": "", "file": (big, "big.csv")},
                         content_type="multipart/form-data")
    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert "1,000,001" not in body
    assert "1,500,000 bytes" in body and "1 MB" in body


# ------------------------------------------------------------------ CSV exports and formulas

FORMULAS = ["=1+1", " =HYPERLINK(\"http://x\")", "\t=cmd", "\r=cmd", "  +1", "\n-1", "@SUM(A1)", "\u00a0=1"]


def test_a_formula_behind_whitespace_is_neutralised_in_the_activity_export(edges_app):
    from invite.activity.export import safe_cell

    for text in FORMULAS:
        assert safe_cell(text).startswith("'"), repr(text)
    for text in ("ada@example.com", "a=b", "  plain words", "", "12-3"):
        assert safe_cell(text) == text


def _first_data_row(text: str) -> dict[str, str]:
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows, text
    return rows[0]


def test_formulas_in_stored_text_are_neutralised_in_both_csv_exports(edges_app):
    """Stored text has had tabs and line breaks turned into spaces (invite/core/safe_text.py): the export must
    still see the formula behind them."""
    from invite.adapters.storage import Action, db
    from invite.bulk.models import DONE, ROW_DONE, BulkRow

    hostile = "\t=HYPERLINK(\"http://evil.example\",\"x\")"
    with edges_app.app_context():
        db.session.add(Action(token="t" * 32, state="done", actor_email="dev@localhost", actor_role="admin",
                              action="send", target_email="ada@example.com", role="no_role",
                              teams=[{"id": " +1", "name": hostile}], outcome_kind="invite_created",
                              invite_id="\r-2+3"))
        job = BulkJob(token="j" * 32, created_by="dev@localhost", source="list.csv", state=DONE)
        db.session.add(job)
        db.session.flush()
        db.session.add(BulkRow(job_id=job.id, position=1, email="ada@example.com", role="no_role",
                               teams=[{"id": "x", "name": hostile}], verdict="ready", state=ROW_DONE,
                               outcome_kind="invite_created", message="  @SUM(A1)", invite_id="\t=1"))
        db.session.commit()
        job_id = job.id
    client = edges_app.test_client()
    activity = client.get("/activity.csv")
    assert activity.status_code == 200
    row = _first_data_row(activity.get_data(as_text=True))
    for column in ("team_names", "team_ids", "invite_id"):
        assert row[column].startswith("'"), (column, row[column])
    results = client.get(f"/bulk/{job_id}.csv")
    assert results.status_code == 200
    row = _first_data_row(results.get_data(as_text=True))
    for column in ("teams", "message", "invite_id"):
        assert row[column].startswith("'"), (column, row[column])


# ------------------------------------------------------------------ who may reach each route (issue 20, what held)

PROXY = "10.0.0.5"
OPEN_ENDPOINTS = {"ops.healthz", "ops.readyz", "metrics.metrics", "static"}  # health, metrics, static files
_SAMPLE_ARGUMENT = {"job_id": "1", "token": "A" * 24, "invite_id": "inv_0123456789",
                    "member_id": "11111111-2222-4333-8444-555555555555"}


def every_route(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, path) for every route in the app but the open ones, from its URL map: a route
    added later is covered without being listed here."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in OPEN_ENDPOINTS:
            continue
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<(?:[^:>]+:)?{name}>", _SAMPLE_ARGUMENT[name], path)
        found += [(rule.endpoint, method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_route_but_health_metrics_and_static_needs_an_identity_and_a_role(sandbox, database_url):
    app = make_app(app_env(sandbox, database_url, AUTH_MODE="header", AUTH_TRUSTED_PROXIES="10.0.0.0/24",
                           ADMIN_GROUPS="junction-admins", SUPPORT_GROUPS="helpdesk"))
    try:
        routes = every_route(app)
        endpoints = {endpoint for endpoint, _, _ in routes}
        assert len(routes) >= 20 and {"bulk.pause", "support.revoke", "activity.export_csv"} <= endpoints
        before = len(sandbox.state.requests_log())
        for headers, expected in (({}, 401), ({"X-Forwarded-Email": "eve@corp.example",
                                               "X-Forwarded-Groups": "staff"}, 403)):
            client = app.test_client()
            client.environ_base.update({"REMOTE_ADDR": PROXY})
            for endpoint, method, path in routes:
                answer = client.open(path, method=method, headers=headers)
                assert answer.status_code == expected, (endpoint, method, path, answer.status_code)
        assert len(sandbox.state.requests_log()) == before  # Junction never asked on their behalf
    finally:
        app.extensions["upstream"].client.close()
