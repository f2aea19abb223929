"""Findings 4 and 9 of #13: whatever Junction or a header sends, the audit row is completed (values cut
deliberately, SQLite and PostgreSQL alike), and our own request id is recorded beside the proxy's."""

from __future__ import annotations

import html
import re

import pytest
from conftest import form_tokens, make_app
from scripted_upstream import Reply, ScriptedUpstream
from test_invite_flow_scripted import ORG, TEAM_A, TEAMS
from test_support_flow import form_fields

from invite.adapters.storage import DONE, Action, db
from invite.sandbox import DEMO_KEY, DEMO_ORG_ID

INVITE_ID = "3f1e2d3c-4b5a-4968-8776-655443322110"
LONG_EMAIL = "a" * 318 + "@example.org"  # 330 characters
LONG_ROLE = "r" * 40
LONG_JUNCTION_ID = "j" * 208


def listed(email=LONG_EMAIL, role=LONG_ROLE):
    return {"invites": [{
        "id": INVITE_ID, "email": email, "invited_at": "2020-01-01T00:00:00Z", "resent_at": None,
        "creator": {"type": "management_key"}, "role": role,
        "team_role_bindings": [{"team_id": TEAM_A}]}], "next_cursor": None}


class Junction:
    def __init__(self, post: Reply, invites: dict | None = None, teams: dict | None = None):
        self.post, self.invites, self.teams = post, invites or listed(), teams or TEAMS

    def __call__(self, request):
        path = request.target.split("?")[0]
        if request.method == "POST":
            return self.post
        if path.endswith("/team"):
            return Reply(200, json=self.teams)
        if path.endswith("/invite"):
            return Reply(200, json=self.invites)
        return Reply(200, json=ORG)


@pytest.fixture
def upstream():
    with ScriptedUpstream() as up:
        yield up


def app_for(upstream, database_url, junction, **env):
    upstream.handler = junction
    return make_app({
        "INVITE_SANDBOX": "1", "JUNCTION_API_BASE_URL": upstream.base_url, "JUNCTION_MANAGEMENT_KEY": DEMO_KEY,
        "JUNCTION_ORG_ID": DEMO_ORG_ID, "JUNCTION_TIMEOUT_SECONDS": "0.5", "SECRET_KEY": "s" * 32,
        "DATABASE_URL": database_url, **env,
    })


def only_row(app) -> Action:
    with app.app_context():
        rows = db.session.scalars(db.select(Action)).all()
        assert len(rows) == 1
        return rows[0]


def resend_through_the_list(client, **headers):
    page = client.get("/invitations").get_data(as_text=True)
    fields = form_fields(page, f"/invitations/{INVITE_ID}/resend")
    return client.post(f"/invitations/{INVITE_ID}/resend", data=fields, headers=headers)


def test_resend_of_an_over_long_email_and_role_is_completed(upstream, database_url):
    app = app_for(upstream, database_url, Junction(Reply(200, json={"status": "invite_resent"},
                                                         headers={"X-Request-Id": LONG_JUNCTION_ID})))
    client = app.test_client()
    response = resend_through_the_list(client)
    assert response.status_code == 303
    row = only_row(app)
    assert row.state == DONE and row.outcome_kind == "invite_resent"
    assert row.role == LONG_ROLE  # widened: kept whole
    assert len(row.target_email) == 320 and row.target_email.endswith("…")  # cut, and the cut marked
    assert row.junction_request_id is None  # a 200 carries none into the trail
    result = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "has not answered yet" not in result


@pytest.mark.parametrize("junction_id", [LONG_JUNCTION_ID, "x" * 600])
def test_an_over_long_junction_request_id_is_kept_or_cut(upstream, database_url, junction_id):
    app = app_for(upstream, database_url, Junction(Reply(409, json={"detail": "busy"},
                                                         headers={"X-Request-Id": junction_id})))
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    client.post("/", data={**form_tokens(page), "email": "x@example.org", "role": "no_role"})
    row = only_row(app)
    assert row.state == DONE and row.outcome_kind == "conflict"
    if len(junction_id) <= 256:
        assert row.junction_request_id == junction_id
    else:
        assert len(row.junction_request_id) == 256 and row.junction_request_id.endswith("…")


def test_an_over_long_forwarded_address_is_cut(upstream, database_url):
    app = app_for(upstream, database_url, Junction(Reply(200, json={"status": "invite_created"})),
                  PROXY_FIX_HOPS="1")
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    forwarded = "f" * 100
    client.post("/", data={**form_tokens(page), "email": "x@example.org", "role": "no_role"},
                headers={"X-Forwarded-For": forwarded})
    row = only_row(app)
    assert row.state == DONE and row.client_addr == forwarded
    client.post("/", data={**form_tokens(client.get("/").get_data(as_text=True)), "email": "y@example.org",
                           "role": "no_role"}, headers={"X-Forwarded-For": "g" * 300})
    with app.app_context():
        cut = db.session.scalar(db.select(Action).where(Action.target_email == "y@example.org"))
        assert cut.state == DONE and len(cut.client_addr) == 128


def test_nul_and_bidi_controls_from_junction_never_reach_the_trail(upstream, database_url):
    hostile_teams = {"teams": [{"id": TEAM_A, "name": "Card\x00io\u202elogy", "created_on": None, "region": "us"}],
                     "next_cursor": None}
    app = app_for(upstream, database_url, Junction(Reply(200, json={"status": "invite_resent"}),
                                                   invites=listed(email="n\x00ul@example.org", role="team_admin"),
                                                   teams=hostile_teams))
    client = app.test_client()
    assert resend_through_the_list(client).status_code == 303
    row = only_row(app)
    assert row.state == DONE
    assert row.target_email == "nul@example.org" and row.team_names == ["Cardiology"]
    csv_text = client.get("/activity.csv").get_data(as_text=True)
    assert "\x00" not in csv_text and "\u202e" not in csv_text and "Cardiology" in csv_text


def test_a_lone_surrogate_from_junction_is_shown_and_stored_as_a_replacement_character(upstream, database_url):
    """JSON can carry "\\ud800", which no encoder accepts: without care it is a 500 when the page, the trail or
    the CSV is written."""
    teams = {"teams": [{"id": TEAM_A, "name": "Cardio\ud800logy", "created_on": None, "region": "us"}],
             "next_cursor": None}
    app = app_for(upstream, database_url, Junction(Reply(200, json={"status": "invite_resent"}),
                                                   invites=listed(email="sur\udc00rogate@example.org",
                                                                  role="team_admin"),
                                                   teams=teams))
    client = app.test_client()
    listing = client.get("/invitations")
    assert listing.status_code == 200 and "sur\ufffdrogate@example.org" in listing.get_data(as_text=True)
    assert resend_through_the_list(client).status_code == 303
    row = only_row(app)
    assert row.state == DONE and row.team_names == ["Cardio\ufffdlogy"]
    assert "Cardio\ufffdlogy" in client.get("/activity.csv").get_data(as_text=True)


# --- finding 9: our own request id always beside the proxy's ------------------------------------------


@pytest.mark.parametrize(("sent", "kept"), [
    ("req-from-proxy.1", True),
    ("", False),
    ("x" * 65, False),
    ("-starts-with-a-dash", False),
    ("=HYPERLINK(1)", False),
    ("two words", False),
])
def test_the_trail_records_our_own_request_id_beside_the_proxys(upstream, database_url, sent, kept):
    app = app_for(upstream, database_url, Junction(Reply(200, json={"status": "invite_created"})))
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    response = client.post("/", data={**form_tokens(page), "email": "x@example.org", "role": "no_role"},
                           headers={"X-Request-Id": sent} if sent else {})
    row = only_row(app)
    assert re.fullmatch(r"[0-9a-f]{32}", row.own_request_id)
    assert row.request_id == (sent if kept else row.own_request_id)
    assert response.headers["X-Request-Id"] == row.request_id
    exported = client.get("/activity.csv").get_data(as_text=True)
    assert row.own_request_id in exported


def test_two_requests_sending_the_same_id_stay_apart(upstream, database_url):
    app = app_for(upstream, database_url, Junction(Reply(200, json={"status": "invite_created"})))
    client = app.test_client()
    for email in ("one@example.org", "two@example.org"):
        page = client.get("/").get_data(as_text=True)
        client.post("/", data={**form_tokens(page), "email": email, "role": "no_role"},
                    headers={"X-Request-Id": "same-id"})
    with app.app_context():
        rows = db.session.scalars(db.select(Action)).all()
    assert [r.request_id for r in rows] == ["same-id", "same-id"]
    assert len({r.own_request_id for r in rows}) == 2


def test_nul_and_bidi_controls_from_junction_never_reach_a_page(upstream, database_url):
    hostile = listed(email="eve\u202egpj.exe@example.org", role="no_role")
    hostile["invites"][0]["creator"] = {"type": "org_member", "name": "Ma\x00llory\u2066", "email": "m@x.org"}
    app = app_for(upstream, database_url, Junction(Reply(200, json={"status": "invite_resent"}), invites=hostile))
    page = app.test_client().get("/invitations").get_data(as_text=True)
    assert "evegpj.exe@example.org" in page and "Mallory" in page
    assert not any(ch in page for ch in "\x00\u202e\u2066")


def test_a_422_message_with_nul_is_stored_clean_and_shown(upstream, database_url):
    detail = [{"type": "value_error", "loc": ["body", "email"], "msg": "bad\x00 address\u202e"}]
    app = app_for(upstream, database_url, Junction(Reply(422, json={"detail": detail})))
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    response = client.post("/", data={**form_tokens(page), "email": "x@example.org", "role": "no_role"})
    assert response.status_code == 422
    assert "bad address" in response.get_data(as_text=True)
    row = only_row(app)
    assert row.state == DONE and row.outcome_kind == "validation_error"
