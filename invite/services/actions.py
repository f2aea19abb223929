"""Every state-changing call to Junction goes through here: recorded first, performed, then completed.

Every channel (the pages, the command line, bulk jobs, and any added later) hands over the unit of work it
reaches the database through (invite/adapters/unit_of_work.py: Flask's for those three), what the person
asked for, who they are and a token the server issued (invite.core.tokens); it gets back the recorded
Action, whose `outcome` says what to show. A token seen before returns the first Action untouched, so
nothing is sent or revoked twice, but only for the same person, action and address: anything else is a
TokenClash, never another action's outcome. Sends and resends are judged against the send limits
(invite.core.send_limits) in the same step as the write-ahead row; one held back is recorded as
"held_back" and nothing is sent. Each start and completion is also one JSON log line on "invite.audit".
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from invite.adapters import metrics
from invite.adapters.storage import PENDING, Action, Claim, claim_action, complete_action
from invite.adapters.unit_of_work import UnitOfWork
from invite.core import member_outcomes as member_words
from invite.core import outcomes, tokens
from invite.core.actor import Actor
from invite.core.field_errors import map_issues_to_fields
from invite.core.send_limits import HeldBack, SendLimits, judge
from invite.junction import (
    Invite,
    JunctionClient,
    JunctionError,
    Member,
    NotFoundError,
    OutcomeUnknownError,
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


def _start(uow: UnitOfWork, token: str, actor: Actor, limits: SendLimits | None = None, **fields: Any) -> Claim:
    if tokens.channel_of(token) is None:
        raise TokenClash("not a token this server issued")
    hold_back = None
    if limits is not None:
        def hold_back(earlier: list[datetime], now: datetime) -> dict[str, Any] | None:
            held = judge(limits, fields["target_email"], earlier, now)
            return None if held is None else {"outcome": held_back_outcome(held), "outcome_kind": "held_back"}
    claim = claim_action(uow, token, actor_email=actor.email, actor_role=actor.role, client_addr=actor.client_addr,
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


def _finish(uow: UnitOfWork, row: Action, outcome: dict[str, Any], kind: str, error: JunctionError | None = None, *,
            commit: bool = True) -> None:
    complete_action(uow, row, outcome=outcome, outcome_kind=kind, http_status=error.http_status if error else 200,
                    junction_request_id=error.request_id if error else None, commit=commit)
    _log("completed", row)
    metrics.count_action(row.action, kind)


def _look_up_pending(client: JunctionClient, email: str) -> tuple[Invite | None, JunctionError | None]:
    """After an answer that never came: what Junction lists for the address now, or why we cannot know."""
    try:
        return client.find_pending_invite(email), None
    except JunctionError as follow_up:
        return None, follow_up


def send_invite(uow: UnitOfWork, client: JunctionClient, token: str, actor: Actor, *, limits: SendLimits, email: str,
                role: str, teams: list[dict[str, str]], action: str = "send", invite_id: str | None = None) -> Claim:
    """Create or resend an invitation (action "send" from the form, "resend" from the list)."""
    claim, _ = send_and_report(uow, client, token, actor, limits=limits, email=email, role=role, teams=teams,
                               action=action, invite_id=invite_id)
    return claim


def send_and_report(uow: UnitOfWork, client: JunctionClient, token: str, actor: Actor, *, limits: SendLimits,
                    email: str, role: str, teams: list[dict[str, str]], action: str = "send",
                    invite_id: str | None = None, bulk_job_id: int | None = None,
                    commit: bool = True) -> tuple[Claim, JunctionError | None]:
    """send_invite, also handing back the error Junction's answer raised (a bulk job paces itself by it).

    commit=False leaves the completed action uncommitted, for a caller that saves its own record of the
    outcome in the same transaction (the action itself was committed before Junction was called).
    """
    claim = _start(uow, token, actor, limits, action=action, target_email=email, role=role, teams=teams,
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
        _finish(uow, row, outcomes.form_outcome(outcomes.validation_alert(action), mapped.fields, mapped.form,
                                           mapped.invalid_team_ids), "validation_error", exc, commit=commit)
        return claim, exc
    except JunctionError as exc:
        if not exc.may_have_taken_effect:
            _finish(uow, row, outcomes.form_outcome(outcomes.describe_not_sent(exc)), _error_kind(exc), exc,
                    commit=commit)
            return claim, exc
        settle_unanswered(uow, client, row, exc, started_at, commit=commit)
        return claim, exc
    _finish(uow, row, outcomes.result_outcome(status), status.value, commit=commit)
    return claim, None


def settle_unanswered(uow: UnitOfWork, client: JunctionClient, row: Action, error: JunctionError,
                      started_at: datetime, *, commit: bool = True) -> None:
    """A send whose answer never came (or could not be read): record what List Invites shows for it now."""
    pending, check_error = _look_up_pending(client, row.target_email)
    outcome = outcomes.describe_unknown(error, row.target_email, started_at, pending, check_error)
    kind = "confirmed_pending" if outcome.get("status") == "confirmed_pending" else "unknown"
    _finish(uow, row, outcome, kind, error, commit=commit)


def resend_invite(uow: UnitOfWork, client: JunctionClient, token: str, actor: Actor, invite: Invite,
                  team_names: Mapping[str, str], *, limits: SendLimits) -> Claim:
    """Re-post the invitation's own email, role and team bindings as Junction lists them, never anyone's input."""
    return send_invite(uow, client, token, actor, limits=limits, email=invite.email, role=invite.role,
                       teams=teams_of(invite, team_names), action="resend", invite_id=invite.id)


def revoke_invite(uow: UnitOfWork, client: JunctionClient, token: str, actor: Actor, *, invite_id: str, email: str,
                  role: str | None, teams: list[dict[str, str]]) -> Claim:
    """Revoke a pending invitation; the outcome (kind "revoke") is a message for the invitations list."""
    return revoke_and_report(uow, client, token, actor, invite_id=invite_id, email=email, role=role, teams=teams)[0]


def revoke_and_report(uow: UnitOfWork, client: JunctionClient, token: str, actor: Actor, *, invite_id: str, email: str,
                      role: str | None, teams: list[dict[str, str]],
                      bulk_job_id: int | None = None) -> tuple[Claim, JunctionError | None]:
    """revoke_invite, also handing back the error Junction's answer raised (a job paces itself by it)."""
    claim = _start(uow, token, actor, action="revoke", target_email=email, role=role, teams=teams, invite_id=invite_id,
                   bulk_job_id=bulk_job_id)
    if not claim.is_new:
        return claim, None
    row = claim.action
    try:
        client.revoke_invite(invite_id)
    except NotFoundError as exc:
        _finish(uow, row, outcomes.describe_revoke_failure(exc, email), "already_gone", exc)
        return claim, exc
    except ValidationError as exc:
        _finish(uow, row, outcomes.revoke_outcome("error", "Not revoked: Junction did not accept that invitation id.",
                                             "Reload the invitations list and try again."), "invalid_id", exc)
        return claim, exc
    except JunctionError as exc:
        if not exc.may_have_taken_effect:
            _finish(uow, row, outcomes.describe_revoke_failure(exc, email), _error_kind(exc), exc)
            return claim, exc
        _settle_revoke(uow, client, row, exc)
        return claim, exc
    _finish(uow, row, outcomes.revoke_outcome("success", f"Revoked the invitation for {email}.",
                                         "The link in their email no longer works."), "revoked")
    return claim, None


def _settle_revoke(uow: UnitOfWork, client: JunctionClient, row: Action, error: JunctionError, *,
                   commit: bool = True) -> None:
    """A revoke whose answer never came: record what List Invites shows for the address now."""
    still_pending, check_error = _look_up_pending(client, row.target_email)
    outcome, kind = outcomes.describe_revoke_unknown(error, row.target_email, row.invite_id or "", still_pending,
                                                     check_error)
    _finish(uow, row, outcome, kind, error, commit=commit)


# ------------------------------------------------------------------------------------------ members (issue 24)
# A change of role and teams, or a removal, follows the same steps as a send: the write-ahead row (with the
# role and teams the person saw as outcome["before"], the new ones in the role and teams columns), then the
# guards against what Junction lists now, then the call, then an answer that never came settled by reading
# the member again.


class _Refused(Exception):
    """A guard said no before Junction was asked to change anything: the outcome and its kind."""

    def __init__(self, outcome: dict[str, Any], kind: str, error: JunctionError | None = None):
        super().__init__(kind)
        self.outcome = outcome
        self.kind = kind
        self.error = error  # a failed check: a job paces itself by it (a 429, no connection)


def _read_member(client: JunctionClient, member_id: str, email: str) -> Member | None:
    """The member as Junction lists them now, or None when gone. Junction has no Get Member: List Members'
    search by address finds them in one call; only when that fails is the whole list walked."""
    found = client.find_member_by_email(email)
    if found is not None and found.id == member_id:
        return found
    return client.get_member(member_id)


def _another_org_admin(client: JunctionClient, member_id: str) -> bool:
    # Lazily: the walk stops at the first other Org admin, nearly always on the first page.
    return any(m.role == "org_admin" and m.id != member_id for m in client.iter_members())


def _snapshot_now(client: JunctionClient, member: Member, team_names: Mapping[str, str]) -> dict[str, Any]:
    """The member's role and teams, named: a team the page did not show is looked up (best effort)."""
    names = dict(team_names)
    if any(team_id not in names for team_id in member.team_ids):
        with contextlib.suppress(JunctionError):  # else the id stands in for the name
            names.update({team.id: team.name for team in client.iter_teams()})
    return member_words.snapshot_of(member, names)


def _guard(client: JunctionClient, member_id: str, email: str, name: str, before: dict[str, Any], verb: str,
           demotes: bool, team_names: Mapping[str, str]) -> None:
    """Refuse (raise _Refused) unless Junction lists the member as the person saw them, and the change leaves
    the org an Org admin."""
    try:
        current = _read_member(client, member_id, email)
        last_admin = demotes and before.get("role") == "org_admin" and not _another_org_admin(client, member_id)
    except JunctionError as exc:
        title, text = member_words.not_done_words(exc, verb, "try again")
        raise _Refused(member_words.member_outcome(
            "error", member_words.NOT_CHANGED, f"Not {verb}: the dashboard could not check {name}'s membership first.",
            f"{title.split(':', 1)[1].strip()} {text}", before=before, error=exc), "check_failed", exc) from None
    if current is None:
        raise _Refused(member_words.member_outcome(
            "warning", member_words.NOT_CHANGED, f"{name} is no longer a member of the org.",
            "Someone removed them since the page was loaded. Nothing was done.", before=before), "member_gone")
    now = _snapshot_now(client, current, team_names)
    if not member_words.same(now, before):
        raise _Refused(member_words.member_outcome(
            "warning", member_words.NOT_CHANGED, f"Not {verb}: {name}'s membership changed since you looked.",
            f"It was {member_words.describe(before)}; it is now {member_words.describe(now)}. Nothing was "
            "applied: look at what is there now, then decide again.", before=before, now=now), "changed_meanwhile")
    if last_admin:
        what = "remove" if verb == "removed" else "change the role of"
        raise _Refused(member_words.member_outcome(
            "error", member_words.NOT_CHANGED, f"Not {verb}: {name} is the org's last Org admin.",
            f"An org needs at least one Org admin. Make someone else an Org admin first, then {what} {name}.",
            before=before), "last_admin")


def _settle_member(client: JunctionClient, member_id: str, email: str, name: str, before: dict[str, Any],
                   after: dict[str, Any] | None, error: JunctionError, verb: str,
                   team_names: Mapping[str, str]) -> tuple[dict[str, Any], str]:
    """After an answer that never came (or a 5xx): read the member again and record what that shows."""
    what = member_words.what_went_wrong(error)
    try:
        current = _read_member(client, member_id, email)
    except JunctionError:
        return member_words.member_outcome(
            "warning", member_words.MAYBE_CHANGED, f"Unknown: {what}, so {name} may or may not have been {verb}.",
            f"Checking Junction's member list failed too. Open {name}'s page again in a minute before trying "
            "again.", before=before, after=after, error=error), "unknown"
    now = _snapshot_now(client, current, team_names) if current is not None else None
    done = now is None if after is None else member_words.same(now, after)
    if done:
        kind = "member_removed" if after is None else "member_changed"
        title = f"Removed {name} from the org." if after is None else \
            f"Changed {name}: {member_words.describe(after)}."
        return member_words.member_outcome(
            "success", member_words.CHANGED, title, f"{what}, but Junction's member list, checked right after, "
            "shows the change made.", before=before, after=after, now=now, error=error, checked=True), kind
    if now is None:
        return member_words.member_outcome(
            "warning", member_words.MAYBE_CHANGED, f"Unknown: {what}, and {name} is no longer a member.",
            "Someone may have removed them meanwhile; nothing else can be changed for them.", before=before,
            after=after, now=None, error=error), "unknown"
    return member_words.member_outcome(
        "warning", member_words.MAYBE_CHANGED,
        f"Unknown: {what}. Junction still lists {name} as {member_words.describe(now)}.",
        "The change may not have been made, or may still be on its way. Open their page again in a minute "
        "before trying again.", before=before, after=after, now=now, error=error), "unknown"


def _member_failure(client: JunctionClient, exc: JunctionError, member_id: str, email: str, name: str,
                    before: dict[str, Any],
                    after: dict[str, Any] | None, verb: str, again: str,
                    team_names: Mapping[str, str]) -> tuple[dict[str, Any], str]:
    if isinstance(exc, ValidationError):
        team_ids = [t["id"] for t in (after or {}).get("teams") or []]
        mapped = map_issues_to_fields(exc.issues, team_ids, dict(team_names))
        return member_words.member_outcome(
            "error", member_words.NOT_CHANGED, f"Junction did not accept this change, so {name} was not {verb}.",
            "Correct the fields marked below and try again." if after is not None else
            "Junction did not accept the member's id. Reload the members list and try again.",
            before=before, after=after, error=exc,
            field_errors=mapped.fields, form_errors=mapped.form, invalid_team_ids=mapped.invalid_team_ids), \
            "validation_error"
    if isinstance(exc, NotFoundError):
        try:
            gone = _read_member(client, member_id, email) is None
        except JunctionError:
            gone = False
        if gone:
            return member_words.member_outcome(
                "warning", member_words.NOT_CHANGED, f"{name} is no longer a member of the org.",
                "Someone removed them since the page was loaded. Nothing was done.", before=before, error=exc), \
                "member_gone"
        return member_words.member_outcome(
            "error", member_words.NOT_CHANGED,
            f"Not {verb}: Junction answered that it does not know {name} (HTTP 404).",
            "Yet its member list still shows them. Reload their page and try again; if it keeps happening, ask "
            "whoever runs this dashboard to check its JUNCTION_ORG_ID setting.", before=before, after=after,
            error=exc), "not_found"
    if not exc.may_have_taken_effect:
        title, text = member_words.not_done_words(exc, verb, again)
        return member_words.member_outcome("error", member_words.NOT_CHANGED, title, text, before=before,
                                           after=after, error=exc), _error_kind(exc)
    return _settle_member(client, member_id, email, name, before, after, exc, verb, team_names)


def update_member(uow: UnitOfWork, client: JunctionClient, token: str, actor: Actor, *, member_id: str, email: str,
                  name: str,
                  before: dict[str, Any], role: str, teams: list[dict[str, str]]) -> Claim:
    """Change a member's role and teams to `role`/`teams`, provided Junction still lists them as `before`
    (member_words.snapshot: what the person saw). The outcome (kind "member") says what happened."""
    return update_member_and_report(uow, client, token, actor, member_id=member_id, email=email, name=name,
                                    before=before, role=role, teams=teams)[0]


def update_member_and_report(uow: UnitOfWork, client: JunctionClient, token: str, actor: Actor, *, member_id: str,
                             email: str,
                             name: str, before: dict[str, Any], role: str, teams: list[dict[str, str]],
                             bulk_job_id: int | None = None) -> tuple[Claim, JunctionError | None]:
    """update_member, also handing back the error Junction's answer (or the check before) raised."""
    after = member_words.snapshot(role, teams if role == "team_admin" else [])
    claim = _start(uow, token, actor, action="update_member", target_email=email, role=role, teams=after["teams"],
                   outcome={"before": before, "member_id": member_id, "name": name}, bulk_job_id=bulk_job_id)
    if not claim.is_new:
        return claim, None
    row = claim.action
    names = {t["id"]: t["name"] for t in [*before.get("teams", []), *after["teams"]]}
    try:
        _guard(client, member_id, email, name, before, "changed", role != "org_admin", names)
    except _Refused as refused:
        _finish(uow, row, {**refused.outcome, "member_id": member_id, "name": name}, refused.kind, refused.error)
        return claim, refused.error
    try:
        client.update_member(member_id, role=role,
                             team_ids=[t["id"] for t in after["teams"]] if role == "team_admin" else None)
    except JunctionError as exc:
        outcome, kind = _member_failure(client, exc, member_id, email, name, before, after, "changed", "change again",
                                        names)
        _finish(uow, row, {**outcome, "member_id": member_id, "name": name}, kind, exc)
        return claim, exc
    _finish(uow, row, {**member_words.member_outcome(
        "success", member_words.CHANGED, f"Changed {name}: {member_words.describe(after)}.",
        f"Before: {member_words.describe(before)}.", before=before, after=after),
        "member_id": member_id, "name": name}, "member_changed")
    return claim, None


def remove_member(uow: UnitOfWork, client: JunctionClient, token: str, actor: Actor, *, member_id: str, email: str,
                  name: str,
                  before: dict[str, Any]) -> Claim:
    """Remove a member from the org, provided Junction still lists them as `before` and they are not its last
    Org admin. The outcome (kind "member") says what happened."""
    return remove_member_and_report(uow, client, token, actor, member_id=member_id, email=email, name=name,
                                    before=before)[0]


def remove_member_and_report(uow: UnitOfWork, client: JunctionClient, token: str, actor: Actor, *, member_id: str,
                             email: str,
                             name: str, before: dict[str, Any],
                             bulk_job_id: int | None = None) -> tuple[Claim, JunctionError | None]:
    """remove_member, also handing back the error Junction's answer (or the check before) raised."""
    claim = _start(uow, token, actor, action="remove_member", target_email=email, role=before.get("role"),
                   teams=before.get("teams") or [], outcome={"before": before, "member_id": member_id, "name": name},
                   bulk_job_id=bulk_job_id)
    if not claim.is_new:
        return claim, None
    row = claim.action
    names = {t["id"]: t["name"] for t in before.get("teams", [])}
    try:
        _guard(client, member_id, email, name, before, "removed", True, names)
    except _Refused as refused:
        _finish(uow, row, {**refused.outcome, "member_id": member_id, "name": name}, refused.kind, refused.error)
        return claim, refused.error
    try:
        client.remove_member(member_id)
    except JunctionError as exc:
        outcome, kind = _member_failure(client, exc, member_id, email, name, before, None, "removed", "remove again",
                                        names)
        _finish(uow, row, {**outcome, "member_id": member_id, "name": name}, kind, exc)
        return claim, exc
    _finish(uow, row, {**member_words.member_outcome(
        "success", member_words.CHANGED, f"Removed {name} ({email}) from the org.",
        f"Before: {member_words.describe(before)}. They no longer have access to the org in Junction.",
        before=before), "member_id": member_id, "name": name}, "member_removed")
    return claim, None


def record_without_call(uow: UnitOfWork, token: str, actor: Actor, *, result: dict[str, Any], result_kind: str,
                        error: JunctionError | None = None, **fields: Any) -> Claim:
    """An attempt settled from Junction's lists instead of a call (an access job's row retried after an
    unknown outcome: the change an earlier attempt made, or a check that failed): written ahead under its
    token like any action (`fields` are its columns), then completed with `result` and `result_kind`, what the
    lists showed. Nothing is asked of Junction here."""
    claim = _start(uow, token, actor, **fields)
    if claim.is_new and claim.action.state == PENDING:
        _finish(uow, claim.action, result, result_kind, error)
    return claim


# ------------------------------------------------------------------------------------------ in flight


def settle_in_flight(uow: UnitOfWork, client: JunctionClient, row: Action, *, commit: bool = True) -> None:
    """An action left under way by a process that died mid-call (a bulk or access job's worker killed): record
    what Junction lists now, as its own channel would have after an answer that never came. Never acts again."""
    if row.action in ("send", "resend"):
        gone = OutcomeUnknownError("The worker stopped while this invitation was being sent.")
        settle_unanswered(uow, client, row, gone, row.created_at, commit=commit)
        return
    gone = OutcomeUnknownError("The worker stopped while this change was on its way to Junction.")
    if row.action == "revoke":
        _settle_revoke(uow, client, row, gone, commit=commit)
        return
    stored = row.outcome or {}
    before = stored.get("before") or {}
    member_id, name = stored.get("member_id") or "", stored.get("name") or row.target_email
    after = member_words.snapshot(row.role, row.teams or []) if row.action == "update_member" else None
    names = {t["id"]: t["name"] for t in [*before.get("teams", []), *(after or {}).get("teams", [])]}
    verb = "changed" if after is not None else "removed"
    outcome, kind = _settle_member(client, member_id, row.target_email, name, before, after, gone, verb, names)
    _finish(uow, row, {**outcome, "member_id": member_id, "name": name}, kind, gone, commit=commit)
