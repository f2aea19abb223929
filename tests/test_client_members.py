"""JunctionClient's member operations against the built-in sandbox over HTTP: Update Member, Remove Member,
finding a member, and every typed error a change can end in."""

from __future__ import annotations

import uuid

import pytest
import requests

from invite.junction import (
    JunctionClient,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from invite.sandbox import DEMO_KEY, DEMO_ORG_ID, SandboxServer

SLOW_SECONDS = 0.8
UNKNOWN = "00000000-0000-4000-8000-000000000000"


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
                            timeout=0.5, connect_timeout=0.5, backoff_factor=0.01)
    yield client
    client.close()


def scripted(sbx, email: str) -> str:
    answer = requests.post(f"{sbx.base_url}/_sandbox/members", json={"email": email, "name": "Scripted"}, timeout=5)
    return answer.json()["id"]


def sent(sbx, method: str) -> list[dict]:
    return [r for r in sbx.state.requests_log() if r["method"] == method]


def test_find_by_email_and_by_id(jc):
    priya = jc.find_member_by_email("PRIYA.NATARAJAN@acmehealth.com")
    assert priya is not None and priya.role == "team_admin" and len(priya.team_ids) == 2
    assert jc.get_member(priya.id) == priya
    assert jc.find_member_by_email("nobody@acmehealth.com") is None
    assert jc.get_member(UNKNOWN) is None


def test_update_sends_the_body_the_document_asks_for_and_changes_the_member(jc, sbx):
    sam = jc.find_member_by_email("sam.oconnor@acmehealth.com")
    cardiology = next(t.id for t in jc.list_teams() if t.name == "Cardiology")
    assert jc.update_member(sam.id, role="team_admin", team_ids=[cardiology]) is None
    assert sent(sbx, "PATCH")[-1]["json"] == {"role": "team_admin", "team_role_bindings": [{"team_id": cardiology}]}
    now = jc.get_member(sam.id)
    assert (now.role, now.team_ids) == ("team_admin", (cardiology,))
    jc.update_member(sam.id, role="org_admin", team_ids=None)
    assert sent(sbx, "PATCH")[-1]["json"] == {"role": "org_admin", "team_role_bindings": None}
    assert (jc.get_member(sam.id).role, jc.get_member(sam.id).team_ids) == ("org_admin", ())


def test_remove_then_the_member_is_gone_and_a_second_remove_is_not_found(jc):
    jordan = jc.find_member_by_email("jordan.blake@acmehealth.com")
    assert jc.remove_member(jordan.id) is None
    assert jc.get_member(jordan.id) is None
    with pytest.raises(NotFoundError) as caught:
        jc.remove_member(jordan.id)
    assert caught.value.http_status == 404 and caught.value.detail == "Member not found"


def test_a_team_of_another_org_is_a_422_under_its_field(jc):
    sam = jc.find_member_by_email("sam.oconnor@acmehealth.com")
    with pytest.raises(ValidationError) as caught:
        jc.update_member(sam.id, role="team_admin", team_ids=[UNKNOWN])
    assert [issue.loc for issue in caught.value.issues] == [("body", "team_role_bindings", 0, "team_id")]
    assert not caught.value.may_have_taken_effect


def test_an_id_that_is_no_uuid_is_a_422_under_the_path(jc):
    with pytest.raises(ValidationError) as caught:
        jc.remove_member("42")
    assert caught.value.issues[0].loc == ("path", "member_id")


def test_429_says_when_to_try_again(jc, sbx):
    member_id = scripted(sbx, "status429@example.com")
    with pytest.raises(RateLimitError) as caught:
        jc.update_member(member_id, role="org_admin", team_ids=None)
    assert caught.value.retry_after_seconds == 30


def test_500_may_have_taken_effect_and_is_not_retried(jc, sbx):
    member_id = scripted(sbx, "status500@example.com")
    with pytest.raises(ServerError) as caught:
        jc.remove_member(member_id)
    assert caught.value.may_have_taken_effect
    assert len(sent(sbx, "DELETE")) == 1


@pytest.mark.parametrize("email", ["lost@example.com", "slow@example.com"])
def test_a_lost_or_late_answer_is_outcome_unknown_sent_once(jc, sbx, email):
    member_id = scripted(sbx, email)
    with pytest.raises(OutcomeUnknownError):
        jc.remove_member(member_id)
    assert len(sent(sbx, "DELETE")) == 1
    assert sbx.state.get_member(uuid.UUID(member_id)) is None  # it acted; only the answer went missing
