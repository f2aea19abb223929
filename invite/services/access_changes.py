"""One change of an access plan (issue 27), carried out through invite.services.actions like every channel's.

An access job's row (invite/bulk/jobs.py runs it) is one `Change`: each kind is one action of the trail,
written ahead under the row's token, with the action's own guards: a send or re-invite within the send
limits, a member changed or removed only while Junction still lists them as the plan saw them and never
the org's last Org admin, a revoke of the invitation the plan named.

A re-invite is one POST of the file's role and teams (action "resend"), not a revoke then an invite:
Junction's Create Or Resend Invite takes the whole body (role, team_role_bindings) whether the address is
new or pending, and the sandbox, which imitates it, replaces a pending invitation's role and bindings on a
re-POST (invite/sandbox/state.py). One call is one write-ahead row, the invitation keeps its id and link, and
nothing can leave the person with no invitation between two steps (a revoke made, then the send held back by
the limits or the worker killed). Should Junction ever keep the old values, the next plan shows the
invitation as a re-invite again: nothing is lost silently. See docs/access.md, "Apply".

A row retried after an unknown outcome ("Retry unknown": the earlier attempt's answer was lost, and so was
the check after it) is settled from Junction's lists first: a change the lists show made (the invitation
pending with the file's role and teams, the member as the plan wants them or gone, the invitation gone) is
recorded as made and not made again; only one the lists show not made is carried out, once. When the lists
cannot be read, nothing is done and the row stays unknown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from invite.adapters.storage import Action, Claim
from invite.adapters.unit_of_work import UnitOfWork
from invite.core import member_outcomes as member_words
from invite.core import outcomes
from invite.core.access import INVITE, REINVITE, REMOVE, REVOKE, UPDATE, Change
from invite.core.actor import Actor
from invite.core.send_limits import SendLimits
from invite.junction import JunctionClient, JunctionError, Member
from invite.services import actions

# The trail's action for each kind of change: what vocabulary.label words its outcome with.
ACTION_OF = {INVITE: "send", REINVITE: "resend", UPDATE: "update_member", REVOKE: "revoke", REMOVE: "remove_member"}


def _grant(change: Change, which: str) -> dict[str, Any]:
    grant = change.after if which == "after" else change.before
    return grant.as_json() if grant is not None else {"role": None, "teams": []}


def _member_now(client: JunctionClient, change: Change) -> Member | None:
    found = client.find_member_by_email(change.email)
    if found is not None and found.id == change.member_id:
        return found
    return client.get_member(change.member_id or "")


def _made(client: JunctionClient, change: Change, after: dict[str, Any]) -> bool:
    """Whether Junction's lists show the change made (raises JunctionError when they cannot be read)."""
    team_ids = sorted(t["id"] for t in after["teams"])
    if change.kind in (INVITE, REINVITE):
        pending = client.find_pending_invite(change.email)
        return pending is not None and pending.role == after["role"] and sorted(pending.team_ids) == team_ids
    if change.kind == REVOKE:
        pending = client.find_pending_invite(change.email)
        return pending is None or pending.id != change.invite_id
    member = _member_now(client, change)
    if change.kind == REMOVE:
        return member is None
    return member is not None and member.role == after["role"] and (
        member.role != "team_admin" or sorted(member.team_ids) == team_ids)


def _settle_retry(uow: UnitOfWork, client: JunctionClient, token: str, actor: Actor, change: Change, earlier: datetime,
                  bulk_job_id: int) -> tuple[Claim, JunctionError | None] | None:
    """A row retried after an unknown outcome, settled from Junction's lists: the claim when the change is
    made already (recorded as made) or the lists could not be read (recorded unknown again, nothing done);
    None when the lists show it not made, for the caller to make it."""
    before, after = _grant(change, "before"), _grant(change, "after")
    name = change.name or change.email
    action = ACTION_OF[change.kind]
    error: JunctionError | None = None
    try:
        made = _made(client, change, after)
    except JunctionError as exc:
        made, error = False, exc
    if not made and error is None:
        return None
    lost = "An earlier attempt's answer was lost; Junction's lists, read before retrying, show the change made, " \
        "so it was not made again."
    fields: dict[str, Any] = {"action": action, "target_email": change.email, "bulk_job_id": bulk_job_id}
    if change.kind in (INVITE, REINVITE):
        fields.update(role=after["role"], teams=after["teams"], invite_id=change.invite_id)
        if error is not None:
            outcome, kind = outcomes.describe_unknown(error, change.email, earlier, None, error), "unknown"
        else:
            outcome, kind = {"kind": "result", "status": "confirmed_pending", "checked": True}, "confirmed_pending"
    elif change.kind == REVOKE:
        fields.update(role=before["role"], teams=before["teams"], invite_id=change.invite_id)
        outcome, kind = outcomes.describe_revoke_unknown(error, change.email, change.invite_id or "", None, error) \
            if error is not None else (outcomes.revoke_outcome("success", f"Revoked the invitation for {change.email}.",
                                                               lost), "revoked")
    else:
        removal = change.kind == REMOVE
        grant = before if removal else member_words.snapshot(after["role"], after["teams"])
        fields.update(role=grant["role"], teams=grant["teams"] or [],
                      outcome={"before": before, "member_id": change.member_id, "name": name})
        if error is not None:
            outcome, kind = member_words.member_outcome(
                "warning", member_words.MAYBE_CHANGED, f"Unknown: Junction's member list could not be read before "
                f"retrying, so nothing was done for {name}.", "Retry the unknown rows again in a minute.",
                before=before, after=None if removal else grant, error=error), "unknown"
        else:
            title = f"Removed {name} from the org." if removal else f"Changed {name}: {member_words.describe(grant)}."
            outcome, kind = member_words.member_outcome(
                "success", member_words.CHANGED, title, lost, before=before, after=None if removal else grant,
                checked=True), "member_removed" if removal else "member_changed"
        outcome = {**outcome, "member_id": change.member_id, "name": name}
    claim = actions.record_without_call(uow, token, actor, result=outcome, result_kind=kind, error=error, **fields)
    return claim, error


def carry_out(uow: UnitOfWork, client: JunctionClient, token: str, actor: Actor, change: Change, *, limits: SendLimits,
              bulk_job_id: int, retry_of: Action | None = None) -> tuple[Claim, JunctionError | None]:
    """The change as one audited action; the claim (its row holds the outcome) and the error Junction's
    answer raised, if any, for the job to pace itself by. A send's completion is left uncommitted, for the
    job to commit with its row's (the write-ahead row itself is committed before Junction is called).

    `retry_of`: the earlier attempt, when its outcome stayed unknown and a person chose to retry; the change
    is then settled from Junction's lists first, and made only when they show it not made."""
    if retry_of is not None:
        settled = _settle_retry(uow, client, token, actor, change, retry_of.created_at, bulk_job_id)
        if settled is not None:
            return settled
    before, after = _grant(change, "before"), _grant(change, "after")
    name = change.name or change.email
    if change.kind in (INVITE, REINVITE):
        return actions.send_and_report(
            uow, client, token, actor, limits=limits, email=change.email, role=after["role"] or "no_role",
            teams=after["teams"], action=ACTION_OF[change.kind], invite_id=change.invite_id, bulk_job_id=bulk_job_id,
            commit=False)
    if change.kind == UPDATE:
        return actions.update_member_and_report(
            uow, client, token, actor, member_id=change.member_id or "", email=change.email, name=name, before=before,
            role=after["role"] or "no_role", teams=after["teams"], bulk_job_id=bulk_job_id)
    if change.kind == REVOKE:
        return actions.revoke_and_report(uow, client, token, actor, invite_id=change.invite_id or "",
                                         email=change.email,
                                         role=before["role"], teams=before["teams"], bulk_job_id=bulk_job_id)
    if change.kind == REMOVE:
        return actions.remove_member_and_report(uow, client, token, actor, member_id=change.member_id or "",
                                                email=change.email, name=name, before=before,
                                                bulk_job_id=bulk_job_id)
    raise ValueError(f"not a kind of change: {change.kind!r}")
