"""JunctionClient.iter_members / iter_invites: every item, lazily, in one traversal, over real HTTP."""

from __future__ import annotations

import math
from itertools import islice

import pytest
from scripted_upstream import Reply, ScriptedUpstream

from invite.junction import AuthenticationError, JunctionClient, UnexpectedResponseError
from invite.sandbox import DEMO_KEY, DEMO_ORG_ID, SandboxServer


@pytest.fixture
def sbx():
    server = SandboxServer(port=0, page_size=5).start()
    try:
        yield server
    finally:
        server.stop()


def client_for(base_url: str, key: str = DEMO_KEY, org_id: str = DEMO_ORG_ID) -> JunctionClient:
    return JunctionClient(base_url=base_url, management_key=key, org_id=org_id, timeout=2, connect_timeout=1,
                          backoff_factor=0.01)


@pytest.fixture
def jc(sbx):
    with client_for(sbx.base_url) as client:
        yield client


def gets(sbx, suffix: str) -> list[dict]:
    return [r for r in sbx.state.requests_log()
            if r["method"] == "GET" and r["path"] == f"/v1/org/{DEMO_ORG_ID}{suffix}"]


def test_iter_members_walks_every_page_once(jc, sbx):
    members = list(jc.iter_members())
    with sbx.state.lock:
        expected = sorted(m["email"] for m in sbx.state.members)
    assert sorted(m.email for m in members) == expected
    assert len(expected) == 8
    assert len(gets(sbx, "/member")) == math.ceil(len(expected) / 5) == 2


def test_iter_invites_walks_every_page_once_including_new_ones(jc, sbx):
    for i in range(9):
        jc.create_or_resend_invite(f"bulk{i}@example.com", "no_role", None)
    invites = list(jc.iter_invites())
    assert len(invites) == 12 + 9
    assert len({i.id for i in invites}) == len(invites)
    assert {f"bulk{i}@example.com" for i in range(9)} <= {i.email for i in invites}
    assert len(gets(sbx, "/invite")) == math.ceil(21 / 5) == 5


def test_pages_are_fetched_only_as_the_caller_goes(jc, sbx):
    invites = jc.iter_invites()
    assert gets(sbx, "/invite") == []  # nothing before the first item is asked for
    assert len(list(islice(invites, 5))) == 5
    assert len(gets(sbx, "/invite")) == 1
    next(invites)
    assert len(gets(sbx, "/invite")) == 2
    invites.close()
    assert len(gets(sbx, "/invite")) == 2


def test_a_refused_key_is_raised_on_the_first_item(sbx):
    with client_for(sbx.base_url, key="mg_not_the_key") as client:
        members = client.iter_members()
        with pytest.raises(AuthenticationError):
            next(members)


def test_a_repeated_cursor_ends_the_walk_with_an_error():
    member = {"id": "m1", "name": "A", "email": "a@example.com", "role": "no_role", "team_role_bindings": None,
              "created_on": "2026-01-01T00:00:00Z"}
    invite = {"id": "i1", "email": "b@example.com", "invited_at": "2026-08-01T10:00:00Z", "resent_at": None,
              "creator": {"type": "management_key"}, "role": "no_role", "team_role_bindings": None}
    with ScriptedUpstream() as up, client_for(up.base_url, key="mg_x", org_id="o1") as client:
        up.script(Reply(200, json={"members": [member], "next_cursor": "A"}),
                  Reply(200, json={"members": [member], "next_cursor": "A"}))
        with pytest.raises(UnexpectedResponseError, match="repeated a page cursor while listing members"):
            list(client.iter_members())
        up.script(Reply(200, json={"invites": [invite], "next_cursor": "B"}),
                  Reply(200, json={"invites": [invite], "next_cursor": "B"}))
        with pytest.raises(UnexpectedResponseError, match="repeated a page cursor while listing invites"):
            list(client.iter_invites())
