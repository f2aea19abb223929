"""Finding 3 of #13: no filter value on /activity or /activity.csv is a 500; an invalid one says so and
never exports the whole trail. On SQLite and on PostgreSQL."""

from __future__ import annotations

import html

import pytest
from conftest import app_env, make_app
from test_activity import record


@pytest.fixture
def app(sandbox, database_url):
    app = make_app(app_env(sandbox, database_url))
    record(app, "tok_sec_a_0000000000000", target="secret-one@example.org")
    return app


BAD = [
    ("date_to=9999-12-31", "Enter a date between 2000-01-01 and 2999-12-31."),
    ("date_to=0001-01-01", "Enter a date between 2000-01-01 and 2999-12-31."),
    ("date_from=9999-12-31", "Enter a date between 2000-01-01 and 2999-12-31."),
    ("date_from=1999-12-31&date_to=2000-01-01", "Enter a date between 2000-01-01 and 2999-12-31."),
    ("date_to=2026-02-30", "Not a valid date value."),
    ("page=99999999999999999999", "Page must be a whole number from 1 to 100,000."),
    ("page=0", "Page must be a whole number from 1 to 100,000."),
    ("page=two", "Not a valid integer value."),
    ("who=%00", "Remove the control characters from this search."),
    ("target=a%01b", "Remove the control characters from this search."),
    ("who=" + "a" * 400, "Search for at most 320 characters."),
    ("action=delete", "Not a valid choice."),
    ("outcome=whatever", "Not a valid choice."),
]


@pytest.mark.parametrize(("query", "message"), BAD)
def test_a_bad_filter_value_is_named_on_the_page(client, query, message):
    response = client.get(f"/activity?{query}")
    assert response.status_code == 200
    text = html.unescape(response.get_data(as_text=True))
    assert message in text
    assert "Some filters are not valid, so none were applied." in text
    assert "Export CSV" not in text  # no link that would export the whole trail


@pytest.mark.parametrize(("query", "message"), BAD)
def test_a_bad_filter_value_exports_nothing(client, query, message):
    response = client.get(f"/activity.csv?{query}")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    text = html.unescape(response.get_data(as_text=True))
    assert message in text
    assert "secret-one@example.org" not in text.split("Some filters are not valid")[0]


@pytest.mark.parametrize("extra", ["_method=POST", "_external=1", "_anchor=x", "_scheme=javascript", "unknown=1"])
@pytest.mark.parametrize("path", ["/activity", "/activity.csv"])
def test_unknown_arguments_are_ignored_and_never_steer_links(client, path, extra):
    response = client.get(f"{path}?who=ada&{extra}", headers={"Host": "evil.example"})
    assert response.status_code == 200
    if path == "/activity":
        text = html.unescape(response.get_data(as_text=True))
        assert 'href="/activity.csv?who=ada"' in text
        assert "evil.example" not in text and "javascript" not in text


def test_a_far_page_is_simply_empty(client):
    response = client.get("/activity?page=100000")
    assert response.status_code == 200
    assert "No activity matches these filters." in response.get_data(as_text=True)


def test_valid_dates_at_the_edges_work(client):
    for query in ("date_from=2000-01-01", "date_to=2999-12-31", "date_from=2999-12-31&date_to=2999-12-31"):
        assert client.get(f"/activity?{query}").status_code == 200
        assert client.get(f"/activity.csv?{query}").status_code == 200
