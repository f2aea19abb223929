"""Access as code (issue 27), the apply: exactly a reviewed plan's changes, as one durable job, or nothing.

`apply_plan` reads the org again and compares its fingerprint with the plan's: when anything moved since the
plan was made (a member, a pending invitation, a team), the plan may no longer be what the file asks for,
so nothing is changed and the caller is told to plan again. Otherwise the plan's changes become one bulk job
of kind "access" (invite/bulk/jobs.py), run by the bulk worker like any other: each row one change carried
out through invite.services.actions (invite/services/access_changes.py), written ahead in the trail under a
server-issued token of the "access" channel, within the send limits, paused by a 429, resumed after a kill
-9 without doing anything twice. The job keeps the plan's id and the file's sha256; every action of the trail
reaches them through its bulk_job_id.

Each refusal is its own exception, carrying what a page or a terminal needs to explain it; all are
ApplyRefused, and none changed anything. Web pages and the command line call the same function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from invite.adapters.unit_of_work import UnitOfWork
from invite.bulk import jobs
from invite.bulk.models import BulkJob
from invite.core.access import INVITE, REINVITE, REMOVE, REVOKE, UPDATE, Change, OrgState, Plan, fingerprint
from invite.core.actor import Actor
from invite.junction import JunctionClient
from invite.services.access import read_state


class ApplyRefused(Exception):
    """The plan was not applied and nothing was changed: `title` says why, `text` what to do next."""

    code = "refused"

    def __init__(self, title: str, text: str = ""):
        super().__init__(title)
        self.title = title
        self.text = text


class NothingToApply(ApplyRefused):
    code = "nothing_to_apply"

    def __init__(self, plan: Plan):
        super().__init__("Nothing to apply: the org already matches the file.",
                         "The plan has no changes, so no job was started.")
        self.plan = plan


class TooManyRemovals(ApplyRefused):
    """The plan removes more members than the caller allowed (0 unless asked): checked before anything else."""

    code = "too_many_removals"

    def __init__(self, plan: Plan, removals: Sequence[Change], allowed: int):
        count = len(removals)
        members = "member" if count == 1 else "members"
        super().__init__(
            f"This plan removes {count} {members} from the org, and at most {allowed} may be removed: nothing was "
            "changed.",
            f"Check the removals ({_listed(c.email for c in removals)}); to apply them, allow {count} removals.")
        self.plan = plan
        self.removals = tuple(removals)
        self.allowed = allowed


class PlanDrifted(ApplyRefused):
    """The org's fingerprint moved since the plan was made. `moved`: the plan's addresses whose member or
    invitation is no longer as the plan saw it (empty when what moved is outside the plan); `state` is the org
    as read now, to plan again from at once."""

    code = "drifted"

    def __init__(self, plan: Plan, state: OrgState, current_fingerprint: str, moved: Sequence[str]):
        if moved:
            text = (f"Since the plan was made, {_listed(moved)} changed in Junction. Make the plan again from the "
                    "same file, review it, then apply the new plan.")
        else:
            text = ("Members, invitations or teams that this plan does not touch changed in Junction since it was "
                    "made. Make the plan again from the same file, review it, then apply the new plan.")
        super().__init__("The org changed since this plan was made: plan again. Nothing was changed.", text)
        self.plan = plan
        self.state = state
        self.current_fingerprint = current_fingerprint
        self.moved = tuple(moved)


class AlreadyApplied(ApplyRefused):
    """This plan (its id) was already applied: a job of its own, started once."""

    code = "already_applied"

    def __init__(self, plan: Plan, job_id: int):
        super().__init__(f"This plan was already applied, as job {job_id}: nothing more was changed.",
                         "To change the org again, make a new plan from the file.")
        self.plan = plan
        self.job_id = job_id


def _listed(emails: Iterable[str], most: int = 5) -> str:
    names = list(emails)
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _moved(plan: Plan, state: OrgState) -> list[str]:
    """The plan's addresses whose member or invitation Junction no longer lists as the plan saw it."""
    members = {m.email.strip().lower(): m for m in state.members}
    invites = {i.email.strip().lower(): i for i in state.invites}
    moved = []
    for change in plan.changes:
        key = change.email.strip().lower()
        member, invite = members.get(key), invites.get(key)
        if change.kind == INVITE:
            same = member is None and invite is None
        elif change.kind in (REINVITE, REVOKE):
            same = invite is not None and invite.id == change.invite_id and member is None and \
                change.before is not None and invite.role == change.before.role and \
                sorted(invite.team_ids) == sorted(t["id"] for t in change.before.teams)
        else:
            same = member is not None and member.id == change.member_id and change.before is not None and \
                member.role == change.before.role and (member.role != "team_admin" or sorted(
                    member.team_ids) == sorted(t["id"] for t in change.before.teams))
        if not same:
            moved.append(change.email)
    return moved


def _promotes(change: Change) -> bool:
    return change.kind == UPDATE and change.after is not None and change.after.role == "org_admin"


def job_order(changes: Sequence[Change]) -> list[Change]:
    """The order the job carries the changes out in (one at a time): the plan's (invite, update, re-invite,
    revoke, remove), with the updates that make someone an Org admin first, so demoting or removing the org's
    other Org admins later in the same plan is not refused as leaving it without one."""
    order = {INVITE: 0, UPDATE: 2, REINVITE: 3, REVOKE: 4, REMOVE: 5}
    return sorted(changes, key=lambda c: 1 if _promotes(c) else order[c.kind])


def applied_as(uow: UnitOfWork, plan_id: str) -> int | None:
    """The job that applied this plan, if any."""
    return uow.session.scalar(select(BulkJob.id).where(BulkJob.plan_id == plan_id))


def apply_plan(uow: UnitOfWork, plan: Plan, *, actor: Actor, client: JunctionClient, max_removals: int,
               waker: Callable[[int], None] | None = None) -> int:
    """Start the job that applies exactly `plan`, and return its id; or raise an ApplyRefused (nothing changed).

    Refused, in this order: a plan with no change (NothingToApply); more removals than `max_removals`
    (TooManyRemovals, before Junction is read); a plan already applied (AlreadyApplied); an org whose
    fingerprint is no longer the plan's (PlanDrifted). A JunctionError reading the org goes to the caller:
    nothing was changed then either. `waker` asks a worker to run the job; without one, the app's queue
    (jobs.wake: a queue that cannot be reached loses nothing, the workers' sweep starts a running job).
    """
    if plan.is_empty:
        raise NothingToApply(plan)
    removals = [c for c in plan.changes if c.kind == REMOVE]
    if len(removals) > max(max_removals, 0):
        raise TooManyRemovals(plan, removals, max(max_removals, 0))
    earlier = applied_as(uow, plan.id)
    if earlier is not None:
        raise AlreadyApplied(plan, earlier)
    uow.commit()  # end the read: Junction's answer may take a while
    state = read_state(client)
    now = fingerprint(state)
    if now != plan.fingerprint:
        raise PlanDrifted(plan, state, now, _moved(plan, state))
    source = f"access plan {plan.id[:12]}" + (f" of {plan.source}" if plan.source else "")
    try:
        job = jobs.start_access_job(uow, job_order(plan.changes), actor, plan_id=plan.id,
                                    file_sha256=plan.file_sha256, source=source, waker=waker)
    except IntegrityError:  # another apply of the same plan started its job first
        uow.rollback()
        raise AlreadyApplied(plan, applied_as(uow, plan.id) or 0) from None
    return job.id
