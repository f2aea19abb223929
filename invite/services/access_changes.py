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
"""

from __future__ import annotations

from typing import Any

from invite.adapters.storage import Claim
from invite.core.access import INVITE, REINVITE, REMOVE, REVOKE, UPDATE, Change
from invite.core.actor import Actor
from invite.core.send_limits import SendLimits
from invite.junction import JunctionClient, JunctionError
from invite.services import actions

# The trail's action for each kind of change: what vocabulary.label words its outcome with.
ACTION_OF = {INVITE: "send", REINVITE: "resend", UPDATE: "update_member", REVOKE: "revoke", REMOVE: "remove_member"}


def _grant(change: Change, which: str) -> dict[str, Any]:
    grant = change.after if which == "after" else change.before
    return grant.as_json() if grant is not None else {"role": None, "teams": []}


def carry_out(client: JunctionClient, token: str, actor: Actor, change: Change, *, limits: SendLimits,
              bulk_job_id: int) -> tuple[Claim, JunctionError | None]:
    """The change as one audited action; the claim (its row holds the outcome) and the error Junction's
    answer raised, if any, for the job to pace itself by. A send's completion is left uncommitted, for the
    job to commit with its row's (the write-ahead row itself is committed before Junction is called)."""
    before, after = _grant(change, "before"), _grant(change, "after")
    name = change.name or change.email
    if change.kind in (INVITE, REINVITE):
        return actions.send_and_report(
            client, token, actor, limits=limits, email=change.email, role=after["role"] or "no_role",
            teams=after["teams"], action=ACTION_OF[change.kind], invite_id=change.invite_id, bulk_job_id=bulk_job_id,
            commit=False)
    if change.kind == UPDATE:
        return actions.update_member_and_report(
            client, token, actor, member_id=change.member_id or "", email=change.email, name=name, before=before,
            role=after["role"] or "no_role", teams=after["teams"], bulk_job_id=bulk_job_id)
    if change.kind == REVOKE:
        return actions.revoke_and_report(client, token, actor, invite_id=change.invite_id or "", email=change.email,
                                         role=before["role"], teams=before["teams"], bulk_job_id=bulk_job_id)
    if change.kind == REMOVE:
        return actions.remove_member_and_report(client, token, actor, member_id=change.member_id or "",
                                                email=change.email, name=name, before=before,
                                                bulk_job_id=bulk_job_id)
    raise ValueError(f"not a kind of change: {change.kind!r}")
