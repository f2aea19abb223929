"""/activity pages by cursor (issue 25): Newer and Older start from a page's edge row, so a deep page costs what
the first one does. On SQLite and PostgreSQL: rows of the same moment, filters kept in the links, the first
and last pages, old `?page=N` links, and damaged links answered with a message, never a 500."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import app_env, make_app

from invite.activity import queries
from invite.activity.queries import Cursor
from invite.adapters.storage import Action, db

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ROWS = 130  # two full pages and a short third
SAME_MOMENT = 7  # rows per moment: every page edge falls among rows written in the same microsecond


@pytest.fixture
def app(sandbox, database_url):
    return make_app(app_env(sandbox, database_url))


def seed(app, rows=ROWS, *, actors=("ada@corp.example", "bob@corp.example")) -> list[str]:
    """Rows p000…, several to a moment; returns their addresses newest first (created_at, then id, descending)."""
    values = [{"token": f"tok_paging_{n:06d}", "created_at": START + timedelta(seconds=n // SAME_MOMENT),
               "state": "done", "actor_email": actors[n % len(actors)], "action": "send",
               "target_email": f"p{n:03d}@example.org", "teams": [], "outcome_kind": "invite_created",
               "channel": "web"} for n in range(rows)]
    with app.app_context():
        db.session.execute(sa.insert(Action), values)
        db.session.commit()
        ordered = db.session.execute(sa.select(Action.target_email, Action.actor_email)
                                     .order_by(Action.created_at.desc(), Action.id.desc())).all()
    return [row.target_email for row in ordered], [row.actor_email for row in ordered]


ADDRESS = re.compile(r"p\d{3}@example\.org")


def shown(page: str) -> list[str]:
    table = page.split('<table class="data activity', 1)
    return ADDRESS.findall(table[1].split("</table>", 1)[0]) if len(table) == 2 else []


def link(page: str, name: str) -> str | None:
    """The pager's link named `name` (Newest, Newer, Older, Oldest), unescaped."""
    nav = page.split('aria-label="Activity pages"', 1)[1].split("</nav>", 1)[0]
    found = re.search(r'<a href="([^"]+)"[^>]*>[^<]*' + name, nav)
    return html.unescape(found.group(1)) if found else None


def position(page: str) -> str:
    return " ".join(re.search(r'class="page-position">(.*?)</span>', page, re.S).group(1).split())


def test_walking_older_then_newer_shows_every_row_once_in_order_across_ties(app, client):
    order, _ = seed(app)
    page = client.get("/activity").get_data(as_text=True)
    assert link(page, "Newer") is None and link(page, "Newest") is None  # the first page
    assert position(page) == f"1–50 of {ROWS}"
    seen, pages = shown(page), [page]
    while (older := link(pages[-1], "Older")) is not None:
        assert "before=" in older and "page=" not in older
        pages.append(client.get(older).get_data(as_text=True))
        seen += shown(pages[-1])
    assert seen == order  # none twice, none left out, newest first, ties broken by id
    assert len(pages) == 3 and position(pages[1]) == f"51–100 of {ROWS}"
    assert position(pages[2]) == f"101–{ROWS} of {ROWS}"
    assert link(pages[-1], "Oldest") is None and link(pages[-1], "Older") is None  # the last page

    back = pages[-1]
    walked = []
    while (newer := link(back, "Newer")) is not None:
        assert "after=" in newer
        back = client.get(newer).get_data(as_text=True)
        walked = shown(back) + walked
    assert shown(back) == order[:50] and link(back, "Newest") is None  # back on the newest page, full


def test_the_oldest_page_is_the_fifty_oldest_and_walks_back_to_the_newest(app, client):
    order, _ = seed(app)
    first = client.get("/activity").get_data(as_text=True)
    oldest = client.get(link(first, "Oldest")).get_data(as_text=True)
    assert shown(oldest) == order[-50:]
    assert link(oldest, "Older") is None and link(oldest, "Oldest") is None
    assert link(oldest, "Newest") is not None and position(oldest) == f"81–{ROWS} of {ROWS}"
    middle = client.get(link(oldest, "Newer")).get_data(as_text=True)
    assert shown(middle) == order[30:80] and position(middle) == f"31–80 of {ROWS}"
    assert shown(client.get(link(middle, "Older")).get_data(as_text=True)) == order[80:]


def test_the_links_keep_the_filters(app, client):
    order, actors = seed(app)
    bobs = [email for email, actor in zip(order, actors, strict=True) if actor == "bob@corp.example"]
    page = client.get("/activity?who=bob&action=send").get_data(as_text=True)
    seen = shown(page)
    for name in ("Older", "Oldest"):
        assert "who=bob" in link(page, name) and "action=send" in link(page, name)
    while (older := link(page, "Older")) is not None:
        page = client.get(older).get_data(as_text=True)
        seen += shown(page)
    assert seen == bobs
    newer = link(page, "Newer")
    assert "who=bob" in newer and "action=send" in newer and "who=bob" in link(page, "Newest")


def test_a_trail_too_long_to_count_says_so_and_its_deep_pages_say_their_dates(app, client, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_LIMIT", 60)
    order, _ = seed(app)
    first = client.get("/activity").get_data(as_text=True)
    assert position(first) == "Newest 50 of more than 60"
    second = client.get(link(first, "Older")).get_data(as_text=True)
    assert shown(second) == order[50:100]
    assert position(second).startswith("50 actions, 2026-03-01 12:00 back to 2026-03-01 12:00 UTC")


def test_deep_pages_read_from_their_cursor_not_by_offset(app, client):
    seed(app)
    statements: list[tuple[str, object]] = []
    with app.app_context():
        listen = lambda conn, cursor, statement, parameters, *rest: statements.append(  # noqa: E731
            (statement.upper(), parameters))
        sa.event.listen(db.engine, "before_cursor_execute", listen)
        try:
            first = client.get("/activity").get_data(as_text=True)
            for name in ("Older", "Oldest"):
                page = client.get(link(first, name)).get_data(as_text=True)
                client.get(link(page, "Newer"))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listen)
    # SQLite's LIMIT always comes with an OFFSET, which must then be 0 (its last parameter)
    offsets = [(s, p) for s, p in statements if "OFFSET" in s and not (isinstance(p, tuple) and p[-1] == 0)]
    assert statements and not offsets


def test_an_old_page_number_link_still_works_where_it_is_cheap(app, client, monkeypatch):
    order, _ = seed(app)
    second = client.get("/activity?page=2").get_data(as_text=True)
    assert shown(second) == order[50:100] and position(second) == f"51–100 of {ROWS}"
    assert "before=" in link(second, "Older") and "after=" in link(second, "Newer")
    past = client.get("/activity?page=40").get_data(as_text=True)
    assert shown(past) == [] and "No activity matches these filters." in past and link(past, "Newest")
    monkeypatch.setattr(queries, "COUNT_LIMIT", 60)  # more rows than are counted: page 3 is past what OFFSET may
    far = html.unescape(client.get("/activity?page=3").get_data(as_text=True))
    assert "Page numbers go as far as page 1" in far and shown(far) == order[:50]


@pytest.mark.parametrize("query", [
    "before=yesterday", "before=2026-03-01T12:00:00Z", "before=2026-03-01T12:00:00Z,0",
    "after=2026-03-01T12:00:00,5", "before=2026-03-01T12:00:00Z,99999999999", "after=2026-02-30T12:00:00Z,5",
    "before=2026-03-01T12:00:00Z,5&after=2026-03-01T12:00:00Z,4", "before=" + "9" * 80, "after=%00",
])
def test_a_damaged_page_link_says_so_and_shows_the_newest_page(app, client, query):
    order, _ = seed(app)
    response = client.get(f"/activity?{query}")
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "page link is damaged or out of date" in text or "either before or after" in text
    assert shown(text) == order[:50]
    assert client.get(f"/activity.csv?{query}").status_code == 400  # no export that ignores what was asked


def test_a_cursor_past_either_end_is_an_empty_page_with_a_way_back(app, client):
    order, _ = seed(app)
    older = html.unescape(client.get("/activity?before=2000-01-01T00:00:00Z,1").get_data(as_text=True))
    assert shown(older) == [] and "No activity matches these filters." in older
    assert link(older, "Newest") and link(older, "Newer")
    newer = client.get("/activity?after=2999-01-01T00:00:00Z,1").get_data(as_text=True)
    assert shown(newer) == order[:50]  # nothing newer: the newest page


def test_a_cursor_reads_back_what_it_wrote():
    moment = datetime(2026, 12, 7, 5, 12, 0, 123456, tzinfo=UTC)
    text = str(Cursor(moment, 1234))
    assert text == "2026-12-07T05:12:00.123456Z,1234"
    assert Cursor.parse(text) == Cursor(moment, 1234)
    assert Cursor.parse("2026-12-07T06:12:00.123456+01:00,1234") == Cursor(moment, 1234)
    for bad in ("", ",", "2026-12-07T05:12:00Z", "2026-12-07T05:12:00Z,-1", "2026-12-07T05:12:00Z,1.5", "x,1"):
        with pytest.raises(ValueError):
            Cursor.parse(bad)


def test_a_search_by_part_of_an_address_is_not_counted_unless_its_first_page_holds_it_all(app, client):
    """Through the trigram indexes a bounded count costs what the page does: a search says "1–3 of 3" only
    when its first page holds every match, and never asks for a count."""
    order, actors = seed(app)
    statements: list[str] = []
    with app.app_context():
        listen = lambda conn, cursor, statement, *rest: statements.append(statement.upper())  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listen)
        try:
            few = client.get("/activity?target=p00").get_data(as_text=True)  # p000 … p009
            many = client.get("/activity?who=ada").get_data(as_text=True)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listen)
    assert shown(few) == [email for email in order if email.startswith("p00")]
    assert position(few) == "1–10 of 10"
    assert len(shown(many)) == 50 and position(many).startswith("50 actions, ")
    assert not [s for s in statements if s.startswith("SELECT COUNT(*)")]
