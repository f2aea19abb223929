"""Invitations and members pages end to end with Flask's test client, the app talking real HTTP to a sandbox.

What reached the sandbox is checked as well as what the page says: each page view must cost exactly one
List call, and a resend must re-post the invitation's own role and teams whatever the form carried.
"""

from __future__ import annotations

import html
import re
import socket
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import app_env, form_tokens, make_app
from flask import Response, abort

from invite.adapters.storage import Action, db
from invite.sandbox import DEMO_KEY
from invite.sandbox.state import iso
from invite.support.forms import issue_row_token

INVITE_PATH = re.compile(r"/v1/org/[^/]+/invite$")
MEMBER_PATH = re.compile(r"/v1/org/[^/]+/member$")
ROW_ID = re.compile(r'<tr id="invite-([0-9a-f-]{36})"')
HELENA = "Helena.Sousa@AcmeHealth.eu"  # team admin of Berlin Clinic and Dublin Telehealth, never resent


# --- helpers ---------------------------------------------------------------------------------------------


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def requests_to(sandbox, method: str, path: re.Pattern) -> list[dict]:
    return [e for e in sandbox.state.requests_log() if e["method"] == method and path.search(e["path"])]


def list_calls(sandbox) -> list[dict]:
    return requests_to(sandbox, "GET", INVITE_PATH)


def invite_posts(sandbox) -> list[dict]:
    return requests_to(sandbox, "POST", INVITE_PATH)


def deletes(sandbox) -> list[dict]:
    return [e for e in sandbox.state.requests_log() if e["method"] == "DELETE"]


def team_id(sandbox, name: str) -> str:
    return next(t["id"] for t in sandbox.state.teams if t["name"] == name)


def invite_of(sandbox, email: str) -> dict:
    invite = sandbox.state.find_invite_by_email(email)
    assert invite is not None, f"{email} is not pending in the sandbox"
    return invite


def row_ids(page: str) -> list[str]:
    return ROW_ID.findall(page)


def form_fields(page: str, action: str) -> dict[str, str]:
    """The named fields of the POST form whose action is ``action``."""
    match = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    assert match, f"no form posting to {action}"
    return {name: html.unescape(value) for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"',
                                                                      match.group(1))}


def link(page: str, rel: str) -> str | None:
    match = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
    return html.unescape(match.group(1)) if match else None


def resend_form(client, email: str, q: str | None = None) -> tuple[str, dict[str, str]]:
    page = client.get("/invitations", query_string={"q": q if q is not None else email}).get_data(as_text=True)
    invite_id = re.search(rf'<tr id="invite-([0-9a-f-]{{36}})">\s*<th scope="row" class="email">'
                          rf'{re.escape(html.escape(email))}(?:<span class="via">[^<]*</span>)?</th>', page).group(1)
    return invite_id, form_fields(page, f"/invitations/{invite_id}/resend")


def set_last_sent(sandbox, email: str, *, minutes_ago: float, resent: bool = True) -> datetime:
    moment = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).replace(microsecond=0)
    with sandbox.state.lock:
        invite = next(i for i in sandbox.state.invites if i["email"] == email)
        invite["resent_at" if resent else "invited_at"] = iso(moment)
    return moment


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the list: columns, search, paging ------------------------------------------------------------------


AGO = r"\d+ (days|months) ago"


def test_list_shows_newest_first_with_names_not_ids(client, sandbox):
    response = client.get("/invitations")
    assert response.status_code == 200
    page = text_of(response)
    newest = [i["id"] for i in sandbox.state.invites[:5]]
    assert row_ids(page) == newest
    assert len(list_calls(sandbox)) == 1
    # Teams by name; no team UUID anywhere on the page.
    assert "Diabetes Program, Remote Patient Monitoring" in page and "Lab Operations" in page
    for team in sandbox.state.teams:
        assert team["id"] not in page
    assert "All teams" in page  # anna.berg: org admin, null bindings
    # Creators as Junction recorded them.
    assert "Priya Natarajan (priya.natarajan@acmehealth.com)" in page
    assert 'data-creator="vital_staff">Junction staff' in page
    assert 'data-creator="management_key">Management Key' in page
    # Relative times, the exact UTC time in the <time> element and on hover.
    assert re.search(rf'<time datetime="2026-09-03T09:00:00\+00:00" title="2026-09-03 09:00 UTC">{AGO}</time>', page)
    assert re.search(rf'<time datetime="2026-08-18T10:00:00\+00:00" title="2026-08-18 10:00 UTC">{AGO}</time>', page)
    assert page.count("resent; first sent") == page.count('<tr id="invite-') - 3  # lab-ops, devon.price, anna.berg
    for label in ("Email", "Role", "Teams", "Sent by", "Last sent"):
        assert f'<th scope="col">{label}</th>' in page


def test_every_kind_of_creator_is_named(client, sandbox):
    page = text_of(client.get("/invitations", query_string={"q": "acmehealth.eu"}))
    assert "Lena Fischer (lena.fischer@acmehealth.eu)" in page  # Helena
    assert 'data-creator="removed_org_member">a former member' in page  # claire.dubois
    page = text_of(client.get("/invitations", query_string={"q": "kowalski"}))
    assert 'data-creator="removed_org_member">a former member' in page  # id lost by Junction


def test_search_and_paging_across_three_pages_one_call_per_page(client, sandbox):
    for n in range(5):
        sandbox.state.create_or_resend_invite(f"temp{n}@acmehealth.com", "no_role")
    expected = [i["id"] for i in sandbox.state.find_invites("acmehealth.com")]
    assert len(expected) == 12  # three pages of five

    client.get("/invitations")  # warms the cached team list and org name
    start = len(sandbox.state.requests_log())
    seen: list[list[str]] = []
    url = "/invitations?q=acmehealth.com"
    urls = []
    while url:
        urls.append(url)
        page = client.get(url).get_data(as_text=True)
        assert 'value="acmehealth.com"' in page  # the search stays in the box on every page
        seen.append(row_ids(page))
        assert f"Page {len(seen)}" in page
        url = link(page, "next")
    assert [len(p) for p in seen] == [5, 5, 2]
    assert sum(seen, []) == expected

    # Back, page by page, without walking forward again.
    back_pages = []
    page = client.get(urls[-1]).get_data(as_text=True)
    while (previous := link(page, "prev")) is not None:
        page = client.get(previous).get_data(as_text=True)
        back_pages.append(row_ids(page))
    assert back_pages == [seen[1], seen[0]]

    calls = [e for e in sandbox.state.requests_log()[start:]]
    assert all(INVITE_PATH.search(e["path"]) for e in calls), "only List Invites; team names came from cache"
    assert len(calls) == 3 + 1 + 2  # one call per page view, nothing repeated behind the scenes
    assert all(e["query"]["search_query"] == ["acmehealth.com"] for e in calls)
    assert [e["query"].get("next_cursor") for e in calls[:3]][0] is None


def test_previous_from_page_three_carries_the_earlier_cursor(client, sandbox):
    page1 = client.get("/invitations").get_data(as_text=True)
    page2_url = link(page1, "next")
    page2 = client.get(page2_url).get_data(as_text=True)
    page3_url = link(page2, "next")
    query = parse_qs(urlsplit(page3_url).query)
    page2_cursor = parse_qs(urlsplit(page2_url).query)["cursor"]
    assert query["back"] == page2_cursor  # the stack of earlier cursors rides in the URL
    page3 = client.get(page3_url).get_data(as_text=True)
    assert link(page3, "next") is None and "First page" in page3
    assert parse_qs(urlsplit(link(page3, "prev")).query) == {"cursor": page2_cursor}


def test_deep_link_opens_with_the_search_done(client, sandbox):
    page = text_of(client.get("/invitations?q=grace.lin@acmehealth.com"))
    assert row_ids(page) == [invite_of(sandbox, "grace.lin@acmehealth.com")["id"]]
    assert re.search(r'<input type="search" id="q" name="q" value="grace.lin@acmehealth.com"[^>]*autofocus', page)
    assert list_calls(sandbox)[-1]["query"]["search_query"] == ["grace.lin@acmehealth.com"]
    assert "Sleep Clinic" in page and "2026-04-09 09:25 UTC" in page


def test_no_match_points_to_members(client):
    page = text_of(client.get("/invitations?q=dana.whitfield@acmehealth.com"))
    assert "No pending invitation matches" in page
    assert 'href="/members?q=dana.whitfield@acmehealth.com"' in page


def test_header_navigation_marks_the_current_page(client):
    for path, current in (("/", "Invite"), ("/invitations", "Invitations"), ("/members", "Members")):
        page = client.get(path).get_data(as_text=True)
        nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', page, re.S).group(1)
        assert re.findall(r'aria-current="page">(\w+)</a>', nav) == [current]
        for name in ("Invite", "Invitations", "Members"):
            assert f">{name}</a>" in nav
        assert "Acme Health" in page and "Sandbox mode" in page


# --- resend ---------------------------------------------------------------------------------------------


def test_resend_reposts_the_invitations_own_role_and_teams(client, sandbox):
    invite_id, fields = resend_form(client, HELENA)
    # Whatever a tampered form carries, only Junction's own values are sent.
    response = client.post(f"/invitations/{invite_id}/resend",
                           data={**fields, "role": "org_admin", "teams": team_id(sandbox, "Cardiology")})
    assert response.status_code == 303
    # The result page keeps the search, for its "Back to invitations".
    assert response.headers["Location"] == f"/sent/{fields['submission_token']}?q={fields['q']}"
    [sent] = invite_posts(sandbox)
    assert sent["json"] == {
        "email": HELENA,
        "role": "team_admin",
        "team_role_bindings": [{"team_id": team_id(sandbox, "Berlin Clinic")},
                               {"team_id": team_id(sandbox, "Dublin Telehealth")}],
    }
    assert invite_of(sandbox, HELENA)["resent_at"] is not None  # the sandbox really resent it

    result = text_of(client.get(response.headers["Location"]))
    assert f"Invitation sent again to {HELENA}" in result
    assert "Berlin Clinic, Dublin Telehealth" in result
    assert f'href="/invitations?q=Helena.Sousa@AcmeHealth.eu#invite-{invite_id}">See it in Invitations' in result
    with client.application.app_context():
        action = db.session.scalar(db.select(Action).where(Action.token == fields["submission_token"]))
        assert (action.action, action.invite_id, action.role) == ("resend", invite_id, "team_admin")


def test_resend_of_an_org_admin_sends_null_bindings(client, sandbox):
    invite_id, fields = resend_form(client, "anna.berg@acmehealth.eu")
    assert client.post(f"/invitations/{invite_id}/resend", data=fields).status_code == 303
    assert invite_posts(sandbox)[0]["json"] == {"email": "anna.berg@acmehealth.eu", "role": "org_admin",
                                                "team_role_bindings": None}


def test_resend_double_post_sends_once(client, sandbox):
    invite_id, fields = resend_form(client, HELENA)
    first = client.post(f"/invitations/{invite_id}/resend", data=fields)
    second = client.post(f"/invitations/{invite_id}/resend", data=fields)  # now within the cooldown too
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(invite_posts(sandbox)) == 1


def test_concurrent_double_click_on_resend_sends_once(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'c.db'}"))  # slow@'s answer arrives in time
    sandbox.state.clock = lambda: datetime(2026, 1, 1, tzinfo=UTC)  # an old invitation: no cooldown prompt
    sandbox.state.create_or_resend_invite("slow@example.com", "team_admin", [team_id(sandbox, "Cardiology")])
    sandbox.state.clock = lambda: datetime.now(UTC)
    probe = app.test_client()
    invite_id, fields = resend_form(probe, "slow@example.com")
    with probe.session_transaction() as s:
        session_state = dict(s)
    results = []

    def click():
        c = app.test_client()
        with c.session_transaction() as s:
            s.update(session_state)
        results.append(c.post(f"/invitations/{invite_id}/resend", data=fields))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    app.extensions["upstream"].client.close()
    assert len(invite_posts(sandbox)) == 1
    assert [r.status_code for r in results] == [303, 303]
    assert {r.headers["Location"].split("?")[0] for r in results} == {f"/sent/{fields['submission_token']}"}


def test_recent_invitation_asks_for_confirmation_saying_when_it_was_last_resent(client, sandbox):
    moment = set_last_sent(sandbox, HELENA, minutes_ago=3)
    invite_id, fields = resend_form(client, HELENA)
    response = client.post(f"/invitations/{invite_id}/resend", data=fields)
    assert response.status_code == 200
    page = text_of(response)
    assert invite_posts(sandbox) == []  # nothing sent yet
    assert f"{HELENA} was sent an invitation 3 minutes ago" in page
    assert (f'It was last resent <time class="local" datetime="{moment.isoformat()}">'
            f'{moment:%Y-%m-%d %H:%M} UTC</time>') in page
    assert "Team admin" in page and "Berlin Clinic, Dublin Telehealth" in page
    confirm = form_fields(page, f"/invitations/{invite_id}/resend")
    assert confirm["submission_token"] == fields["submission_token"]  # still the one-time token
    assert confirm["confirm"] not in ("", "1")  # issued by the server (#13 finding 5), not a bare flag
    assert "Resend anyway" in page

    sent = client.post(f"/invitations/{invite_id}/resend", data=confirm)
    assert sent.status_code == 303 and sent.headers["Location"].split("?")[0] == f"/sent/{fields['submission_token']}"
    again = client.post(f"/invitations/{invite_id}/resend", data=confirm)
    assert again.headers["Location"] == sent.headers["Location"]
    assert len(invite_posts(sandbox)) == 1


def test_never_resent_invitation_sent_just_now_is_in_the_cooldown_too(client, sandbox):
    set_last_sent(sandbox, HELENA, minutes_ago=1, resent=False)
    invite_id, fields = resend_form(client, HELENA)
    page = text_of(client.post(f"/invitations/{invite_id}/resend", data=fields))
    assert "was sent an invitation 1 minute ago" in page and "has not been resent since" in page
    assert invite_posts(sandbox) == []


def test_cooldown_is_configurable(sandbox, tmp_path):
    def prompt_after(minutes: str, ago: float) -> bool:
        app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / f'{minutes}-{ago}.db'}",
                               INVITE_RESEND_COOLDOWN_MINUTES=minutes))
        client = app.test_client()
        set_last_sent(sandbox, HELENA, minutes_ago=ago)
        invite_id, fields = resend_form(client, HELENA)
        response = client.post(f"/invitations/{invite_id}/resend", data=fields)
        app.extensions["upstream"].client.close()
        return response.status_code == 200 and "Resend anyway" in response.get_data(as_text=True)

    assert prompt_after("30", ago=20) is True
    assert prompt_after("10", ago=20) is False  # the default would not ask
    assert prompt_after("0", ago=0) is False  # 0 turns the prompt off


def test_resend_refused_by_junction_lists_its_reasons_and_says_what_to_do_instead(client, sandbox):
    """A resend re-posts Junction's own values, so a 422 (here: one of its teams deleted meanwhile) cannot be
    corrected in a form: the result page lists Junction's reasons and says to revoke and invite again."""
    invite_id, fields = resend_form(client, HELENA)
    berlin = team_id(sandbox, "Berlin Clinic")
    with sandbox.state.lock:
        sandbox.state.teams = [t for t in sandbox.state.teams if t["id"] != berlin]
    response = client.post(f"/invitations/{invite_id}/resend", data=fields)
    assert response.status_code == 303
    result = text_of(client.get(response.headers["Location"]))
    assert "Junction did not accept this invitation again, so nothing was sent." in result
    assert "marked below" not in result  # there is no form to mark
    reasons = re.search(r'<ul class="reasons" aria-label="Junction\'s reasons">(.*?)</ul>', result, re.S)
    assert reasons and "<li>Teams: " in reasons.group(1), result
    assert "revoke it and invite the person again" in result
    with client.application.app_context():
        action = db.session.scalar(db.select(Action).where(Action.token == fields["submission_token"]))
        assert (action.action, action.outcome_kind) == ("resend", "validation_error")


def test_resend_of_an_invitation_gone_meanwhile_sends_nothing(client, sandbox):
    invite_id, fields = resend_form(client, HELENA)
    sandbox.state.revoke_invite(invite_id)  # revoked by someone else in the meantime
    response = client.post(f"/invitations/{invite_id}/resend", data=fields)
    assert response.status_code == 303
    assert response.headers["Location"] == "/invitations?q=Helena.Sousa@AcmeHealth.eu&notice=gone"
    page = text_of(client.get(response.headers["Location"]))
    assert "That invitation is no longer pending, so nothing was done." in page
    assert invite_posts(sandbox) == []  # never re-created by a resend


def test_resend_answered_already_in_org_links_to_the_member_row(client, sandbox):
    # The person accepted (is a member now) although the list still showed the invitation.
    invite_id, fields = resend_form(client, HELENA)
    with sandbox.state.lock:
        sandbox.state.members.append({**sandbox.state.members[0], "id": "2f7d3a8e-55b4-4c51-9f0e-7b1d2c3e4f50",
                                      "name": "Helena Sousa", "email": HELENA})
    result = text_of(client.get(client.post(f"/invitations/{invite_id}/resend", data=fields).headers["Location"]))
    assert "is already a member" in result
    assert ('href="/members?q=Helena.Sousa@AcmeHealth.eu#member-2f7d3a8e-55b4-4c51-9f0e-7b1d2c3e4f50"'
            in result)


# --- revoke ---------------------------------------------------------------------------------------------


def test_revoke_asks_for_confirmation_then_deletes_and_says_so(client, sandbox):
    invite_id = invite_of(sandbox, HELENA)["id"]
    page = client.get("/invitations", query_string={"q": "acmehealth.eu"}).get_data(as_text=True)
    href = html.unescape(re.search(rf'href="(/invitations/{invite_id}/revoke[^"]*)"', page).group(1))
    confirm = client.get(href)
    assert confirm.status_code == 200
    text = text_of(confirm)
    assert f"Revoke the invitation for {HELENA}?" in text
    assert re.search(r"<dt>Role</dt><dd>Team admin</dd>", text)
    assert re.search(r"<dt>Teams</dt><dd>Berlin Clinic, Dublin Telehealth</dd>", text)
    assert deletes(sandbox) == []  # the confirmation alone changes nothing

    fields = form_fields(text, f"/invitations/{invite_id}/revoke")
    response = client.post(f"/invitations/{invite_id}/revoke", data=fields)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/invitations?q=acmehealth.eu&done={fields['submission_token']}"
    [deleted] = deletes(sandbox)
    assert deleted["path"].endswith(f"/invite/{invite_id}")
    assert sandbox.state.find_invite_by_email(HELENA) is None

    listing = text_of(client.get(response.headers["Location"]))
    assert f"Revoked the invitation for {HELENA}." in listing
    assert 'class="alert alert-success" role="status"' in listing
    assert invite_id not in row_ids(listing)
    # The same form again (reload, double click): the same message, no second DELETE.
    assert client.post(f"/invitations/{invite_id}/revoke", data=fields).headers["Location"] == \
        response.headers["Location"]
    assert len(deletes(sandbox)) == 1


def test_revoke_confirmation_for_an_invitation_already_gone(client, sandbox):
    invite_id = invite_of(sandbox, HELENA)["id"]
    sandbox.state.revoke_invite(invite_id)
    response = client.get(f"/invitations/{invite_id}/revoke", query_string={"email": HELENA})
    assert response.status_code == 303
    assert "notice=gone" in response.headers["Location"]
    assert "That invitation is no longer pending" in text_of(client.get(response.headers["Location"]))


def test_invitation_revoked_by_someone_else_between_confirmation_and_post(client, sandbox):
    invite_id = invite_of(sandbox, HELENA)["id"]
    page = client.get(f"/invitations/{invite_id}/revoke", query_string={"email": HELENA}).get_data(as_text=True)
    fields = form_fields(page, f"/invitations/{invite_id}/revoke")
    sandbox.state.revoke_invite(invite_id)
    response = client.post(f"/invitations/{invite_id}/revoke", data=fields)
    assert response.status_code == 303
    text = text_of(client.get(response.headers["Location"]))
    assert "That invitation is no longer pending, so nothing was done." in text
    assert deletes(sandbox) == []


def test_invitation_revoked_between_lookup_and_delete_says_already_gone(client, sandbox, monkeypatch):
    invite_id = invite_of(sandbox, HELENA)["id"]
    page = client.get(f"/invitations/{invite_id}/revoke", query_string={"email": HELENA}).get_data(as_text=True)
    fields = form_fields(page, f"/invitations/{invite_id}/revoke")
    monkeypatch.setattr(sandbox.state, "revoke_invite", lambda _id: False)  # Junction answers 404
    response = client.post(f"/invitations/{invite_id}/revoke", data=fields)
    text = text_of(client.get(response.headers["Location"]))
    assert f"The invitation for {HELENA} was already gone." in text
    assert 'class="alert alert-warning" role="alert"' in text
    assert len(deletes(sandbox)) == 1


def test_revoke_failure_is_explained_on_the_list(client, sandbox, monkeypatch):
    invite_id = invite_of(sandbox, HELENA)["id"]
    page = client.get(f"/invitations/{invite_id}/revoke",
                      query_string={"email": HELENA, "q": "helena"}).get_data(as_text=True)
    fields = form_fields(page, f"/invitations/{invite_id}/revoke")

    def fail(_id):
        raise RuntimeError("boom")  # the sandbox answers 500

    monkeypatch.setattr(sandbox.state, "revoke_invite", fail)
    response = client.post(f"/invitations/{invite_id}/revoke", data=fields)
    assert response.status_code == 303
    text = text_of(client.get(response.headers["Location"]))
    assert f"Not revoked: the invitation for {HELENA} is still pending." in text
    assert invite_id in row_ids(text)


# --- bad ids, stale pages, expired forms ----------------------------------------------------------------


@pytest.mark.parametrize("bad", ["not-a-uuid", "1234", "c8d7d9c5-5d20-5581-8fec-7da6267df1dZ"])
def test_an_id_that_is_no_uuid_is_a_clear_404_without_calling_junction(client, sandbox, bad):
    client.get("/invitations")
    before = len(sandbox.state.requests_log())
    tokens = form_tokens(client.get("/").get_data(as_text=True))
    for response in (client.get(f"/invitations/{bad}/revoke"),
                     client.post(f"/invitations/{bad}/revoke", data=tokens),
                     client.post(f"/invitations/{bad}/resend", data=tokens)):
        assert response.status_code == 404
        assert "That address does not name an invitation" in text_of(response)
    assert len(sandbox.state.requests_log()) == before


def test_an_unknown_uuid_is_no_longer_pending(client, sandbox):
    response = client.get("/invitations/00000000-0000-4000-8000-000000000000/revoke", query_string={"q": "x"})
    assert response.status_code == 303 and response.headers["Location"] == "/invitations?q=x&notice=gone"


def test_a_stale_cursor_says_the_page_is_out_of_date(client, sandbox):
    first = client.get("/invitations").get_data(as_text=True)
    cursor = parse_qs(urlsplit(link(first, "next")).query)["cursor"][0]
    for url in ("/invitations?cursor=garbage", f"/invitations?q=acme&cursor={cursor}"):  # made up; other search
        response = client.get(url)
        assert response.status_code == 200
        text = text_of(response)
        assert "This page of results is out of date." in text
        assert "Go to the first page" in text
    assert "This page of results is out of date." in text_of(client.get("/members?cursor=garbage"))


def test_expired_form_goes_back_to_the_list_and_does_nothing(client, sandbox):
    invite_id, fields = resend_form(client, HELENA)
    no_csrf = {k: v for k, v in fields.items() if k != "csrf_token"}
    for action in ("resend", "revoke"):
        response = client.post(f"/invitations/{invite_id}/{action}", data=no_csrf)
        assert response.status_code == 303
        assert response.headers["Location"] == "/invitations?q=Helena.Sousa@AcmeHealth.eu&notice=expired"
    no_token = {k: v for k, v in fields.items() if k != "submission_token"}
    assert "notice=expired" in client.post(f"/invitations/{invite_id}/resend", data=no_token).headers["Location"]
    assert "That form had expired, so nothing was done." in text_of(client.get(
        "/invitations?notice=expired"))
    assert invite_posts(sandbox) == [] and deletes(sandbox) == []


def test_unknown_notice_or_done_token_shows_nothing(client):
    page = text_of(client.get("/invitations?notice=<script>&done=AAAAAAAAAAAAAAAAAAAAAAAA"))
    assert 'class="alert' not in page and "<script>" not in page.split("<main", 1)[1]


# --- upstream failures on each page ---------------------------------------------------------------------


@pytest.fixture
def unreachable(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'u.db'}",
                           JUNCTION_API_BASE_URL=f"http://127.0.0.1:{closed_port()}"))
    yield app.test_client()
    app.extensions["upstream"].client.close()


def test_unreachable_junction_on_every_page(unreachable, sandbox):
    client = unreachable
    invite_id = invite_of(sandbox, HELENA)["id"]
    pages = {
        "list": client.get("/invitations?q=helena&cursor=abc&back=xyz"),
        "members": client.get("/members?q=dana"),
        "revoke confirmation": client.get(f"/invitations/{invite_id}/revoke", query_string={"email": HELENA}),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        text = text_of(response)
        assert "the dashboard could not connect to Junction" in text, name
        assert "Try again" in text, name
    assert 'href="/invitations?q=helena&cursor=abc&back=xyz">Try again' in text_of(pages["list"])
    assert 'href="/members?q=dana">Try again' in text_of(pages["members"])

    # Row tokens are issued by the server for one action on one invitation (#13 finding 5).
    csrf = form_tokens(client.get("/").get_data(as_text=True))["csrf_token"]
    secret = client.application.secret_key
    data = {"csrf_token": csrf, "submission_token": issue_row_token(secret, "resend", invite_id), "email": HELENA,
            "q": "helena"}
    resend = client.post(f"/invitations/{invite_id}/resend", data=data)
    assert resend.status_code == 200
    text = text_of(resend)
    assert "Nothing was sent: the invitation could not be looked up: the dashboard could not connect" in text
    retry = form_fields(text, f"/invitations/{invite_id}/resend")  # nothing lost: the same form, once more
    assert retry["submission_token"] == data["submission_token"] and retry["email"] == HELENA

    data["submission_token"] = issue_row_token(secret, "revoke", invite_id)
    revoke = client.post(f"/invitations/{invite_id}/revoke", data=data)
    assert revoke.status_code == 200
    text = text_of(revoke)
    assert "Nothing was revoked: the invitation could not be looked up" in text
    assert form_fields(text, f"/invitations/{invite_id}/revoke")["submission_token"] == data["submission_token"]


def test_rejected_key_never_shows_the_key(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'k.db'}", JUNCTION_MANAGEMENT_KEY="mg_wrong_key_1234"))
    client = app.test_client()
    for url in ("/invitations", "/members"):
        response = client.get(url)
        text = text_of(response)
        assert response.status_code == 200
        assert "Junction rejected the dashboard's Management Key" in text
        assert "JUNCTION_MANAGEMENT_KEY" in text
        assert "mg_wrong_key_1234" not in text and DEMO_KEY not in text
        assert "Traceback" not in text
    app.extensions["upstream"].client.close()


def _fail_with(status: int, **headers: str):
    def fail(*_args, **_kwargs):
        abort(Response('{"detail": "nope"}', status=status, mimetype="application/json", headers=headers))
    return fail


@pytest.mark.parametrize(("status", "expected"), [
    (500, "Junction failed with a server error."),
    (429, "Junction is limiting how fast the dashboard may ask."),
    (404, "Junction does not know this organization."),
])
def test_junction_errors_on_the_lists(client, sandbox, monkeypatch, status, expected):
    client.get("/")  # team list and org name cached before Junction starts failing
    monkeypatch.setattr(sandbox.state, "find_invites", _fail_with(status, **{"Retry-After": "30"}))
    monkeypatch.setattr(sandbox.state, "find_members", _fail_with(status, **{"Retry-After": "30"}))
    for what, url in (("invitations", "/invitations?q=x"), ("members", "/members?q=x")):
        response = client.get(url)
        assert response.status_code == 200
        text = text_of(response)
        assert f"Could not load the {what}: {expected}" in text
        assert f"HTTP {status}" in text and "Nothing was changed." in text
        assert '<table class="data' not in text
    if status == 429:
        assert "Wait 30 seconds, then try again." in text


def test_junction_error_during_resend_lookup_keeps_the_form(client, sandbox, monkeypatch):
    invite_id, fields = resend_form(client, HELENA)
    monkeypatch.setattr(sandbox.state, "find_invites", _fail_with(500))
    response = client.post(f"/invitations/{invite_id}/resend", data=fields)
    text = text_of(response)
    assert response.status_code == 200
    assert "Nothing was sent" in text and "HTTP 500" in text
    monkeypatch.undo()
    retry = form_fields(text, f"/invitations/{invite_id}/resend")
    assert client.post(f"/invitations/{invite_id}/resend", data=retry).status_code == 303
    assert len(invite_posts(sandbox)) == 1


# --- members --------------------------------------------------------------------------------------------


def test_members_list_search_and_paging(client, sandbox):
    page = text_of(client.get("/members"))
    members = sandbox.state.find_members()
    ids = re.findall(r'<tr id="member-([0-9a-f-]{36})"', page)
    assert ids == [m["id"] for m in members[:5]]
    for label in ("Name", "Email", "Role", "Teams", "Member since"):
        assert f'<th scope="col">{label}</th>' in page
    assert "Cardiology, Remote Patient Monitoring" in page  # Priya, by team name
    assert '<time class="local" datetime="2026-01-05T09:00:00+00:00">2026-01-05 09:00 UTC</time>' in page
    second = text_of(client.get(link(page, "next")))
    assert re.findall(r'<tr id="member-([0-9a-f-]{36})"', second) == [m["id"] for m in members[5:]]
    assert link(second, "next") is None and link(second, "prev") == "/members"

    found = text_of(client.get("/members?q=lena.fischer@acmehealth.eu"))
    lena = next(m for m in members if m["name"] == "Lena Fischer")
    assert f'<tr id="member-{lena["id"]}" class="match">' in found
    assert "Berlin Clinic, München Labs" in found
    calls = requests_to(sandbox, "GET", MEMBER_PATH)
    assert len(calls) == 3 and calls[-1]["query"]["search_query"] == ["lena.fischer@acmehealth.eu"]


def test_invite_result_links_to_the_invitation_or_the_member_row(client, sandbox):
    page = client.get("/").get_data(as_text=True)
    created = client.post("/", data={**form_tokens(page), "email": "new.person@example.org", "role": "no_role"})
    text = text_of(client.get(created.headers["Location"]))
    assert 'href="/invitations?q=new.person@example.org">See it in Invitations' in text
    listing = text_of(client.get("/invitations?q=new.person@example.org"))
    assert row_ids(listing) == [invite_of(sandbox, "new.person@example.org")["id"]]

    page = client.get("/").get_data(as_text=True)
    dana = sandbox.state.members[0]
    member = client.post("/", data={**form_tokens(page), "email": dana["email"], "role": "no_role"})
    text = text_of(client.get(member.headers["Location"]))
    href = f'/members?q={dana["email"]}#member-{dana["id"]}'
    assert f'href="{href}">See {dana["email"]} in Members' in text
    row_page = text_of(client.get(href.split("#")[0]))
    assert f'<tr id="member-{dana["id"]}" class="match">' in row_page
