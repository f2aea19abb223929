"""The invite form end to end with Flask's test client: the app talks real HTTP to a sandbox on loopback."""

from __future__ import annotations

import html
import re
import socket
import threading

from conftest import TIMES_OUT_ON_SLOW, app_env, form_tokens, make_app

from invite.adapters.storage import Action, db
from invite.sandbox import DEMO_KEY

CARDIOLOGY = "Cardiology"
SLEEP = "Sleep Clinic"


def team_id(sandbox, name):
    return next(t["id"] for t in sandbox.state.teams if t["name"] == name)


def invite_posts(sandbox):
    return [e for e in sandbox.state.requests_log() if e["method"] == "POST" and e["path"].endswith("/invite")]


def post_invite(client, page=None, **fields):
    page = page if page is not None else client.get("/").get_data(as_text=True)
    data = dict(form_tokens(page))
    data.update(fields)
    return client.post("/", data=data)


def field_block(page, name):
    """The <input>/<select> tag for a field."""
    match = re.search(rf'<(input|select)[^>]*\bname="{name}"[^>]*>', page)
    assert match, f"no control named {name}"
    return match.group(0)


def test_form_lists_every_team_across_pages_and_has_no_role_chosen(client, sandbox):
    page = client.get("/").get_data(as_text=True)
    assert len(sandbox.state.teams) > sandbox.state.page_size * 2  # the team list really spans pages
    for team in sandbox.state.teams:
        assert f'value="{team["id"]}"' in page
    # Least privilege: no role is pre-chosen, so Enter alone never invites an org admin.
    assert re.search(r'<option value=""\s*selected>Choose a role</option>', page)
    assert not re.search(r'<option value="(org_admin|team_admin|no_role)"\s+selected>', page)
    assert re.search(r'<select id="role" name="role" required', page)
    assert "Acme Health" in page
    assert "Sandbox mode" in page
    for label in ("Email", "Role", "Teams"):
        assert label in page


def test_send_shows_result_after_redirect_and_posts_exactly_the_schema_body(client, sandbox):
    cardiology = team_id(sandbox, CARDIOLOGY)
    sleep = team_id(sandbox, SLEEP)
    response = post_invite(client, email="new.person@example.org", role="team_admin", teams=[cardiology, sleep])
    assert response.status_code == 303
    assert re.fullmatch(r"/sent/[A-Za-z0-9_-]+", response.headers["Location"])
    [sent] = invite_posts(sandbox)
    assert sent["json"] == {
        "email": "new.person@example.org",
        "role": "team_admin",
        "team_role_bindings": [{"team_id": cardiology}, {"team_id": sleep}],
    }
    result = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Invitation sent to new.person@example.org" in result
    assert "Team admin" in result and "Cardiology, Sleep Clinic" in result


def test_no_teams_sends_null_bindings(client, sandbox):
    response = post_invite(client, email="boss@example.org", role="org_admin")
    assert response.status_code == 303
    assert invite_posts(sandbox)[0]["json"] == {"email": "boss@example.org", "role": "org_admin",
                                                "team_role_bindings": None}


def test_pending_invite_is_resent_and_member_is_already_in_org(client, sandbox):
    pending = sandbox.state.invites[0]["email"]
    member = sandbox.state.members[0]["email"]
    resent = client.get(post_invite(client, email=pending, role="no_role").headers["Location"])
    assert "Invitation sent again to" in resent.get_data(as_text=True)
    member_page = client.get(post_invite(client, email=member, role="no_role").headers["Location"])
    text = member_page.get_data(as_text=True)
    assert "is already a member" in text and "no invitation was sent" in text


def test_reload_or_double_post_of_the_same_form_sends_once(client, sandbox):
    page = client.get("/").get_data(as_text=True)
    first = post_invite(client, page, email="once@example.org", role="org_admin")
    second = post_invite(client, page, email="once@example.org", role="org_admin")
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(invite_posts(sandbox)) == 1


def test_concurrent_double_click_sends_once(app, sandbox):
    probe = app.test_client()
    tokens = form_tokens(probe.get("/").get_data(as_text=True))
    with probe.session_transaction() as s:
        session_state = dict(s)  # the CSRF token is bound to the session
    results = []

    def click():
        # Each click is its own connection, as a browser's two requests would be.
        c = app.test_client()
        with c.session_transaction() as s:
            s.update(session_state)
        results.append(c.post("/", data={**tokens, "email": "slow@example.com", "role": "org_admin"}))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(invite_posts(sandbox)) == 1
    assert [r.status_code for r in results] == [303, 303]
    assert results[0].headers["Location"] == results[1].headers["Location"]


def test_local_validation_keeps_values_and_ties_errors_to_controls(client, sandbox):
    cardiology = team_id(sandbox, CARDIOLOGY)
    response = post_invite(client, email="not-an-email", role="team_admin", teams=[cardiology])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    email = field_block(page, "email")
    assert 'value="not-an-email"' in email
    assert 'aria-invalid="true"' in email and 'aria-describedby="email-error"' in email
    assert 'id="email-error"' in page and "valid email address" in page
    assert re.search(rf'value="{cardiology}"[^>]*checked', page)
    assert re.search(r'<option value="team_admin"\s+selected>', page)
    assert invite_posts(sandbox) == []


def test_unknown_role_is_refused_locally(client, sandbox):
    response = post_invite(client, email="x@example.org", role="superuser")
    assert response.status_code == 422
    assert "Choose one of the roles" in response.get_data(as_text=True)
    assert invite_posts(sandbox) == []


def test_team_admin_without_team_gets_guidance_then_may_override(client, sandbox):
    response = post_invite(client, email="lonely@example.org", role="team_admin")
    assert response.status_code == 422
    assert "A team admin with no team" in response.get_data(as_text=True)
    assert invite_posts(sandbox) == []
    page = response.get_data(as_text=True)
    confirmed = post_invite(client, page, email="lonely@example.org", role="team_admin", confirm_no_teams="y")
    assert confirmed.status_code == 303
    assert invite_posts(sandbox)[0]["json"]["team_role_bindings"] is None


def test_junction_422_for_a_team_removed_since_the_list_was_loaded_names_the_team(client, sandbox):
    page = client.get("/").get_data(as_text=True)  # caches the team list
    gone = team_id(sandbox, SLEEP)
    with sandbox.state.lock:
        sandbox.state.teams = [t for t in sandbox.state.teams if t["id"] != gone]
    response = post_invite(client, page, email="teamless@example.org", role="team_admin",
                           teams=[team_id(sandbox, CARDIOLOGY), gone])
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Junction did not accept this invitation" in text
    errors = re.search(r'<ul class="field-errors" id="teams-error">(.*?)</ul>', text, re.S).group(1)
    assert "Sleep Clinic" in errors and "does not belong" in errors
    # The re-rendered form carries a fresh token, so the corrected form really sends.
    fixed = post_invite(client, text, email="teamless@example.org", role="team_admin",
                        teams=[team_id(sandbox, CARDIOLOGY)])
    assert fixed.status_code == 303


def test_conflict_is_not_sent_and_keeps_values(client, sandbox):
    response = post_invite(client, email="status409@example.com", role="no_role")
    text = response.get_data(as_text=True)
    assert "Not sent: Junction refused this invitation as a conflict" in text
    assert "already being processed" in text
    assert 'value="status409@example.com"' in text
    assert re.search(r'<option value="no_role"\s+selected>', text)


def test_rate_limit_says_when_to_retry(client):
    text = post_invite(client, email="status429@example.com", role="org_admin").get_data(as_text=True)
    assert "Not sent: Junction is limiting" in text and "Wait 30 seconds" in text


def test_server_error_is_unknown_then_checked_in_words_and_in_the_trail_alike(client, app):
    """A 500 may have acted, so Junction's list is read at once; listing nothing still leaves it unknown, and
    the page says "Unknown" as the trail does (issues 21 and 22: no "safe to send again" beside "unknown")."""
    text = html.unescape(post_invite(client, email="status500@example.com", role="org_admin").get_data(as_text=True))
    assert "Unknown: may have been sent." in text and "Junction failed while handling it, and" in text
    assert "(HTTP 500)" not in text and "HTTP 500" in text  # the status under "For support", not in the title
    assert "checked right after, shows none for status500@example.com" in text and "probably not sent" in text
    assert "safe to send again" not in text
    with app.app_context():
        row = db.session.scalars(db.select(Action).where(Action.target_email == "status500@example.com")).one()
    assert row.outcome_kind == "unknown"


def test_an_answer_with_an_unknown_status_is_not_called_a_failure(client):
    text = html.unescape(post_invite(client, email="oddstatus@example.com", role="org_admin").get_data(as_text=True))
    assert "Junction's answer could not be understood, and" in text
    assert "probably not sent" not in text and "safe to send again" not in text


def test_bad_gateway_html_is_never_shown(client):
    text = post_invite(client, email="status502@example.com", role="org_admin").get_data(as_text=True)
    assert "<center>" not in text and "502 Bad Gateway" not in text
    assert "HTTP 502" in text


def test_timeout_is_unknown_then_checked_and_found_pending(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'invite.db'}", JUNCTION_TIMEOUT_SECONDS=TIMES_OUT_ON_SLOW))
    client = app.test_client()
    response = post_invite(client, email="slow@example.com", role="org_admin")
    # The sandbox creates the invite and then answers too late: the lookup finds it pending.
    assert response.status_code == 303
    text = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Junction did not confirm in time" in text
    assert "pending invitation for slow@example.com" in text


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_junction_says_not_sent(sandbox, tmp_path):
    from conftest import app_env, make_app

    url = f"http://127.0.0.1:{closed_port()}"
    client = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'u.db'}", JUNCTION_API_BASE_URL=url)).test_client()
    text = html.unescape(post_invite(client, email="someone@example.org", role="org_admin").get_data(as_text=True))
    assert "Not sent: the dashboard could not connect to Junction" in text
    assert 'value="someone@example.org"' in text


def test_rejected_key_says_not_sent_and_never_shows_the_key(sandbox, tmp_path):
    from conftest import app_env, make_app

    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'k.db'}", JUNCTION_MANAGEMENT_KEY="mg_wrong_key_1234"))
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    assert "team list could not be loaded" in page
    response = post_invite(client, page, email="someone@example.org", role="org_admin")
    text = html.unescape(response.get_data(as_text=True))
    assert "rejected the dashboard's Management Key" in text
    assert "mg_wrong_key_1234" not in text and "mg_wrong_key_1234" not in page


def test_expired_csrf_keeps_values(client):
    page = client.get("/").get_data(as_text=True)
    tokens = form_tokens(page)
    response = client.post("/", data={"submission_token": tokens["submission_token"], "email": "kept@example.org",
                                      "role": "no_role"}, headers={"Origin": "http://localhost"})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "this form had expired" in text and 'value="kept@example.org"' in text


def test_refresh_teams_reloads_and_keeps_entries(client, sandbox):
    page = client.get("/").get_data(as_text=True)
    with sandbox.state.lock:
        sandbox.state.teams.append({**sandbox.state.teams[0], "id": "11111111-2222-4333-8444-555555555555",
                                    "name": "Brand New Team"})
    assert "Brand New Team" not in client.get("/").get_data(as_text=True)  # cached
    data = {**form_tokens(page), "email": "kept@example.org", "role": "no_role"}
    refreshed = client.post("/teams/refresh", data=data).get_data(as_text=True)
    assert "Brand New Team" in refreshed and 'value="kept@example.org"' in refreshed
    assert invite_posts(sandbox) == []


def test_team_list_costs_one_traversal_per_ttl(client, sandbox):
    def team_calls():
        return len([e for e in sandbox.state.requests_log() if e["path"].endswith("/team")])

    client.get("/")
    first = team_calls()
    assert first == -(-len(sandbox.state.teams) // sandbox.state.page_size)  # one GET per page
    for _ in range(5):
        client.get("/")
    assert team_calls() == first


def test_key_never_in_any_page_or_header(client, sandbox, caplog):
    pages = [client.get("/"), post_invite(client, email="bad"), post_invite(client, email="status500@example.com"),
             client.get("/readyz"), client.get("/nowhere")]
    for response in pages:
        assert DEMO_KEY not in response.get_data(as_text=True)
        assert DEMO_KEY not in str(response.headers)
    assert DEMO_KEY not in caplog.text


def test_result_page_for_unknown_token_is_404(client):
    assert client.get("/sent/AAAAAAAAAAAAAAAAAAAAAAAA").status_code == 404
    assert client.get("/sent/bad token").status_code == 404


def test_a_post_without_a_role_is_refused_and_nothing_is_sent(client, sandbox):
    page = client.get("/").get_data(as_text=True)
    response = client.post("/", data={**form_tokens(page), "email": "norole@example.org", "role": ""})
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose a role: Org admin, Team admin or No role." in text
    assert 'value="norole@example.org"' in text
    assert invite_posts(sandbox) == []
