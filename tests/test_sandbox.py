"""The Junction sandbox over real HTTP: auth, invites, validation errors, lists, scripted failures, hooks."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from invite.sandbox import (
    DEMO_KEY,
    DEMO_ORG_ID,
    README_SNIPPET,
    SCRIPTED_ADDRESSES,
    SandboxServer,
    SandboxState,
    create_sandbox_app,
)

SLOW_SECONDS = 0.25
UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(slow_seconds=SLOW_SECONDS) as running:
        yield running


@pytest.fixture
def api(server: SandboxServer) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["X-Management-Key"] = DEMO_KEY
        yield session


def org_url(server: SandboxServer, suffix: str = "", org_id: str = DEMO_ORG_ID) -> str:
    return f"{server.base_url}/v1/org/{org_id}{suffix}"


def invite(api: requests.Session, server: SandboxServer, body: Any, **kwargs: Any) -> requests.Response:
    return api.post(org_url(server, "/invite"), json=body, timeout=5, **kwargs)


def errors_of(response: requests.Response) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail
    return detail


def locs(response: requests.Response) -> list[list[Any]]:
    return [error["loc"] for error in errors_of(response)]


def collect(api: requests.Session, url: str, key: str, params: dict[str, Any] | None = None) -> list[list[dict]]:
    """Every page of a list, following next_cursor until it is null."""
    pages, cursor = [], None
    while True:
        query = dict(params or {})
        if cursor:
            query["next_cursor"] = cursor
        response = api.get(url, params=query, timeout=5)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {key, "next_cursor"}
        pages.append(body[key])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "next_cursor never ran out"


def team_id(server: SandboxServer, name: str) -> str:
    return next(t["id"] for t in server.state.teams if t["name"] == name)


# --- auth and the org ---------------------------------------------------------------------------------


def test_missing_key_is_403_and_wrong_key_401_before_any_validation(server):
    for org_id in (DEMO_ORG_ID, "not-a-uuid"):
        url = org_url(server, "/invite", org_id)
        missing = requests.post(url, json={}, timeout=5)
        assert (missing.status_code, missing.json()) == (403, {"detail": "Not authenticated"})
        empty = requests.post(url, json={}, headers={"X-Management-Key": ""}, timeout=5)
        assert empty.status_code == 403
        wrong = requests.post(url, json={}, headers={"X-Management-Key": "mg_wrong"}, timeout=5)
        assert (wrong.status_code, wrong.json()) == (401, {"detail": "Invalid management key"})
    assert server.state.stats()["requests"] == 6


def test_configured_key_replaces_the_demo_key():
    with SandboxServer(management_key="mg_other") as other:
        url = org_url(other)
        assert requests.get(url, headers={"X-Management-Key": DEMO_KEY}, timeout=5).status_code == 401
        assert requests.get(url, headers={"X-Management-Key": "mg_other"}, timeout=5).status_code == 200


def test_get_org(api, server):
    response = api.get(org_url(server), timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"id": DEMO_ORG_ID, "name": "Acme Health", "expires_at": None}


def test_org_id_not_a_uuid_is_422_and_unknown_org_404(api, server):
    for suffix in ("", "/team", "/member", "/invite"):
        bad = api.get(org_url(server, suffix, "acme"), timeout=5)
        [error] = errors_of(bad)
        assert error["loc"] == ["path", "org_id"]
        assert error["type"] == "uuid_parsing"
        assert error["msg"].startswith("Input should be a valid UUID, ")
        assert error["input"] == "acme" and "error" in error["ctx"]
        unknown = api.get(org_url(server, suffix, UNKNOWN_UUID), timeout=5)
        assert (unknown.status_code, unknown.json()) == (404, {"detail": "Org not found"})
    unknown_post = api.post(org_url(server, "/invite", UNKNOWN_UUID), json={"email": "x@example.com"}, timeout=5)
    assert (unknown_post.status_code, unknown_post.json()) == (404, {"detail": "Org not found"})


def test_unknown_routes_answer_like_fastapi_without_a_key(server):
    missing = requests.get(f"{server.base_url}/v1/nothing", timeout=5)
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    wrong_method = requests.put(org_url(server, "/invite"), timeout=5)
    assert (wrong_method.status_code, wrong_method.json()) == (405, {"detail": "Method Not Allowed"})
    assert "POST" in wrong_method.headers["Allow"]


# --- create or resend -----------------------------------------------------------------------------------


def test_new_address_creates_a_pending_invite_listed_first(api, server):
    cardiology = team_id(server, "Cardiology")
    before = len(server.state.invites)
    response = invite(
        api, server, {"email": "new.hire@example.org", "role": "team_admin",
                      "team_role_bindings": [{"team_id": cardiology}]}
    )
    assert (response.status_code, response.json()) == (200, {"status": "invite_created"})
    first = api.get(org_url(server, "/invite"), timeout=5).json()["invites"][0]
    assert first["email"] == "new.hire@example.org"
    assert first["role"] == "team_admin"
    assert first["team_role_bindings"] == [{"team_id": cardiology}]
    assert first["creator"] == {"type": "management_key"}
    assert first["resent_at"] is None and first["invited_at"].endswith("Z")
    uuid.UUID(first["id"])
    assert len(server.state.invites) == before + 1


def test_role_defaults_to_org_admin(api, server):
    assert invite(api, server, {"email": "defaults@example.org"}).json() == {"status": "invite_created"}
    [created] = [i for i in server.state.invites if i["email"] == "defaults@example.org"]
    assert created["role"] == "org_admin" and created["team_role_bindings"] is None


def test_pending_address_in_other_case_is_resent_with_the_new_role_and_teams(api, server):
    berlin = team_id(server, "Berlin Clinic")
    before = len(server.state.invites)
    response = invite(
        api, server, {"email": "helena.sousa@acmehealth.EU", "role": "no_role",
                      "team_role_bindings": [{"team_id": berlin}]}
    )
    assert response.json() == {"status": "invite_resent"}
    assert len(server.state.invites) == before
    [resent] = [i for i in server.state.invites if i["email"].lower() == "helena.sousa@acmehealth.eu"]
    assert resent["email"] == "Helena.Sousa@AcmeHealth.eu"  # kept as first invited
    assert resent["resent_at"] is not None and resent["resent_at"] > "2026-03-05"
    assert resent["role"] == "no_role" and resent["team_role_bindings"] == [{"team_id": berlin}]


def test_member_address_is_already_in_org_and_changes_nothing(api, server):
    before = server.state.find_invites()
    response = invite(api, server, {"email": "DANA.Whitfield@acmehealth.com", "role": "no_role"})
    assert response.json() == {"status": "already_in_org"}
    assert server.state.find_invites() == before


def test_clock_can_be_frozen_for_new_invites(api, server):
    from datetime import UTC, datetime

    server.state.clock = lambda: datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    invite(api, server, {"email": "frozen@example.org"})
    assert server.state.find_invite_by_email("FROZEN@example.org")["invited_at"] == "2026-11-02T08:30:00Z"


# --- 422 bodies -----------------------------------------------------------------------------------------


def test_missing_email(api, server):
    body = {"role": "org_admin"}
    assert errors_of(invite(api, server, body)) == [
        {"type": "missing", "loc": ["body", "email"], "msg": "Field required", "input": body}
    ]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("bad@", "There must be something after the @-sign."),
        ("no-at-sign.example.com", "An email address must have an @-sign."),
        ("a..b@example.com", "An email address cannot have two periods in a row."),
    ],
)
def test_bad_email_syntax(api, server, address, reason):
    assert errors_of(invite(api, server, {"email": address})) == [
        {
            "type": "value_error",
            "loc": ["body", "email"],
            "msg": f"value is not a valid email address: {reason}",
            "input": address,
            "ctx": {"reason": reason},
        }
    ]


def test_unknown_role_is_one_error_per_union_member(api, server):
    assert errors_of(invite(api, server, {"email": "ok@example.org", "role": "owner"})) == [
        {
            "type": "literal_error",
            "loc": ["body", "role", "literal['org_admin','team_admin']"],
            "msg": "Input should be 'org_admin' or 'team_admin'",
            "input": "owner",
            "ctx": {"expected": "'org_admin' or 'team_admin'"},
        },
        {
            "type": "literal_error",
            "loc": ["body", "role", "literal['no_role']"],
            "msg": "Input should be 'no_role'",
            "input": "owner",
            "ctx": {"expected": "'no_role'"},
        },
    ]


def test_team_bindings_errors_point_at_the_item(api, server):
    cardiology = team_id(server, "Cardiology")
    body = {
        "email": "ok@example.org",
        "role": "team_admin",
        "team_role_bindings": [{"team_id": cardiology}, {"team_id": "xyz"}, {}, {"team_id": UNKNOWN_UUID}],
    }
    not_uuid, missing, foreign = errors_of(invite(api, server, body))
    assert not_uuid["loc"] == ["body", "team_role_bindings", 1, "team_id"]
    assert not_uuid["type"] == "uuid_parsing" and not_uuid["input"] == "xyz"
    assert not_uuid["msg"] == "Input should be a valid UUID, " + not_uuid["ctx"]["error"]
    assert "`x`" in not_uuid["ctx"]["error"]
    assert missing == {
        "type": "missing", "loc": ["body", "team_role_bindings", 2, "team_id"], "msg": "Field required", "input": {}
    }
    assert foreign == {
        "type": "value_error",
        "loc": ["body", "team_role_bindings", 3, "team_id"],
        "msg": f"Value error, Team {UNKNOWN_UUID} does not belong to this org",
        "input": UNKNOWN_UUID,
        "ctx": {"error": {}},
    }


def test_team_bindings_not_a_list(api, server):
    [error] = errors_of(invite(api, server, {"email": "ok@example.org", "team_role_bindings": "Cardiology"}))
    assert error == {
        "type": "list_type",
        "loc": ["body", "team_role_bindings"],
        "msg": "Input should be a valid list",
        "input": "Cardiology",
    }


def test_body_not_json(api, server):
    response = api.post(
        org_url(server, "/invite"), data="email=x", headers={"Content-Type": "application/json"}, timeout=5
    )
    assert response.json() == {
        "detail": [
            {"type": "json_invalid", "loc": ["body", 0], "msg": "JSON decode error", "input": {},
             "ctx": {"error": "Expecting value"}}
        ]
    }


def test_empty_body_and_non_object_body(api, server):
    empty = api.post(org_url(server, "/invite"), timeout=5)
    assert errors_of(empty) == [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]
    listed = invite(api, server, ["ok@example.org"])
    assert [(e["type"], e["loc"]) for e in errors_of(listed)] == [("model_attributes_type", ["body"])]


def test_several_bad_fields_and_bad_org_are_reported_together_in_fastapi_order(api, server):
    response = api.post(
        org_url(server, "/invite", "nope"), json={"email": "bad@", "role": "owner", "team_role_bindings": 3},
        timeout=5,
    )
    assert locs(response) == [
        ["path", "org_id"],
        ["body", "email"],
        ["body", "role", "literal['org_admin','team_admin']"],
        ["body", "role", "literal['no_role']"],
        ["body", "team_role_bindings"],
    ]


def test_rejected_posts_change_nothing(api, server):
    before = server.state.find_invites()
    invite(api, server, {"email": "ok@example.org", "role": "owner"})
    invite(api, server, {"email": "ok@example.org", "team_role_bindings": [{"team_id": UNKNOWN_UUID}]})
    assert server.state.find_invites() == before


# --- lists ----------------------------------------------------------------------------------------------


def test_invites_stay_newest_first_without_sorting_all_of_them_on_each_create():
    """A create puts the invite where a full sort would (the sandbox once re-sorted 10,000 invites under its
    lock on every create); an invite a test appends by hand is put in order on the next use, as before."""
    from datetime import UTC, datetime, timedelta

    state = SandboxState()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    moments = iter([start + timedelta(minutes=m) for m in (5, -3, 40, 5, -700, 12)])
    state.clock = lambda: next(moments)
    for i in range(6):
        assert state.create_or_resend_invite(f"order{i}@example.org", "no_role") == "invite_created"
    appended = {**state.invites[-1], "id": str(uuid.uuid4()), "email": "by-hand@example.org",
                "invited_at": "2026-01-01T00:01:00Z"}
    state.invites.append(appended)
    assert state.find_invite_by_email("BY-HAND@example.org") == appended
    state.clock = lambda: start + timedelta(minutes=1)
    assert state.create_or_resend_invite("by-hand@example.org", "no_role") == "invite_resent"
    expected = sorted(state.invites, key=lambda i: (datetime.fromisoformat(i["invited_at"]), i["id"]),
                      reverse=True)
    assert [i["id"] for i in state.find_invites(copies=False)] == [i["id"] for i in expected]
    assert state.invites == expected
    assert state.revoke_invite(uuid.UUID(appended["id"]))
    assert state.find_invite_by_email("by-hand@example.org") is None
    assert state.create_or_resend_invite("by-hand@example.org", "no_role") == "invite_created"


def test_members_are_listed_oldest_first_after_changes_and_additions_by_hand():
    state = SandboxState()
    added = state.add_member("Zed Newcomer", "zed@example.org")
    by_hand = {**added, "id": str(uuid.uuid4()), "email": "hand@example.org", "created_on": "2000-01-01T00:00:00Z"}
    state.members.append(by_hand)
    listed = state.find_members(copies=False)
    assert listed[0] is by_hand and listed[-1]["email"] == "zed@example.org"
    assert state.create_or_resend_invite("HAND@example.org", "no_role") == "already_in_org"
    assert state.remove_member(uuid.UUID(by_hand["id"]))
    assert [m["email"] for m in state.find_members("hand@")] == []
    assert state.create_or_resend_invite("hand@example.org", "no_role") == "invite_created"


def test_invites_page_through_newest_first_without_gaps_or_duplicates(api, server):
    pages = collect(api, org_url(server, "/invite"), "invites")
    assert [len(p) for p in pages] == [5, 5, 2]
    invites = [i for page in pages for i in page]
    assert [i["id"] for i in invites] == [i["id"] for i in server.state.invites]
    assert len({i["id"] for i in invites}) == 12
    stamps = [i["invited_at"] for i in invites]
    assert stamps == sorted(stamps, reverse=True)
    assert {i["creator"]["type"] for i in invites} == {
        "org_member", "removed_org_member", "vital_staff", "management_key"
    }
    assert any(i["resent_at"] for i in invites) and not all(i["resent_at"] for i in invites)
    assert {i["role"] for i in invites} == {"org_admin", "team_admin", "no_role"}


def test_teams_page_through_in_name_order(api, server):
    pages = collect(api, org_url(server, "/team"), "teams")
    assert [len(p) for p in pages] == [5, 5, 5, 1]
    names = [t["name"] for page in pages for t in page]
    assert len(set(names)) == len(names) == 16
    assert names == sorted(names, key=str.casefold)
    assert set(pages[0][0]) == {"id", "name", "created_on", "region", "integration_team_id"}


def test_members_page_through(api, server):
    pages = collect(api, org_url(server, "/member"), "members")
    members = [m for page in pages for m in page]
    assert [len(p) for p in pages] == [5, 3]
    assert len({m["id"] for m in members}) == 8
    assert {m["role"] for m in members} == {"org_admin", "team_admin", "no_role"}
    admins = [m for m in members if m["role"] == "team_admin"]
    assert all(m["team_role_bindings"] for m in admins)


def test_page_size_and_extra_teams_are_configurable():
    with SandboxServer(page_size=250, extra_teams=2000) as big, requests.Session() as session:
        session.headers["X-Management-Key"] = DEMO_KEY
        pages = collect(session, org_url(big, "/team"), "teams")
    assert [len(p) for p in pages] == [250] * 8 + [16]
    teams = [t for page in pages for t in page]
    assert len({t["id"] for t in teams}) == len({t["name"] for t in teams}) == 2016
    assert {t["region"] for t in teams} == {"us", "eu"}


def test_search_invites_by_email_case_insensitively(api, server):
    found = api.get(org_url(server, "/invite"), params={"search_query": "ACMEHEALTH.EU"}, timeout=5).json()
    emails = sorted(i["email"] for i in found["invites"])
    assert emails == [
        "Helena.Sousa@AcmeHealth.eu", "anna.berg@acmehealth.eu", "claire.dubois@acmehealth.eu"
    ]
    assert found["next_cursor"] is None


def test_search_members_by_name_or_email(api, server):
    by_name = api.get(org_url(server, "/member"), params={"search_query": "álvarez"}, timeout=5).json()
    assert [m["email"] for m in by_name["members"]] == ["tomas.alvarez@acmehealth.eu"]
    by_email = api.get(org_url(server, "/member"), params={"search_query": "OCONNOR@"}, timeout=5).json()
    assert [m["name"] for m in by_email["members"]] == ["Sam O'Connor"]


def test_search_teams_by_name_and_pattern_violation(api, server):
    found = api.get(org_url(server, "/team"), params={"search_query": "data PLATFORM"}, timeout=5).json()
    assert [t["name"] for t in found["teams"]] == ["Data Platform", "EU Data Platform"]
    apostrophe = api.get(org_url(server, "/team"), params={"search_query": "Women's"}, timeout=5)
    assert [t["name"] for t in apostrophe.json()["teams"]] == ["Women's Health"]
    for bad in ("<script>", "x" * 81):
        [error] = errors_of(api.get(org_url(server, "/team"), params={"search_query": bad}, timeout=5))
        assert error["loc"] == ["query", "search_query"]
        assert error["type"] == "string_pattern_mismatch" and error["input"] == bad
        assert error["msg"] == f"String should match pattern '{error['ctx']['pattern']}'"


def test_region_filter(api, server):
    eu = [t for page in collect(api, org_url(server, "/team"), "teams", {"region": "eu"}) for t in page]
    assert len(eu) == 7 and {t["region"] for t in eu} == {"eu"}
    both = collect(api, org_url(server, "/team"), "teams", {"region": ["us", "eu"]})
    assert sum(len(p) for p in both) == 16
    [error] = errors_of(api.get(org_url(server, "/team"), params={"region": ["us", "asia"]}, timeout=5))
    assert error["loc"] == ["query", "region", 1] and error["type"] == "literal_error"
    assert error["msg"] == "Input should be 'us' or 'eu'"


def test_team_id_filter(api, server):
    berlin = team_id(server, "Berlin Clinic")
    found = api.get(org_url(server, "/team"), params={"team_id": berlin}, timeout=5).json()
    assert [t["name"] for t in found["teams"]] == ["Berlin Clinic"]


def test_bad_or_foreign_cursor_is_422_and_empty_cursor_means_first_page(api, server):
    url = org_url(server, "/invite")
    for cursor in ("garbage", "MTA", "!!!"):
        [error] = errors_of(api.get(url, params={"next_cursor": cursor}, timeout=5))
        assert error["loc"] == ["query", "next_cursor"] and error["input"] == cursor
    cursor = api.get(url, timeout=5).json()["next_cursor"]
    assert locs(api.get(url, params={"next_cursor": cursor, "search_query": "a"}, timeout=5)) == [
        ["query", "next_cursor"]
    ]
    team_cursor = api.get(org_url(server, "/team"), timeout=5).json()["next_cursor"]
    assert locs(api.get(url, params={"next_cursor": team_cursor}, timeout=5)) == [["query", "next_cursor"]]
    first = api.get(url, params={"next_cursor": ""}, timeout=5).json()
    assert first == api.get(url, timeout=5).json()


# --- revoke ---------------------------------------------------------------------------------------------


def test_revoke(api, server):
    target = server.state.find_invite_by_email("grace.lin@acmehealth.com")
    url = org_url(server, f"/invite/{target['id']}")
    response = api.delete(url, timeout=5)
    assert response.status_code == 200 and response.text == "null" and response.json() is None
    remaining = [i for page in collect(api, org_url(server, "/invite"), "invites") for i in page]
    assert target["id"] not in {i["id"] for i in remaining} and len(remaining) == 11
    again = api.delete(url, timeout=5)
    assert (again.status_code, again.json()) == (404, {"detail": "Invite not found"})
    [error] = errors_of(api.delete(org_url(server, "/invite/123"), timeout=5))
    assert error["loc"] == ["path", "invite_id"] and error["type"] == "uuid_parsing"
    assert locs(api.delete(org_url(server, "/invite/123", "x"), timeout=5)) == [
        ["path", "invite_id"], ["path", "org_id"]
    ]


# --- scripted addresses ---------------------------------------------------------------------------------


def test_scripted_failures_answer_as_documented_and_change_nothing(api, server):
    before = server.state.find_invites()
    conflict = invite(api, server, {"email": "status409@example.com"})
    assert (conflict.status_code, conflict.json()) == (
        409, {"detail": "An invitation for this address is already being processed"}
    )
    limited = invite(api, server, {"email": "Status429@Example.com"})
    assert (limited.status_code, limited.json()) == (429, {"detail": "Too many requests"})
    assert limited.headers["Retry-After"] == "30"
    crashed = invite(api, server, {"email": "status500@example.com"})
    assert (crashed.status_code, crashed.text) == (500, "Internal Server Error")
    assert crashed.headers["Content-Type"].startswith("text/plain")
    gateway = invite(api, server, {"email": "status502@example.com"})
    assert gateway.status_code == 502 and gateway.headers["Content-Type"].startswith("text/html")
    assert "<title>502 Bad Gateway</title>" in gateway.text
    odd = invite(api, server, {"email": "oddstatus@example.com"})
    assert (odd.status_code, odd.json()) == (200, {"status": "invite_queued"})
    assert server.state.find_invites() == before


def test_scripted_addresses_still_need_auth_and_a_valid_body(api, server):
    assert requests.post(org_url(server, "/invite"), json={"email": "status500@example.com"}, timeout=5
                         ).status_code == 403
    response = invite(api, server, {"email": "status500@example.com", "role": "owner"})
    assert response.status_code == 422


def test_slow_address_acts_at_once_and_answers_late(api, server):
    started = time.monotonic()
    response = invite(api, server, {"email": "slow@example.com"})
    assert response.json() == {"status": "invite_created"}
    assert time.monotonic() - started >= SLOW_SECONDS
    with pytest.raises(requests.ReadTimeout):
        api.post(org_url(server, "/invite"), json={"email": "SLOW@example.com"}, timeout=(2, 0.1))
    # The client gave up, but the resend already happened: Junction acted, only its answer was late.
    assert server.state.find_invite_by_email("slow@example.com")["resent_at"] is not None


def test_scripted_addresses_are_documented():
    assert set(SCRIPTED_ADDRESSES) == {
        "status409@example.com", "status429@example.com", "status500@example.com",
        "status502@example.com", "slow@example.com", "oddstatus@example.com",
    }
    for address in SCRIPTED_ADDRESSES:
        assert f"`{address}`" in README_SNIPPET


# --- latency, connections, hooks ------------------------------------------------------------------------


def test_latency_is_added_to_every_v1_response_only():
    # Half a second: the answer without latency has that long on a loaded machine.
    with SandboxServer(latency_ms=500) as slow, requests.Session() as session:
        started = time.monotonic()
        assert session.get(org_url(slow), timeout=5).status_code == 403
        assert time.monotonic() - started >= 0.5
        started = time.monotonic()
        session.get(f"{slow.base_url}/_sandbox/stats", timeout=5)
        assert time.monotonic() - started < 0.5


def test_one_session_keeps_one_connection_alive(api, server):
    api.get(org_url(server), timeout=5)
    invite(api, server, {"email": "keepalive@example.org"})
    # Bodies the app never looks at must not bleed into the next request on the connection.
    api.post(f"{server.base_url}/v1/unknown", data="x" * 10_000, timeout=5)
    api.get(org_url(server, "/team"), timeout=5)
    api.delete(org_url(server, f"/invite/{UNKNOWN_UUID}"), timeout=5)
    last = api.get(org_url(server, "/member"), timeout=5)
    assert last.status_code == 200 and "Connection" not in last.headers
    assert server.state.stats() == {"connections_accepted": 1, "requests": 6}
    for _ in range(2):
        requests.get(org_url(server), timeout=5)
    assert server.state.connections_accepted == 3


def test_concurrent_clients(server):
    def work(n: int) -> list[int]:
        with requests.Session() as session:
            session.headers["X-Management-Key"] = DEMO_KEY
            statuses = [session.get(org_url(server, "/team"), timeout=5).status_code for _ in range(5)]
            statuses.append(session.post(org_url(server, "/invite"), json={"email": f"c{n}@example.org"},
                                         timeout=5).status_code)
            return statuses

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(8)))
    assert all(status == 200 for statuses in results for status in statuses)
    assert server.state.stats() == {"connections_accepted": 8, "requests": 48}
    assert len(server.state.invites) == 20


def test_request_log_records_requests_and_never_the_key(api, server):
    api.get(org_url(server, "/team"), params={"region": ["us", "eu"]}, timeout=5)
    invite(api, server, {"email": "log@example.org", "role": "no_role"})
    api.get(org_url(server, "/invite"), params={"search_query": DEMO_KEY}, timeout=5)  # a confused client
    requests.get(org_url(server), headers={"X-Management-Key": "mg_wrong"}, timeout=5)
    hooks = requests.get(f"{server.base_url}/_sandbox/requests", timeout=5)
    logged = hooks.json()
    assert [(r["method"], r["path"][len(f"/v1/org/{DEMO_ORG_ID}"):], r["status"]) for r in logged] == [
        ("GET", "/team", 200), ("POST", "/invite", 200), ("GET", "/invite", 200), ("GET", "", 401)
    ]
    assert logged[0]["query"] == {"region": ["us", "eu"]}
    assert logged[1]["json"] == {"email": "log@example.org", "role": "no_role"}
    assert logged[2]["query"] == {"search_query": ["[redacted]"]}
    stats = requests.get(f"{server.base_url}/_sandbox/stats", timeout=5)
    assert stats.json() == {"connections_accepted": 4, "requests": 4}  # session, bad key, two hooks
    info = requests.get(f"{server.base_url}/_sandbox/info", timeout=5)
    for text in (hooks.text, stats.text, info.text, repr(server.state.received), repr(server.state.stats())):
        assert DEMO_KEY not in text
    assert "mg_wrong" not in hooks.text
    assert server.state.requests_log() == logged


def test_reset_reseeds_and_zeroes_counters(api, server):
    invite(api, server, {"email": "gone@example.org"})
    api.delete(org_url(server, f"/invite/{server.state.invites[-1]['id']}"), timeout=5)
    response = requests.post(f"{server.base_url}/_sandbox/reset", timeout=5)
    assert response.status_code == 200
    assert len(server.state.invites) == 12 and server.state.find_invite_by_email("gone@example.org") is None
    assert server.state.received == [] and server.state.requests_total == 0


# --- Python API -----------------------------------------------------------------------------------------


def test_seed_is_deterministic_and_states_are_independent():
    one, two = SandboxState(), SandboxState()
    assert one.teams == two.teams and one.members == two.members and one.invites == two.invites
    assert one.org["id"] == DEMO_ORG_ID
    assert len(one.teams) >= 14 and {t["region"] for t in one.teams} == {"us", "eu"}
    one.create_or_resend_invite("only-one@example.org")
    assert len(one.invites) == 13 and len(two.invites) == 12
    app = create_sandbox_app(two)
    assert app.extensions["invite_sandbox"] is two
    assert create_sandbox_app().extensions["invite_sandbox"] is not two


def test_server_lifecycle():
    server = SandboxServer()
    with pytest.raises(RuntimeError):
        _ = server.base_url
    with server:
        url = server.base_url
        assert url.startswith("http://127.0.0.1:") and server.port != 0
        assert requests.get(f"{url}/_sandbox/stats", timeout=5).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/_sandbox/stats", timeout=1)


def test_python_dash_m_serves_until_sigterm():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "invite.sandbox", "--port", "0", "--quiet", "--page-size", "3"],
        cwd=REPO, env=env, stderr=subprocess.PIPE, text=True,
    )
    try:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True).start()
        deadline = time.monotonic() + 15
        line = ""
        while "listening on" not in line:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        assert "Junction sandbox listening on http://127.0.0.1:" in line
        url = line.split("listening on ")[1].split()[0]
        body = requests.get(f"{url}/v1/org/{DEMO_ORG_ID}/team", headers={"X-Management-Key": DEMO_KEY},
                            timeout=5).json()
        assert len(body["teams"]) == 3
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
