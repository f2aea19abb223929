"""The sandbox's Update Member and Remove Member beyond the document: 404s, the scripted member faults, and
what a null field means. (Their documented 200s and 422s are in tests/test_sandbox_contract.py.)"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests

from invite.sandbox import DEMO_KEY, DEMO_ORG_ID, SandboxServer
from invite.sandbox.member_scripts import MEMBER_SCRIPTED_ADDRESSES

UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(slow_seconds=0.5) as running:
        yield running


@pytest.fixture
def http(server: SandboxServer) -> Iterator[requests.Session]:
    server.state.reset()
    with requests.Session() as session:
        session.headers["X-Management-Key"] = DEMO_KEY
        yield session


def url(server: SandboxServer, member_id: str) -> str:
    return f"{server.base_url}/v1/org/{DEMO_ORG_ID}/member/{member_id}"


def added(server: SandboxServer, email: str, role: str = "no_role") -> dict:
    answer = requests.post(f"{server.base_url}/_sandbox/members", json={"name": "Scripted", "email": email,
                                                                       "role": role}, timeout=5)
    assert answer.status_code == 201
    return answer.json()


def held(server: SandboxServer, member_id: str) -> dict | None:
    return server.state.get_member(uuid.UUID(member_id))


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_an_unknown_member_is_a_404(server, http, method):
    answer = http.request(method, url(server, UNKNOWN), json={"role": None, "team_role_bindings": None}, timeout=5)
    assert (answer.status_code, answer.json()) == (404, {"detail": "Member not found"})


def test_a_null_field_leaves_its_value_and_a_role_without_teams_drops_them(server, http):
    priya = next(m for m in server.state.members if m["name"] == "Priya Natarajan")
    before = held(server, priya["id"])
    assert http.patch(url(server, priya["id"]), json={"role": None, "team_role_bindings": None}).status_code == 200
    assert held(server, priya["id"]) == before
    assert http.patch(url(server, priya["id"]), json={"role": "no_role", "team_role_bindings": None}).json() is None
    assert held(server, priya["id"])["role"] == "no_role"
    assert held(server, priya["id"])["team_role_bindings"] is None


@pytest.mark.parametrize("method", ["patch", "delete"])
@pytest.mark.parametrize(("email", "status"), [("status429@example.com", 429), ("status404@example.com", 404),
                                               ("status500@example.com", 500), ("status502@example.com", 502)])
def test_a_scripted_failure_changes_nothing(server, http, method, email, status):
    member = added(server, email)
    answer = http.request(method, url(server, member["id"]), json={"role": "org_admin", "team_role_bindings": None},
                          timeout=5)
    assert answer.status_code == status
    if status == 429:
        assert answer.headers["Retry-After"] == "30"
    assert held(server, member["id"]) == member


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_lost_acts_then_resets_the_connection(server, http, method):
    member = added(server, "LOST@example.com")
    with pytest.raises(requests.ConnectionError):
        http.request(method, url(server, member["id"]), json={"role": "org_admin", "team_role_bindings": None},
                     timeout=5)
    now = held(server, member["id"])
    assert now is None if method == "delete" else now["role"] == "org_admin"


def test_slow_acts_at_once_and_answers_late(server, http):
    member = added(server, "slow@example.com")
    with pytest.raises(requests.ReadTimeout):
        http.delete(url(server, member["id"]), timeout=0.2)
    assert held(server, member["id"]) is None


def test_the_scripted_member_addresses_are_listed_in_info(server):
    info = requests.get(f"{server.base_url}/_sandbox/info", timeout=5).json()
    assert info["scripted_member_addresses"] == MEMBER_SCRIPTED_ADDRESSES
