"""Every state-changing call to Junction goes through here: recorded first, performed, then completed.

Every channel (the pages, the command line, bulk jobs, and any added later) hands over what the person
asked for, who they are and a token the server issued (invite.core.tokens); it gets back the recorded
Action, whose `outcome` says what to show. A token seen before returns the first Action untouched, so
nothing is sent or revoked twice, but only for the same person, action and address: anything else is a
TokenClash, never another action's outcome. Sends and resends are judged against the send limits
(invite.core.send_limits) in the same step as the write-ahead row; one held back is recorded as
"held_back" and nothing is sent. Each start and completion is also one JSON log line on "invite.audit".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from invite.adapters import metrics
from invite.adapters.storage import PENDING, Action, Claim, claim_action, complete_action
from invite.core import outcomes, tokens
from invite.core.actor import Actor
from invite.core.field_errors import map_issues_to_fields
from invite.core.send_limits import HeldBack, SendLimits, judge
from invite.junction import (
    Invite,
    JunctionClient,
    JunctionError,
    NotFoundError,
    ValidationError,
)
from invite.junction.client import outcome_of_error
from invite.services.invitations import teams_of

audit_log = logging.getLogger("invite.audit")


class TokenClash(Exception):
    """A token already recorded for another person, action or address: an expired or forged form, never a
    reason to show that other action's outcome."""


def _error_kind(error: JunctionError) -> str:
    """The audit trail's word for a failed send or revoke (the client's, but "validation_error")."""
    kind = outcome_of_error(error, "POST")
    return "validation_error" if kind == "validation" else kind


def _log(event: str, row: Action) -> None:
    audit_log.info(
        "%s %s %s by %s: %s", event, row.action, row.target_email, row.actor_email, row.outcome_kind,
        extra={"fields": {
            "audit": event,
            "action_id": row.id,
            "at": (row.completed_at or row.created_at).isoformat(),
            "actor_email": row.actor_email,
            "actor_role": row.actor_role,
            "action": row.action,
            "target_email": row.target_email,
            "role": row.role,
            "teams": row.teams,
            "invite_id": row.invite_id,
            "outcome": row.outcome_kind,
            "http_status": row.http_status,
            "request_id": row.request_id,
            "own_request_id": row.own_request_id,
            "junction_request_id": row.junction_request_id,
            "client_addr": row.client_addr,
            "channel": row.channel,
            "os_user": row.os_user,
            "host": row.host,
        }},
    )


def _same(first: str | None, second: str | None) -> bool:
    return (first or "").strip().lower() == (second or "").strip().lower()


def _start(token: str, actor: Actor, limits: SendLimits | None = None, **fields: Any) -> Claim:
    if tokens.channel_of(token) is None:
        raise TokenClash("not a token this server issued")
    hold_back = None
    if limits is not None:
        def hold_back(earlier: list[datetime], now: datetime) -> dict[str, Any] | None:
            held = judge(limits, fields["target_email"], earlier, now)
            return None if held is None else {"outcome": held_back_outcome(held), "outcome_kind": "held_back"}
    claim = claim_action(token, actor_email=actor.email, actor_role=actor.role, client_addr=actor.client_addr,
                         request_id=actor.request_id, own_request_id=actor.own_request_id, channel=actor.channel,
                         os_user=actor.os_user, host=actor.host, hold_back=hold_back, **fields)
    row = claim.action
    if not claim.is_new:
        if not (_same(row.actor_email, actor.email) and row.action == fields["action"]
                and _same(row.target_email, fields["target_email"])):
            raise TokenClash(f"token already used for another {row.action}")
        return claim
    _log("started", row)
    metrics.count_action_started(row.action)
    if row.state != PENDING:  # held back by the send limits: already complete, nothing to call
        _log("completed", row)
        metrics.count_action(row.action, row.outcome_kind)
    return claim


def held_back_outcome(held: HeldBack) -> dict[str, Any]:
    """What the pages, the job row and the command line say of a send the limits held back."""
    outcome = outcomes.form_outcome(outcomes.alert(held.title, held.detail, outcomes.NOT_SENT))
    outcome["retry_at"] = held.retry_at.isoformat()
    return outcome


def _finish(row: Action, outcome: dict[str, Any], kind: str, error: JunctionError | None = None, *,
            commit: bool = True) -> None:
    complete_action(row, outcome=outcome, outcome_kind=kind, http_status=error.http_status if error else 200,
                    junction_request_id=error.request_id if error else None, commit=commit)
    _log("completed", row)
    metrics.count_action(row.action, kind)


def _look_up_pending(client: JunctionClient, email: str) -> tuple[Invite | None, JunctionError | None]:
    """After an answer that never came: what Junction lists for the address now, or why we cannot know."""
    try:
        return client.find_pending_invite(email), None
    except JunctionError as follow_up:
        return None, follow_up


def send_invite(client: JunctionClient, token: str, actor: Actor, *, limits: SendLimits, email: str, role: str,
                teams: list[dict[str, str]], action: str = "send", invite_id: str | None = None) -> Claim:
    """Create or resend an invitation (action "send" from the form, "resend" from the list)."""
    claim, _ = send_and_report(client, token, actor, limits=limits, email=email, role=role, teams=teams,
                               action=action, invite_id=invite_id)
    return claim


def send_and_report(client: JunctionClient, token: str, actor: Actor, *, limits: SendLimits, email: str, role: str,
                    teams: list[dict[str, str]], action: str = "send", invite_id: str | None = None,
                    bulk_job_id: int | None = None, commit: bool = True) -> tuple[Claim, JunctionError | None]:
    """send_invite, also handing back the error Junction's answer raised (a bulk job paces itself by it).

    commit=False leaves the completed action uncommitted, for a caller that saves its own record of the
    outcome in the same transaction (the action itself was committed before Junction was called).
    """
    claim = _start(token, actor, limits, action=action, target_email=email, role=role, teams=teams,
                   invite_id=invite_id, bulk_job_id=bulk_job_id)
    if not claim.is_new or claim.action.state != PENDING:
        return claim, None
    row = claim.action
    team_ids = [team["id"] for team in teams]
    started_at = datetime.now(UTC)
    try:
        status = client.create_or_resend_invite(email, role, team_ids)
    except ValidationError as exc:
        mapped = map_issues_to_fields(exc.issues, team_ids, {t["id"]: t["name"] for t in teams})
        _finish(row, outcomes.form_outcome(outcomes.validation_alert(), mapped.fields, mapped.form,
                                           mapped.invalid_team_ids), "validation_error", exc, commit=commit)
        return claim, exc
    except JunctionError as exc:
        if not exc.may_have_taken_effect:
            _finish(row, outcomes.form_outcome(outcomes.describe_not_sent(exc)), _error_kind(exc), exc, commit=commit)
            return claim, exc
        settle_unanswered(client, row, exc, started_at, commit=commit)
        return claim, exc
    _finish(row, outcomes.result_outcome(status), status.value, commit=commit)
    return claim, None


def settle_unanswered(client: JunctionClient, row: Action, error: JunctionError, started_at: datetime, *,
                      commit: bool = True) -> None:
    """A send whose answer never came (or could not be read): record what List Invites shows for it now."""
    pending, check_error = _look_up_pending(client, row.target_email)
    outcome = outcomes.describe_unknown(error, row.target_email, started_at, pending, check_error)
    kind = "confirmed_pending" if outcome.get("status") == "confirmed_pending" else "unknown"
    _finish(row, outcome, kind, error, commit=commit)


def resend_invite(client: JunctionClient, token: str, actor: Actor, invite: Invite,
                  team_names: Mapping[str, str], *, limits: SendLimits) -> Claim:
    """Re-post the invitation's own email, role and team bindings as Junction lists them, never anyone's input."""
    return send_invite(client, token, actor, limits=limits, email=invite.email, role=invite.role,
                       teams=teams_of(invite, team_names), action="resend", invite_id=invite.id)


def revoke_invite(client: JunctionClient, token: str, actor: Actor, *, invite_id: str, email: str,
                  role: str | None, teams: list[dict[str, str]]) -> Claim:
    """Revoke a pending invitation; the outcome (kind "revoke") is a message for the invitations list."""
    claim = _start(token, actor, action="revoke", target_email=email, role=role, teams=teams, invite_id=invite_id)
    if not claim.is_new:
        return claim
    row = claim.action
    try:
        client.revoke_invite(invite_id)
    except NotFoundError as exc:
        _finish(row, outcomes.describe_revoke_failure(exc, email), "already_gone", exc)
        return claim
    except ValidationError as exc:
        _finish(row, outcomes.revoke_outcome("error", "Not revoked: Junction did not accept that invitation id.",
                                             "Reload the invitations list and try again."), "invalid_id", exc)
        return claim
    except JunctionError as exc:
        if not exc.may_have_taken_effect:
            _finish(row, outcomes.describe_revoke_failure(exc, email), _error_kind(exc), exc)
            return claim
        still_pending, check_error = _look_up_pending(client, email)
        outcome, kind = outcomes.describe_revoke_unknown(exc, email, invite_id, still_pending, check_error)
        _finish(row, outcome, kind, exc)
        return claim
    _finish(row, outcomes.revoke_outcome("success", f"Revoked the invitation for {email}.",
                                         "The link in their email no longer works."), "revoked")
    return claim
