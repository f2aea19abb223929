"""The review's passing case kept as a test (#13): markup in every field Junction sends is shown as text,
on every page that shows it, never run."""

from __future__ import annotations

import pytest
from conftest import form_tokens, make_app
from scripted_upstream import Reply, ScriptedUpstream
from test_invite_flow_scripted import TEAM_A

from invite.sandbox import DEMO_KEY, DEMO_ORG_ID

EVIL = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'`'
INVITE_ID = "3f1e2d3c-4b5a-4968-8776-655443322110"
MEMBER_ID = "5a1e2d3c-4b5a-4968-8776-655443322110"


def hostile(request):
    path = request.target.split("?")[0]
    if request.method == "POST":
        return Reply(422, json={"detail": [{"type": "x", "loc": ["body", "email"], "msg": EVIL},
                                           {"type": "x", "loc": ["body", EVIL], "msg": EVIL}]})
    if path.endswith("/team"):
        return Reply(200, json={"teams": [{"id": TEAM_A, "name": EVIL, "created_on": None, "region": EVIL}],
                                "next_cursor": None})
    if path.endswith("/invite"):
        return Reply(200, json={"invites": [{
            "id": INVITE_ID, "email": f"x{EVIL}@example.org", "invited_at": "2020-01-01T00:00:00Z",
            "resent_at": None, "role": EVIL, "team_role_bindings": [{"team_id": TEAM_A}],
            "creator": {"type": "org_member", "name": EVIL, "email": EVIL}}], "next_cursor": None})
    if path.endswith("/member"):
        return Reply(200, json={"members": [{
            "id": MEMBER_ID, "name": EVIL, "email": f"m{EVIL}@example.org", "role": EVIL,
            "team_role_bindings": [{"team_id": TEAM_A}], "created_on": "2020-01-01T00:00:00Z"}],
            "next_cursor": None})
    return Reply(200, json={"id": DEMO_ORG_ID, "name": EVIL, "expires_at": None})


@pytest.fixture
def client(tmp_path):
    with ScriptedUpstream() as upstream:
        upstream.handler = hostile
        app = make_app({
            "INVITE_SANDBOX": "1", "JUNCTION_API_BASE_URL": upstream.base_url, "JUNCTION_MANAGEMENT_KEY": DEMO_KEY,
            "JUNCTION_ORG_ID": DEMO_ORG_ID, "JUNCTION_TIMEOUT_SECONDS": "1", "SECRET_KEY": "s" * 32,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
        yield app.test_client()
        app.extensions["upstream"].client.close()


def assert_inert(page: str):
    assert "<script>alert" not in page and "<img src=x" not in page and "onerror=alert(2)>" not in page
    assert "&lt;script&gt;" in page


def test_markup_from_junction_is_text_everywhere(client):
    form = client.get("/").get_data(as_text=True)
    assert_inert(form)
    for path in ("/invitations", "/members?q=m", f"/invitations/{INVITE_ID}/revoke?email=x"):
        assert_inert(client.get(path).get_data(as_text=True))
    refused = client.post("/", data={**form_tokens(form), "email": "x@example.org", "role": "team_admin",
                                     "teams": [TEAM_A]})
    assert refused.status_code == 422
    assert_inert(refused.get_data(as_text=True))
    assert_inert(client.get("/activity").get_data(as_text=True))
