"""Filters Junction cannot apply (issue 25): /invitations by role or age and /members by role walk Junction's
pages until a page's worth of matches, the end of the list, or a budget (a second, or so many pages), and say
how far they looked and where they stopped, with the way on from there. Against the sandbox over HTTP, which
pages its lists by 5 here and lists invitations newest first."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from test_support_flow import link, row_ids, text_of

from invite.junction import JunctionError, Page
from invite.support import routes
from invite.support.paging import Pager

NOW = datetime.now(UTC)
INVITES = 60
OLD = 12  # the oldest, sent more than 30 days ago: only reached past the first ten pages


@pytest.fixture
def aged(sandbox):
    """60 pending invitations, one a day from today back; the 12 oldest are more than 30 days old."""
    with sandbox.state.lock:
        sandbox.state.invites = []
    for n in range(INVITES):
        age = timedelta(hours=12 * n + 1) if n < INVITES - OLD else timedelta(days=40 + n)
        sandbox.state.seed_invite(f"person{n:02d}@example.org", NOW - age,
                                  role="team_admin" if n % 10 == 9 else "no_role")
    with sandbox.state.lock:
        return [i["id"] for i in sandbox.state.invites]  # newest first, as Junction lists them


def walk_line(page: str) -> str:
    found = re.search(r'<p class="hint" id="list-walk">(.*?)</p>', page, re.S)
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split()) if found else ""


def invite_lists(sandbox) -> int:
    return len([e for e in sandbox.state.requests_log() if e["method"] == "GET" and e["path"].endswith("/invite")])


def test_matches_deep_in_the_list_are_found_in_one_view_and_the_rest_by_following_next(client, sandbox, aged):
    old_ids = aged[-OLD:]
    before = invite_lists(sandbox)
    page = text_of(client.get("/invitations?older_than=30"))
    # Pages 1 to 9 hold none, page 10 two, page 11 five: a page's worth (or more), found in one view
    assert row_ids(page) == old_ids[:7]
    assert invite_lists(sandbox) - before == 11
    assert walk_line(page) == "Found by looking at 55 invitations; the next page goes on from there."
    seen = row_ids(page)
    while (following := link(page, "next")) is not None:
        assert "older_than=30" in following
        page = text_of(client.get(following))
        seen += row_ids(page)
    assert seen == old_ids
    assert walk_line(page) == "Looked at the last 5 invitations: there are no more."


def test_a_view_that_runs_out_of_budget_says_how_far_it_looked_and_goes_on_from_there(
        client, sandbox, aged, monkeypatch):
    monkeypatch.setattr(routes, "FILTER_BUDGET_SECONDS", 0)  # only the pages every view looks at
    page = text_of(client.get("/invitations?older_than=30"))
    assert row_ids(page) == []
    assert "None of the 25 invitations looked at match the filters (more are left to look at)." in page
    line = walk_line(page)
    assert line == ("Looked at 25 invitations and stopped there, to keep this page quick; more are left to look "
                    "at. Show more")
    more = re.search(r'id="list-walk">.*?<a href="([^"]+)">Show more</a>', page, re.S).group(1)
    assert more.replace("&amp;", "&") == link(page, "next") and "older_than=30" in link(page, "next")
    second = text_of(client.get(link(page, "next")))  # pages 6 to 10: two matches; budget spent again
    assert row_ids(second) == aged[-OLD:][:2] and walk_line(second).startswith("Looked at 25 invitations and stopped")


def test_the_pages_cap_stops_a_walk_that_time_alone_would_not(client, sandbox, aged, monkeypatch):
    monkeypatch.setattr(routes, "FILTERED_PAGES", 1)
    monkeypatch.setattr(routes, "FILTER_MAX_PAGES", 3)
    monkeypatch.setattr(routes, "FILTER_BUDGET_SECONDS", 3600)
    before = invite_lists(sandbox)
    page = text_of(client.get("/invitations?older_than=30"))
    assert invite_lists(sandbox) - before == 3 and row_ids(page) == []
    assert walk_line(page).startswith("Looked at 15 invitations and stopped there")


def test_a_first_page_that_holds_all_there_is_says_so(client, sandbox, aged):
    page = text_of(client.get("/invitations?role=team_admin&q=person0"))  # person00 … person09: two pages
    assert row_ids(page) == [aged[9]]
    assert walk_line(page) == "Looked at all 10 invitations: there are no more."
    assert link(page, "next") is None


def test_a_role_filter_on_members_walks_and_reports_the_same_way(client, sandbox):
    page = text_of(client.get("/members?role=org_admin"))
    assert re.fullmatch(r"Found by looking at \d+ members; the next page goes on from there\.|"
                        r"Looked at all \d+ members: there are no more\.", walk_line(page)), walk_line(page)
    roles = re.findall(r'<td data-label="Role">([^<]*)</td>', page)
    assert roles and set(roles) == {"Org admin"}


class FailingOnPage:
    """A List call that answers pages of 5 with no match, then fails on the `fails_on`-th."""

    def __init__(self, fails_on: int):
        self.calls = 0
        self.fails_on = fails_on

    def __call__(self, *, search_query, cursor):
        self.calls += 1
        if self.calls == self.fails_on:
            raise JunctionError("Junction failed while handling it.")
        return Page(items=tuple(f"item{self.calls}-{n}" for n in range(5)), next_cursor=f"c{self.calls}")


def test_junction_failing_midway_shows_what_was_found_and_asks_again_from_the_page_that_failed():
    lister = FailingOnPage(fails_on=3)
    page, walk, problem = routes._filtered_page(None, Pager(role="team_admin"), lister=lister,
                                                matches=lambda item, pager: item.endswith("-0"))
    assert problem is None and walk == routes.Walk(10, "failed")
    assert page.items == ("item1-0", "item2-0") and page.next_cursor == "c2"  # page 3 is asked for again
