"""What the pages say at a real org's scale, through Flask's test client against the sandbox over HTTP.

The invitations overview and its filters, relative times, the creator column, result pages that fit
where the person came from, the activity page's words, and the refusal pages' way back. Layout itself
(390 px, axe) is checked in a real browser in tests/test_layout_browser.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from conftest import app_env, form_tokens, make_app
from test_support_flow import link, resend_form, row_ids, text_of

from invite.core.when import ago

HELENA = "Helena.Sousa@AcmeHealth.eu"


def test_ago_reads_like_a_person_would_say_it():
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert ago(now - timedelta(seconds=20), now) == "less than a minute ago"
    assert ago(now - timedelta(minutes=90), now) == "90 minutes ago"
    assert ago(now - timedelta(hours=30), now) == "30 hours ago"
    assert ago(now - timedelta(days=9), now) == "9 days ago"
    assert ago(now - timedelta(days=200), now) == "6 months ago"
    assert ago(now - timedelta(days=800), now) == "2 years ago"


def test_invitations_say_what_the_page_holds_and_whether_there_is_more(client, sandbox):
    page = text_of(client.get("/invitations"))
    assert "5 invitations here; more on the next page." in page
    last = text_of(client.get("/invitations?q=acmehealth.eu"))
    assert re.search(r">\d invitations?\.</p>", last)


def test_role_and_age_filters_look_through_pages_and_travel_with_paging(client, sandbox):
    """Junction cannot filter: with a filter on, the view looks through Junction's pages (5 a page here)
    until it has a page's worth of matches, and the next link goes on from there."""
    before = len(sandbox.state.requests_log())
    page = text_of(client.get("/invitations?role=team_admin"))
    with sandbox.state.lock:
        invites = list(sandbox.state.invites)
    expected, looked_at = [], 0
    for start in range(0, len(invites), 5):
        chunk = invites[start:start + 5]
        looked_at += len(chunk)
        expected += [i["id"] for i in chunk if i["role"] == "team_admin"]
        if len(expected) >= 5:
            break
    assert looked_at > 5, "the seeded org should need more than one page for five team admins"
    assert row_ids(page) == expected
    assert re.search(rf">{len(expected)} invitations( here; more on the next page)?\.</p>", page)
    lists = [e for e in sandbox.state.requests_log()[before:] if e["path"].endswith("/invite")]
    assert len(lists) == looked_at // 5 + (looked_at % 5 > 0)
    if looked_at < len(invites):
        assert "role=team_admin" in link(page, "next")
    # Older than 30 days: every seeded invitation is (they date from 2026); one sent now is not.
    sandbox.state.create_or_resend_invite("fresh@example.org", "no_role")
    aged = text_of(client.get("/invitations?older_than=30"))
    assert "fresh@example.org" not in aged
    assert "fresh@example.org" in text_of(client.get("/invitations"))
    # Values we do not offer are ignored, not trusted.
    odd = text_of(client.get("/invitations?role=superuser&older_than=3"))
    assert "Invitations for" not in odd and "5 invitations here" in odd


def test_long_team_lists_are_folded_and_times_are_relative_with_utc_kept(client, sandbox):
    with sandbox.state.lock:
        team_ids = [t["id"] for t in sandbox.state.teams[:12]]
        names = [t["name"] for t in sandbox.state.teams[:12]]
    sandbox.state.create_or_resend_invite("many.teams@example.org", "team_admin", team_ids)
    page = text_of(client.get("/invitations?q=many.teams"))
    assert f"{names[0]} <details class=\"more-teams\"><summary>+11 more" in page
    assert ", ".join(names[1:]) in page
    assert re.search(r'<time datetime="[^"]+" title="\d{4}-\d\d-\d\d \d\d:\d\d UTC">less than a minute ago</time>',
                     page)


def test_the_sent_by_column_is_always_there(client, sandbox):
    """One fixed set of columns (issue 23): the key's invitations say they came from outside this dashboard."""
    mixed = text_of(client.get("/invitations"))
    assert '<th scope="col">Sent by</th>' in mixed
    only_key = text_of(client.get("/invitations?q=olusegun"))  # created by the Management Key
    assert '<th scope="col">Sent by</th>' in only_key
    assert 'Management Key<span class="via">outside this dashboard</span>' in only_key


def test_after_a_resend_the_result_page_leads_back_to_the_search_and_marks_invitations(client, sandbox):
    invite_id, fields = resend_form(client, HELENA, q="helena")
    response = client.post(f"/invitations/{invite_id}/resend", data={**fields, "confirm": "1"})
    assert response.status_code == 303
    page = text_of(client.get(response.headers["Location"]))
    assert re.findall(r'aria-current="page">(\w+)</a>', page) == ["Invitations"]
    assert re.search(r'<a class="button primary" href="/invitations\?q=helena">Back to invitations</a>', page)
    assert "Invite someone else" not in page


def test_support_after_a_resend_is_not_offered_the_invite_form(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'support.db'}", AUTH_DEV_ROLE="support"))
    try:
        client = app.test_client()
        invite_id, fields = resend_form(client, HELENA)
        response = client.post(f"/invitations/{invite_id}/resend", data={**fields, "confirm": "1"})
        page = text_of(client.get(response.headers["Location"]))
        assert "Back to invitations" in page
        assert "Invite someone else" not in page
    finally:
        app.extensions["upstream"].client.close()


def test_already_a_member_shows_their_real_role_and_who_asked(client, sandbox):
    with sandbox.state.lock:
        member = next(m for m in sandbox.state.members if m["role"] == "team_admin")
    tokens = form_tokens(client.get("/").get_data(as_text=True))
    response = client.post("/", data={**tokens, "email": member["email"], "role": "org_admin"},
                           follow_redirects=True)
    page = text_of(response)
    assert "is already a member" in page
    assert "<dt>Their role</dt><dd>Team admin</dd>" in page
    assert "<dt>Requested</dt><dd>Org admin (not applied)</dd>" in page
    assert "<dt>Requested by</dt>" in page and "<dt>Sent by</dt>" not in page


def test_activity_speaks_the_pages_words(client, sandbox):
    tokens = form_tokens(client.get("/").get_data(as_text=True))
    client.post("/", data={**tokens, "email": "worded@example.org", "role": "no_role"})
    page = text_of(client.get("/activity"))
    row = page.split("worded@example.org")[0].rsplit("<tr>", 1)[1] + page.split("worded@example.org")[1]
    row = row.split("</tr>", 1)[0]
    assert '<td data-label="Action">Invited</td>' in row
    assert "No role" in row and "no_role" not in row
    assert '<span class="pill outcome-succeeded">Invitation sent</span>' in row
    assert "<summary>Request details</summary>" in row  # the request id is folded, not inline


def test_refusal_pages_offer_sign_in_again_and_no_nav(sandbox, tmp_path):
    env = app_env(sandbox, f"sqlite:///{tmp_path / 'auth.db'}", AUTH_MODE="header",
                  AUTH_TRUSTED_PROXIES="127.0.0.0/8", ADMIN_GROUPS="invite-admins")
    app = make_app(env)
    try:
        client = app.test_client()
        page = text_of(client.get("/invitations"))
        assert '<nav aria-label="Main">' not in page
        assert '<a class="button primary" href="">Sign in again</a>' in page  # no AUTH_SIGN_IN_URL: a reload
        refused = client.get("/invitations", headers={"X-Forwarded-Email": "x@corp.example",
                                                      "X-Forwarded-Groups": "sales"})
        assert refused.status_code == 403
        page = text_of(refused)
        assert '<nav aria-label="Main">' not in page
        assert "Signed in as: x@corp.example" in page and "My groups: sales" in page
        assert "Groups that grant access: invite-admins (admin)" in page
        assert re.search(r"Request id: \S+", page)
        assert "name unavailable" not in page
    finally:
        app.extensions["upstream"].client.close()


def test_form_posts_without_js_keep_the_team_note(client):
    page = client.get("/").get_data(as_text=True)
    assert "Used only when the role is Team admin." in page


def test_a_long_team_list_is_named_by_its_first_team_in_the_result_sentence(client, sandbox):
    with sandbox.state.lock:
        teams = sandbox.state.teams[:12]
    tokens = form_tokens(client.get("/").get_data(as_text=True))
    response = client.post("/", data={**tokens, "email": "twelve@example.org", "role": "team_admin",
                                      "teams": [t["id"] for t in teams]}, follow_redirects=True)
    page = text_of(response)
    assert f"as <strong>Team admin</strong> of {teams[0]['name']} and 11 other teams." in page
    assert ", ".join(t["name"] for t in teams) in page  # the summary still lists every team
