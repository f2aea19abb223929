"""Form flows against a scripted Junction over real HTTP, for answers the sandbox never gives."""

from __future__ import annotations

import html
import json
import re

import pytest
from conftest import form_tokens, make_app
from scripted_upstream import Reply, ScriptedUpstream

from invite.adapters.storage import Action, db
from invite.sandbox import DEMO_KEY, DEMO_ORG_ID

TEAM_A = "6f1c0c39-9a55-4b7e-8d0c-1a2b3c4d5e6f"
TEAM_B = "0b7e5a1e-3f0a-4c1d-9e2f-aabbccddeeff"
TEAMS = {"teams": [
    {"id": TEAM_A, "name": "Cardiology", "created_on": "2026-01-01T00:00:00Z", "region": "us"},
    {"id": TEAM_B, "name": "Sleep Lab", "created_on": "2026-01-02T00:00:00Z", "region": "eu"},
], "next_cursor": None}
ORG = {"id": DEMO_ORG_ID, "name": "Scripted Org", "expires_at": None}


class Junction:
    """Answers reads normally; the invite POST (and optionally the follow-up lookup) as each test says."""

    def __init__(self, post: Reply, lookup: Reply | None = None):
        self.post = post
        self.lookup = lookup or Reply(200, json={"invites": [], "next_cursor": None})

    def __call__(self, request):
        path = request.target.split("?")[0]
        if request.method == "POST":
            return self.post
        if path.endswith("/team"):
            return Reply(200, json=TEAMS)
        if path.endswith("/invite"):
            return self.lookup
        return Reply(200, json=ORG)


@pytest.fixture
def upstream():
    with ScriptedUpstream() as up:
        yield up


def client_for(upstream, tmp_path, junction: Junction):
    upstream.handler = junction
    app = make_app({
        "INVITE_SANDBOX": "1", "JUNCTION_API_BASE_URL": upstream.base_url, "JUNCTION_MANAGEMENT_KEY": DEMO_KEY,
        "JUNCTION_ORG_ID": DEMO_ORG_ID, "JUNCTION_TIMEOUT_SECONDS": "0.5", "SECRET_KEY": "s" * 32,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'scripted.db'}",
    })
    return app, app.test_client()


def send(client, **fields):
    page = client.get("/").get_data(as_text=True)
    response = client.post("/", data={**form_tokens(page), **fields})
    return response, html.unescape(response.get_data(as_text=True))


def error_items(text, field):
    match = re.search(rf'<ul class="field-errors" id="{field}-error">(.*?)</ul>', text, re.S)
    return re.findall(r"<li>(.*?)</li>", match.group(1), re.S) if match else []


def errors_under(text, field):
    """Junction's own words under a field: kept for support in each error's details."""
    return [re.search(r"<code>(.*?)</code>", item, re.S).group(1) for item in error_items(text, field)]


def test_422_errors_land_under_their_fields_and_the_rest_at_the_top(upstream, tmp_path):
    detail = [
        {"type": "value_error", "loc": ["body", "email"], "msg": "value is not a valid email address: bad domain"},
        {"type": "literal_error", "loc": ["body", "role", "literal['org_admin','team_admin']"],
         "msg": "Input should be 'org_admin' or 'team_admin'"},
        {"type": "literal_error", "loc": ["body", "role", "literal['no_role']"], "msg": "Input should be 'no_role'"},
        {"type": "value_error", "loc": ["body", "team_role_bindings", 1, "team_id"], "msg": "Team is archived"},
        {"type": "value_error", "loc": ["body", "team_role_bindings", 1, "team_id"], "msg": "Team is archived"},
        {"type": "uuid_parsing", "loc": ["path", "org_id"], "msg": "Input should be a valid UUID"},
        {"type": "extra_forbidden", "loc": ["body", "nickname"], "msg": "Extra inputs are not permitted"},
    ]
    app, client = client_for(upstream, tmp_path, Junction(Reply(422, json={"detail": detail})))
    response, text = send(client, email="someone@example.org", role="team_admin", teams=[TEAM_A, TEAM_B])
    assert response.status_code == 422
    assert errors_under(text, "email") == ["value is not a valid email address: bad domain"]
    assert errors_under(text, "role") == ["Input should be 'org_admin' or 'team_admin'", "Input should be 'no_role'"]
    assert errors_under(text, "teams") == ["Team “Sleep Lab”: Team is archived"]
    # ... and in plain words, with the way out beside them (invite/invites/messages.py).
    assert error_items(text, "email")[0].startswith("This is not an email address Junction can send to.")
    assert "Junction only accepts Org admin or Team admin here." in error_items(text, "role")[0]
    assert "Untick Sleep Lab, or refresh the team list." in error_items(text, "teams")[0]
    assert "Untick Sleep Lab, or refresh the team list." in text.split('class="team-problem"')[1]
    top = re.search(r'id="form-errors">(.*?)</div>', text, re.S).group(1)
    assert "Input should be a valid UUID (at path.org_id)" in top
    assert "Extra inputs are not permitted (at body.nickname)" in top
    assert 'aria-describedby="role-error role-help"' in text
    # Only the team Junction named is marked invalid; the group as a whole is described by the errors.
    assert re.search(rf'value="{TEAM_B}"[^>]*aria-invalid="true"', text)
    assert not re.search(rf'value="{TEAM_A}"[^>]*aria-invalid', text)
    assert "<title>Error: " in text
    assert 'value="someone@example.org"' in text
    with app.app_context():
        row = db.session.scalar(db.select(Action))
        assert row.outcome_kind == "validation_error" and row.http_status == 422


def test_timeout_whose_lookup_fails_too_is_recorded_unknown(upstream, tmp_path):
    app, client = client_for(upstream, tmp_path, Junction(Reply.stall(2), lookup=Reply.stall(2)))
    response, text = send(client, email="lost@example.org", role="no_role")
    assert "Unknown: may have been sent." in text and "Junction did not answer in time" in text
    assert "checking Junction's invitations list failed too" in text
    posts = [r for r in upstream.requests if r.method == "POST"]
    assert len(posts) == 1  # never retried
    assert json.loads(posts[0].body) == {"email": "lost@example.org", "role": "no_role", "team_role_bindings": None}
    with app.app_context():
        row = db.session.scalar(db.select(Action))
        assert row.outcome_kind == "unknown" and row.state == "done" and row.http_status is None


def test_timeout_with_nothing_listed_yet_says_it_may_still_be_on_its_way(upstream, tmp_path):
    _, client = client_for(upstream, tmp_path, Junction(Reply.stall(2)))
    _, text = send(client, email="lost@example.org", role="no_role")
    assert "does not list an invitation for lost@example.org yet" in text


def test_unknown_status_in_a_200_is_checked_and_found(upstream, tmp_path):
    pending = {"invites": [{
        "id": "3f1e2d3c-4b5a-4968-8776-655443322110", "email": "odd@example.org",
        "invited_at": "2099-01-01T00:00:00Z", "resent_at": None, "creator": {"type": "management_key"},
        "role": "no_role", "team_role_bindings": None}], "next_cursor": None}
    _, client = client_for(upstream, tmp_path, Junction(Reply(200, json={"status": "invite_queued"}),
                                                        lookup=Reply(200, json=pending)))
    response, _ = send(client, email="odd@example.org", role="no_role")
    assert response.status_code == 303
    result = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Invitation sent to odd@example.org" in result and "Junction did not confirm in time" in result


def test_connection_reset_after_sending_is_unknown_not_retried(upstream, tmp_path):
    _, client = client_for(upstream, tmp_path, Junction(Reply.reset()))
    _, text = send(client, email="reset@example.org", role="no_role")
    assert "Unknown: may have been sent." in text and "Junction did not answer in time" in text
    assert len([r for r in upstream.requests if r.method == "POST"]) == 1
