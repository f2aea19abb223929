"""JunctionClient against the built-in sandbox: the real shapes end to end."""

from __future__ import annotations

import math
import time

import pytest

from invite.junction import (
    AuthenticationError,
    ConflictError,
    InviteStatus,
    JunctionClient,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    ValidationError,
)
from invite.sandbox import DEMO_KEY, DEMO_ORG_ID, SandboxServer

SLOW_SECONDS = 0.8


@pytest.fixture
def sbx():
    server = SandboxServer(port=0, slow_seconds=SLOW_SECONDS).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def jc(sbx):
    client = JunctionClient(base_url=sbx.base_url, management_key=DEMO_KEY, org_id=DEMO_ORG_ID,
                            timeout=2, connect_timeout=1, backoff_factor=0.01)
    yield client
    client.close()


def requests_to(sbx, method: str, suffix: str) -> list[dict]:
    return [r for r in sbx.state.requests_log()
            if r["method"] == method and r["path"] == f"/v1/org/{DEMO_ORG_ID}{suffix}"]


def test_org_and_all_teams_across_pages(jc, sbx):
    assert jc.get_org().id == DEMO_ORG_ID
    teams = jc.list_teams()
    assert len(teams) >= 14
    assert len({t.id for t in teams}) == len(teams)
    assert {t.region for t in teams} <= {"us", "eu"}
    assert all(t.created_on is not None and t.created_on.tzinfo is not None for t in teams)
    assert len(requests_to(sbx, "GET", "/team")) == math.ceil(len(teams) / sbx.state.page_size)


def test_create_resend_already_in_org_and_revoke(jc, sbx):
    team = jc.list_teams()[0]
    assert jc.create_or_resend_invite("new.person@example.com", "team_admin", [team.id]) is (
        InviteStatus.INVITE_CREATED
    )
    resent = jc.create_or_resend_invite("New.Person@example.com", "org_admin", None)
    assert resent is InviteStatus.INVITE_RESENT
    member = jc.list_members().items[0]
    assert jc.create_or_resend_invite(member.email, "no_role", None) is InviteStatus.ALREADY_IN_ORG

    [first, second, _] = requests_to(sbx, "POST", "/invite")
    assert first["json"] == {"email": "new.person@example.com", "role": "team_admin",
                             "team_role_bindings": [{"team_id": team.id}]}
    assert second["json"]["team_role_bindings"] is None

    pending = jc.find_pending_invite("NEW.PERSON@example.com")
    assert pending is not None and pending.email.casefold() == "new.person@example.com"
    assert pending.resent_at is not None and pending.creator.type == "management_key"
    jc.revoke_invite(pending.id)
    assert jc.find_pending_invite("new.person@example.com") is None


def test_bad_email_and_bad_team_are_422_with_issues(jc):
    with pytest.raises(ValidationError) as info:
        jc.create_or_resend_invite("not-an-email", "org_admin", None)
    assert info.value.issues and all(isinstance(i.msg, str) and i.msg for i in info.value.issues)
    assert ("body", "email") in {i.loc[:2] for i in info.value.issues}
    with pytest.raises(ValidationError) as info:
        jc.create_or_resend_invite("ok@example.com", "team_admin", ["not-a-uuid"])
    assert any(i.loc[:3] == ("body", "team_role_bindings", 0) for i in info.value.issues)


def test_wrong_key_is_authentication_error(sbx):
    client = JunctionClient(base_url=sbx.base_url, management_key="mg_wrong", org_id=DEMO_ORG_ID)
    with client, pytest.raises(AuthenticationError) as info:
        client.get_org()
    assert info.value.http_status == 401


def test_scripted_failures(jc, sbx):
    with pytest.raises(ConflictError) as conflict:
        jc.create_or_resend_invite("status409@example.com", "org_admin", None)
    assert conflict.value.detail == "An invitation for this address is already being processed"
    with pytest.raises(RateLimitError) as limited:
        jc.create_or_resend_invite("status429@example.com", "org_admin", None)
    assert limited.value.retry_after_seconds == 30
    for address in ("status500@example.com", "status502@example.com"):
        with pytest.raises(ServerError) as failed:
            jc.create_or_resend_invite(address, "org_admin", None)
        assert failed.value.detail is None and "<" not in failed.value.message
    with pytest.raises(UnexpectedResponseError):
        jc.create_or_resend_invite("oddstatus@example.com", "org_admin", None)
    assert len(requests_to(sbx, "POST", "/invite")) == 5  # no POST was retried


def test_timed_out_invite_is_found_pending_afterwards(sbx):
    client = JunctionClient(base_url=sbx.base_url, management_key=DEMO_KEY, org_id=DEMO_ORG_ID,
                            timeout=0.2, connect_timeout=1)
    with client:
        with pytest.raises(OutcomeUnknownError) as info:
            client.create_or_resend_invite("slow@example.com", "org_admin", None)
        assert info.value.may_have_taken_effect is True
    # Looked up with the usual timeout: 0.2 s is the send's, and a loaded machine can take longer to list.
    with JunctionClient(base_url=sbx.base_url, management_key=DEMO_KEY, org_id=DEMO_ORG_ID) as looker:
        deadline = time.monotonic() + SLOW_SECONDS + 10
        while looker.find_pending_invite("slow@example.com") is None:
            assert time.monotonic() < deadline, "the slow invite never appeared"
            time.sleep(0.1)
    assert len(requests_to(sbx, "POST", "/invite")) == 1


def test_sequential_calls_reuse_one_connection(jc, sbx):
    for _ in range(10):
        jc.get_org()
    assert sbx.state.stats()["connections_accepted"] == 1
