"""What a person is told after Junction answered, or did not: the words that carry the meaning.

Each outcome must say what happened (sent, not sent, may have been sent; revoked or not) and what to
do next. The flows (tests/test_invite_flow*.py, tests/test_support_flow.py) show these on real pages;
here every branch is reached directly, including the ones the sandbox cannot easily produce.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from invite.core.outcomes import (
    MAYBE_SENT,
    NOT_SENT,
    describe_not_sent,
    describe_revoke_failure,
    describe_revoke_unknown,
    describe_unknown,
    form_outcome,
    result_outcome,
    validation_alert,
)
from invite.junction import (
    AuthenticationError,
    ConflictError,
    Creator,
    Invite,
    InviteStatus,
    JunctionError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    UnexpectedResponseError,
    UnreachableError,
)
from invite.junction.errors import ServerError, UnexpectedStatusError

EMAIL = "new.hire@example.org"
STARTED = datetime(2026, 11, 30, 17, 0, 0, tzinfo=UTC)
INVITE_ID = "inv_0001"


def pending(invited_at: datetime, resent_at: datetime | None = None, invite_id: str = INVITE_ID) -> Invite:
    return Invite(id=invite_id, email=EMAIL, role="no_role", team_ids=(), invited_at=invited_at,
                  resent_at=resent_at, creator=Creator(type="management_key"))


def rate_limited(seconds: float | None) -> RateLimitError:
    return RateLimitError("429", retry_after_seconds=seconds)


def timed_out() -> OutcomeUnknownError:
    return OutcomeUnknownError("read timeout", request_id="jx-timeout")


# --- results and the form ----------------------------------------------------------------------------

def test_a_result_carries_junctions_status_and_request_id():
    assert result_outcome(InviteStatus.INVITE_RESENT, "jx-1") == {
        "kind": "result", "status": "invite_resent", "junction_request_id": "jx-1"}


def test_the_form_outcome_keeps_what_goes_under_each_field():
    outcome = form_outcome(None, {"email": ["no @"]}, ["odd"], ["team-1"])
    assert outcome == {"kind": "form", "alert": None, "field_errors": {"email": ["no @"]}, "form_errors": ["odd"],
                       "invalid_team_ids": ["team-1"]}
    assert form_outcome(None) == {"kind": "form", "alert": None, "field_errors": {}, "form_errors": [],
                                  "invalid_team_ids": []}


def test_a_validation_failure_says_nothing_was_sent_and_to_correct_the_marked_fields():
    notice = validation_alert()
    assert "Junction did not accept" in notice["title"] and "nothing was sent" in notice["title"]
    assert "Correct the fields marked below" in notice["text"] and "send again" in notice["text"]
    assert notice["sent"] == NOT_SENT
    assert notice["http_status"] is None and notice["error_kind"] is None and notice["junction_request_id"] is None


# --- certainly not sent ------------------------------------------------------------------------------

def test_a_rejected_key_says_not_sent_and_whose_setting_to_check():
    notice = describe_not_sent(AuthenticationError("401", http_status=401, request_id="jx-401"))
    assert notice["title"].startswith("Not sent:") and "rejected the dashboard's Management Key" in notice["title"]
    assert "Ask whoever runs this dashboard" in notice["text"] and "JUNCTION_MANAGEMENT_KEY" in notice["text"]
    assert "entries are kept" in notice["text"]
    assert (notice["sent"], notice["http_status"], notice["junction_request_id"], notice["error_kind"]) == (
        NOT_SENT, 401, "jx-401", "AuthenticationError")


def test_an_unknown_organization_says_not_sent_and_to_check_the_org_id_setting():
    notice = describe_not_sent(NotFoundError("404", http_status=404))
    assert notice["title"].startswith("Not sent:") and "does not know this organization" in notice["title"]
    assert "Ask whoever runs this dashboard" in notice["text"] and "JUNCTION_ORG_ID" in notice["text"]
    assert "entries are kept" in notice["text"]
    assert notice["sent"] == NOT_SENT and notice["http_status"] == 404


def test_a_conflict_quotes_junctions_reason_and_says_to_look_the_address_up():
    notice = describe_not_sent(ConflictError("409", http_status=409, detail="Already being processed",
                                             request_id="jx-409"))
    assert notice["title"].startswith("Not sent:") and "conflict" in notice["title"]
    assert "Junction said: “Already being processed”." in notice["title"]
    assert "Look the address up on the Invitations page" in notice["text"] and "try again" in notice["text"]
    assert (notice["sent"], notice["http_status"], notice["junction_request_id"], notice["error_kind"]) == (
        NOT_SENT, 409, "jx-409", "ConflictError")


def test_a_conflict_without_a_reason_does_not_pretend_junction_gave_one():
    notice = describe_not_sent(ConflictError("409", http_status=409))
    assert notice["title"] == "Not sent: Junction refused this invitation as a conflict."


@pytest.mark.parametrize("seconds, wait", [
    (None, "Wait a minute, then send again."),
    (30, "Wait 30 seconds, then send again."),
    (0.2, "Wait 1 second, then send again."),
    (1, "Wait 1 second, then send again."),
    (89, "Wait 89 seconds, then send again."),
    (90, "Wait about 2 minutes, then send again."),
    (600, "Wait about 10 minutes, then send again."),
])
def test_rate_limited_says_not_sent_and_how_long_to_wait(seconds, wait):
    notice = describe_not_sent(rate_limited(seconds))
    assert notice["title"].startswith("Not sent:") and "limiting how fast" in notice["title"]
    assert notice["text"].startswith(wait) and "entries are kept" in notice["text"]
    assert notice["sent"] == NOT_SENT and notice["http_status"] == 429


def test_unreachable_says_not_sent_and_to_try_again_later():
    notice = describe_not_sent(UnreachableError("refused"))
    assert notice["title"].startswith("Not sent:") and "could not connect to Junction" in notice["title"]
    assert "Try again in a minute" in notice["text"] and "network may be down" in notice["text"]
    assert notice["sent"] == NOT_SENT and notice["http_status"] is None and notice["error_kind"] == "UnreachableError"


def test_any_other_error_status_is_named_and_the_entries_kept():
    notice = describe_not_sent(UnexpectedStatusError("418", http_status=418, request_id="jx-418"))
    assert notice["title"] == "Not sent: Junction answered with an error."  # the status goes with the details
    assert "Try again in a minute" in notice["text"] and "entries are kept" in notice["text"]
    assert (notice["sent"], notice["http_status"], notice["junction_request_id"], notice["error_kind"]) == (
        NOT_SENT, 418, "jx-418", "UnexpectedStatusError")
    assert describe_not_sent(JunctionError("odd"))["title"] == "Not sent: Junction answered with an error."


# --- may have been sent: what the follow-up lookup found ---------------------------------------------

@pytest.mark.parametrize("error, what", [
    (timed_out(), "Junction did not answer in time"),
    (ServerError("502", http_status=502), "Junction failed while handling it"),
    (UnexpectedResponseError("odd", http_status=200), "Junction's answer could not be understood"),
])
def test_when_the_check_fails_too_it_says_unknown_and_to_look_before_sending_again(error, what):
    outcome = describe_unknown(error, EMAIL, STARTED, None, UnreachableError("refused"))
    notice = outcome["alert"]
    assert outcome["kind"] == "form"
    assert notice["title"] == "Unknown: may have been sent."  # the vocabulary's words, as every page says it
    assert notice["text"].startswith(f"{what}, and checking Junction's invitations list failed too")
    assert notice["email"] == EMAIL
    assert f"look {EMAIL} up on the Invitations page in a minute" in notice["text"]
    assert "Before sending again" in notice["text"]
    assert notice["sent"] == MAYBE_SENT and notice["error_kind"] == type(error).__name__


@pytest.mark.parametrize("invited_at, resent_at", [
    (STARTED + timedelta(seconds=2), None),  # created by this very call
    (STARTED - timedelta(seconds=30), None),  # Junction's clock up to 30 s behind ours
    (STARTED - timedelta(days=3), STARTED + timedelta(seconds=1)),  # an old invitation, resent just now
])
def test_an_invitation_pending_since_just_now_counts_as_sent(invited_at, resent_at):
    invite = pending(invited_at, resent_at)
    outcome = describe_unknown(timed_out(), EMAIL, STARTED, invite, None)
    assert outcome == {"kind": "result", "status": "confirmed_pending", "junction_request_id": "jx-timeout",
                       "checked_invite": {"id": INVITE_ID, "invited_at": invited_at.isoformat(),
                                          "resent_at": resent_at.isoformat() if resent_at else None}}


@pytest.mark.parametrize("invited_at, resent_at, last", [
    (STARTED - timedelta(seconds=31), None, "2026-11-30 16:59 UTC"),
    (STARTED - timedelta(days=3), None, "2026-11-27 17:00 UTC"),
    (STARTED - timedelta(days=3), STARTED - timedelta(hours=2), "2026-11-30 15:00 UTC"),
])
def test_an_older_pending_invitation_says_when_it_was_last_sent_and_that_this_one_may_not_have_gone(
        invited_at, resent_at, last):
    outcome = describe_unknown(timed_out(), EMAIL, STARTED, pending(invited_at, resent_at), None)
    notice = outcome["alert"]
    assert outcome["kind"] == "form"
    assert notice["title"] == "Unknown: may have been sent."
    assert notice["text"].startswith("Junction did not answer in time.")
    assert f"An invitation for {EMAIL} was already pending, last sent {last};" in notice["text"]
    assert "this resend may not have gone out" in notice["text"] and "send again" in notice["text"]
    assert (notice["sent"], notice["junction_request_id"], notice["error_kind"]) == (
        MAYBE_SENT, "jx-timeout", "OutcomeUnknownError")


@pytest.mark.parametrize("error", [timed_out(), UnexpectedResponseError("odd", http_status=200)])
def test_no_answer_and_nothing_listed_yet_says_it_may_still_be_on_its_way(error):
    notice = describe_unknown(error, EMAIL, STARTED, None, None)["alert"]
    assert notice["title"] == "Unknown: may have been sent."
    assert f"does not list an invitation for {EMAIL} yet" in notice["text"]
    assert "may still be on its way" in notice["text"]
    assert "Look the address up on the Invitations page in a minute before sending again" in notice["text"]
    assert (notice["sent"], notice["error_kind"]) == (MAYBE_SENT, type(error).__name__)


def test_a_server_error_and_nothing_listed_stays_unknown_and_says_probably_not_sent():
    notice = describe_unknown(ServerError("500", http_status=500), EMAIL, STARTED, None, None)["alert"]
    assert notice["title"] == "Unknown: may have been sent."
    assert notice["text"].startswith("Junction failed while handling it,")
    assert f"checked right after, shows none for {EMAIL}" in notice["text"]
    assert "probably not sent" in notice["text"] and "already a member" in notice["text"]
    assert "before sending again" in notice["text"]
    assert notice["sent"] == MAYBE_SENT and notice["http_status"] == 500


# --- revoking ----------------------------------------------------------------------------------------

def test_revoking_an_invitation_already_gone_is_a_warning_that_nothing_was_done():
    outcome = describe_revoke_failure(NotFoundError("404", http_status=404), EMAIL)
    assert outcome["kind"] == "revoke" and outcome["level"] == "warning"
    assert outcome["title"] == f"The invitation for {EMAIL} was already gone."
    assert "revoked it, or it was accepted" in outcome["text"] and "Nothing was done" in outcome["text"]


@pytest.mark.parametrize("error, words, next_step", [
    (AuthenticationError("403", http_status=403), "Management Key", "JUNCTION_MANAGEMENT_KEY"),
    (UnreachableError("refused"), "could not connect to Junction", "Try again in a minute"),
    (ServerError("503", http_status=503), "answered with an error.", "Try again in a minute"),
])
def test_a_failed_revoke_says_not_revoked_never_not_sent(error, words, next_step):
    outcome = describe_revoke_failure(error, EMAIL)
    assert outcome["kind"] == "revoke" and outcome["level"] == "error"
    assert outcome["title"].startswith("Not revoked:") and "Not sent" not in outcome["title"]
    assert words in outcome["title"] and next_step in outcome["text"]


@pytest.mark.parametrize("error", [
    AuthenticationError("401", http_status=401), UnexpectedStatusError("418", http_status=418), rate_limited(30)])
def test_a_failed_revoke_speaks_of_the_list_not_of_a_form_or_a_send(error):
    # The revoke result shows above the invitations list: there is no form below and nothing to send.
    text = describe_revoke_failure(error, EMAIL)["text"]
    assert "entries are kept" not in text and "send again" not in text


def test_a_rate_limited_revoke_says_how_long_to_wait_before_revoking_again():
    assert describe_revoke_failure(rate_limited(30), EMAIL)["text"] == "Wait 30 seconds, then revoke again."
    assert describe_revoke_failure(rate_limited(None), EMAIL)["text"] == "Wait a minute, then revoke again."


def test_a_lost_revoke_answer_with_a_failed_check_is_unknown_and_says_to_look_again():
    outcome, kind = describe_revoke_unknown(timed_out(), EMAIL, INVITE_ID, None, UnreachableError("refused"))
    assert kind == "unknown" and outcome["level"] == "warning"
    assert outcome["title"].startswith("Unknown:") and f"revoking the invitation for {EMAIL}" in outcome["title"]
    assert "Checking its invitations list failed too" in outcome["text"]
    assert "look the address up again in a minute" in outcome["text"]


def test_a_lost_revoke_answer_with_the_invitation_still_listed_is_not_revoked():
    outcome, kind = describe_revoke_unknown(timed_out(), EMAIL, INVITE_ID, pending(STARTED), None)
    assert kind == "unknown" and outcome["level"] == "error"
    assert outcome["title"] == f"Not revoked: the invitation for {EMAIL} is still pending."
    assert "still lists the invitation" in outcome["text"] and "Try again" in outcome["text"]


@pytest.mark.parametrize("still_pending", [None, pending(STARTED, invite_id="inv_someone_sent_since")])
def test_a_lost_revoke_answer_with_the_invitation_no_longer_listed_is_revoked(still_pending):
    # A new invitation for the same address (another id) is not the one that was revoked.
    outcome, kind = describe_revoke_unknown(timed_out(), EMAIL, INVITE_ID, still_pending, None)
    assert kind == "revoked" and outcome["level"] == "success"
    assert outcome["title"] == f"Revoked the invitation for {EMAIL}."
    assert "Junction did not confirm in time" in outcome["text"] and "no longer lists the invitation" in outcome["text"]
