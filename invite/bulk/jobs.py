"""Bulk jobs as plain functions: create from a preview, confirm once, run, pause, resume, cancel, retry.

Everything here takes the unit of work it reaches the database through (invite/adapters/unit_of_work.py)
and a waker for the queue, never Flask: the web pages, the worker and the command line pass FLASK and the
app's waker (invite/bulk/in_app.py), a process without Flask a SqlAlchemyUnitOfWork.

The database is the truth: a job's rows are claimed with one atomic UPDATE (FOR UPDATE SKIP LOCKED on
PostgreSQL), every send is an Action of the audit trail written before Junction is called (through
invite.services.actions, exactly as the form's are), and one runner at a time holds a job's lease. The queue
(tasks.py) only wakes a worker.

Sending rules:
- BULK_CONCURRENCY calls at once per job;
- a 429 pauses the whole job for its Retry-After; the row goes back to the queue;
- a row Junction certainly did not act on (no connection) is retried with backoff, at most 3 times;
- a row whose outcome may have taken effect is checked against List Invites by invite.services.actions and
  recorded confirmed or unknown; it is never re-posted by itself ("Retry the unknown rows" is a person's);
- 401/403 stops the job: the key was refused.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import scoped_session

from invite.adapters.storage import PENDING, Action, get_action, utcnow
from invite.adapters.unit_of_work import UnitOfWork
from invite.bulk.models import (
    ACCESS_JOB,
    CANCELLED,
    DONE,
    DRAFT,
    PAUSED,
    QUEUED,
    ROW_CANCELLED,
    ROW_DONE,
    ROW_DRAFT,
    RUNNING,
    SENDING,
    SKIPPED,
    STOPPED,
    BulkJob,
    BulkRow,
)
from invite.core import tokens, vocabulary
from invite.core.access import Change
from invite.core.member_outcomes import ROLE_WORDS
from invite.junction import AuthenticationError, RateLimitError, UnreachableError
from invite.services import access_changes, actions

log = logging.getLogger("invite.bulk")

MAX_RETRIES = 3  # for a row Junction did not act on (no connection, or rate limited)
RETRY_BACKOFF_SECONDS = (1.0, 2.0, 4.0)
DEFAULT_RETRY_AFTER_SECONDS = 30.0  # a 429 without Retry-After
LEASE_SECONDS = 15.0  # a runner that stops renewing its lease for this long is taken to be gone
RENEW_EVERY_SECONDS = 3.0
TICK_SECONDS = 0.1

# Row outcome kinds grouped the way the progress page counts them.
SENT_KINDS = ("invite_created", "invite_resent", "confirmed_pending")
NOT_SENT_KINDS = ("validation_error", "conflict", "rate_limited", "unreachable", "key_rejected", "not_found",
                  "rejected")
# A previewed row's verdict and a job's state as the pages and the command line word them.
VERDICT_WORDS = {
    "invalid_email": "Invalid address", "duplicate": "Duplicate", "already_member": "Already a member",
    "invalid_role": "Invalid role", "unknown_team": "Unknown team", "ambiguous_team": "Ambiguous team",
    "already_pending": "Already pending", "ready": "Ready", "resendable": "Already pending",
}
STATE_WORDS = {RUNNING: "Sending", PAUSED: "Paused", STOPPED: "Stopped", CANCELLED: "Cancelled", DONE: "Done"}
COUNT_GROUPS = ("sent", "already_member", "not_sent", "held_back", "unknown", "waiting", "cancelled", "skipped")
COUNT_LABELS = {"sent": "Sent", "already_member": "Already members", "not_sent": "Not sent", "held_back": "Held back",
                "unknown": "Unknown", "waiting": "Waiting", "cancelled": "Cancelled", "skipped": "Skipped"}


# Asks a worker to run a job, by its id (the channel's: invite/bulk/in_app.py for the app's queue).
Waker = Callable[[int], None]


@dataclass(frozen=True)
class Runner:
    """What run_job needs besides the database: Junction (`upstream`: its client and send limits), the secret
    the rows' tokens are issued with, how many rows are sent at once, and what each sender thread runs in
    (`in_thread`: for FLASK an app context of its own, made by the channel's side; nothing for a plain unit of
    work, whose sessions are the thread's own)."""

    upstream: Any
    secret: str
    concurrency: int
    in_thread: Callable[[], AbstractContextManager[Any]] = nullcontext


class JobError(Exception):
    """A request about a job that cannot be done in its current state; the message says why."""


class StaleDraft(JobError):
    """A preview too old to confirm as it stands: members and invitations may have changed since."""

    def __init__(self, job: BulkJob, message: str):
        super().__init__(message)
        self.job = job


# A preview older than this is checked against Junction again before its list is sent: a row that was
# ready then may be pending or a member by now.
PREVIEW_FRESH_FOR = timedelta(minutes=10)


# ---------------------------------------------------------------------------------------------- creating


@dataclass(frozen=True)
class DraftRow:
    """One previewed row as the job keeps it. sendable: ready; resendable: already pending, may be resent."""

    position: int
    email: str
    role: str | None
    teams: list[dict[str, str]]
    verdict: str
    message: str | None
    sendable: bool
    resendable: bool = False
    role_text: str = ""  # the role as typed: kept for a row that is not sent, so its page shows what was typed


RESENDABLE = "resendable"  # verdict stored for an already-pending row outside the resend cooldown


def new_token() -> str:
    return uuid.uuid4().hex


DRAFTS_KEPT_FOR = timedelta(days=1)


def create_draft(uow: UnitOfWork, rows: Iterable[DraftRow], who: actions.Actor, *, source: str | None = None,
                 checked_as_of: datetime | None = None) -> BulkJob:
    """Store a previewed list; nothing is sent until confirm_job is called with its token.

    Previews never confirmed are deleted a day later, here, so they do not pile up.
    """
    stale = select(BulkJob.id).where(BulkJob.state == DRAFT, BulkJob.created_at < utcnow() - DRAFTS_KEPT_FOR)
    uow.session.execute(delete(BulkRow).where(BulkRow.job_id.in_(stale)))
    uow.session.execute(delete(BulkJob).where(BulkJob.id.in_(stale)))
    job = BulkJob(token=new_token(), created_by=who.email, created_by_role=who.role, client_addr=who.client_addr,
                  channel=who.channel, os_user=who.os_user and who.os_user[:64], host=who.host and who.host[:255],
                  source=(source or "pasted")[:255], state=DRAFT, created_at=utcnow(), checked_as_of=checked_as_of)
    uow.session.add(job)
    uow.session.flush()
    uow.session.execute(BulkRow.__table__.insert(), [
        {"job_id": job.id, "position": r.position, "email": r.email[:320],
         "role": r.role or (r.role_text[:32] if not (r.sendable or r.resendable) else None) or None, "teams": r.teams,
         "verdict": RESENDABLE if r.resendable else r.verdict, "preview_message": r.message,
         "state": ROW_DRAFT if (r.sendable or r.resendable) else SKIPPED, "attempts": 0}
        for r in rows
    ])
    uow.session.commit()
    return job


def draft_for(uow: UnitOfWork, token: str, who: actions.Actor) -> BulkJob | None:
    """The unconfirmed preview with this token, if this person made it."""
    job = uow.session.scalar(select(BulkJob).where(BulkJob.token == token, BulkJob.state == DRAFT))
    if job is None or job.created_by.strip().lower() != who.email.strip().lower():
        return None
    return job


def draft_counts(uow: UnitOfWork, job_id: int) -> tuple[int, int]:
    """(ready rows, pending rows that may be resent) of a draft: what the confirm buttons count."""
    counts = dict(uow.session.execute(
        select(BulkRow.verdict, func.count()).where(BulkRow.job_id == job_id, BulkRow.state == ROW_DRAFT)
        .group_by(BulkRow.verdict)).all())
    resendable = counts.pop(RESENDABLE, 0)
    return sum(counts.values()), resendable


def confirm_job(uow: UnitOfWork, token: str, who: actions.Actor, *, waker: Waker,
                resend_pending: bool = False) -> tuple[BulkJob | None, bool]:
    """Start the draft with this token, once. Returns (job, started now); a repeat gets (job, False).

    Only the person who previewed the list confirms it (the job then names one person for both), and only
    while the preview is fresh: raises JobError, or StaleDraft for a preview to check again.
    """
    now = utcnow()
    job = uow.session.scalar(select(BulkJob).where(BulkJob.token == token))
    if job is not None and job.state == DRAFT:
        if job.created_by.strip().lower() != who.email.strip().lower():
            uow.session.rollback()
            raise JobError(f"This preview was made by {job.created_by}, so only they can confirm it. To send the "
                           "list yourself, preview it again: nothing was sent.")
        if now - job.created_at > PREVIEW_FRESH_FOR:
            uow.session.rollback()
            raise StaleDraft(job, "This preview is more than 10 minutes old, and members and invitations may have "
                                  "changed since, so the list was checked against Junction again: nothing was "
                                  "sent. Check the new preview and confirm it.")
    flipped = uow.session.execute(
        update(BulkJob).where(BulkJob.token == token, BulkJob.state == DRAFT,
                              func.lower(BulkJob.created_by) == who.email.strip().lower())
        .values(state=RUNNING, confirmed_at=now, client_addr=who.client_addr)
    ).rowcount
    if not flipped:
        uow.session.rollback()
        return job, False
    uow.session.refresh(job)
    chosen = BulkRow.verdict != RESENDABLE if not resend_pending else BulkRow.state == ROW_DRAFT
    uow.session.execute(update(BulkRow).where(BulkRow.job_id == job.id, BulkRow.state == ROW_DRAFT, chosen)
                       .values(state=QUEUED, confirmed_by=who.email, confirmed_by_role=who.role))
    uow.session.execute(update(BulkRow).where(BulkRow.job_id == job.id, BulkRow.state == ROW_DRAFT)
                       .values(state=SKIPPED, message="Already pending; not resent."))
    uow.session.commit()
    _audit(job, "confirmed", who)
    waker(job.id)
    return job, True


def start_access_job(uow: UnitOfWork, changes: Iterable[Change], who: actions.Actor, *, plan_id: str,
                     file_sha256: str, source: str, waker: Waker) -> BulkJob:
    """Store an access plan's changes as a job that runs at once (the plan was the preview, and the caller
    has checked it against the org: invite.services.access_apply), one queued row per change in the order
    given, and wake a worker (`waker`). A second job for the same plan is refused by
    the database (IntegrityError)."""
    now = utcnow()
    job = BulkJob(token=new_token(), created_by=who.email, created_by_role=who.role, client_addr=who.client_addr,
                  channel=who.channel, os_user=who.os_user and who.os_user[:64], host=who.host and who.host[:255],
                  source=source[:255], state=RUNNING, created_at=now, confirmed_at=now, kind=ACCESS_JOB,
                  plan_id=plan_id, file_sha256=file_sha256)
    uow.session.add(job)
    uow.session.flush()
    uow.session.execute(BulkRow.__table__.insert(), [
        {"job_id": job.id, "position": position, "email": change.email[:320],
         "role": (change.after or change.before).role if (change.after or change.before) else None,
         "teams": [dict(t) for t in (change.after or change.before).teams] if (change.after or change.before) else [],
         "verdict": "ready", "state": QUEUED, "attempts": 0, "confirmed_by": who.email,
         "confirmed_by_role": who.role, "operation": change.kind, "change": change.as_json(),
         "invite_id": change.invite_id}
        for position, change in enumerate(changes, start=1)
    ])
    uow.commit()
    _audit(job, "confirmed", who, plan_id=plan_id, file_sha256=file_sha256)
    waker(job.id)
    return job


def _audit(job: BulkJob, event: str, who: actions.Actor | None, **fields: Any) -> None:
    log.info("bulk job %s %s by %s", job.id, event, who.email if who else "worker",
             extra={"fields": {"bulk_job_id": job.id, "bulk_event": event,
                               "actor_email": who.email if who else None, **fields}})


def wake(enqueue: Callable[[int], None], job_id: int) -> None:
    """Ask a worker to run the job through `enqueue` (the queue's wake: the message carries only the id);
    what a channel's waker does.

    A queue that cannot be reached loses nothing: the job is already stored as running, and the workers'
    sweep (at start-up and every minute) starts it.
    """
    try:
        enqueue(job_id)
    except Exception:  # noqa: BLE001 - Redis down, a locked SQLite queue: the sweep starts the job later
        log.warning("bulk job %s: the queue could not be reached; a worker's sweep will start it", job_id,
                    exc_info=True, extra={"fields": {"bulk_job_id": job_id}})


# ------------------------------------------------------------------------------------------ controlling


def get_job(uow: UnitOfWork, job_id: int) -> BulkJob | None:
    return uow.session.get(BulkJob, job_id, populate_existing=True)


def list_jobs(uow: UnitOfWork, limit: int = 50) -> list[BulkJob]:
    return list(uow.session.scalars(select(BulkJob).where(BulkJob.state != DRAFT)
                                   .order_by(BulkJob.created_at.desc(), BulkJob.id.desc()).limit(limit)))


def _require(uow: UnitOfWork, job_id: int) -> BulkJob:
    job = get_job(uow, job_id)
    if job is None or job.state == DRAFT:
        raise JobError("There is no such job.")
    return job


def pause(uow: UnitOfWork, job_id: int, who: actions.Actor) -> BulkJob:
    job = _require(uow, job_id)
    if job.state != RUNNING:
        raise JobError("Only a running job can be paused.")
    uow.session.execute(update(BulkJob).where(BulkJob.id == job_id, BulkJob.state == RUNNING)
                       .values(state=PAUSED, message=f"Paused by {who.email}."))
    uow.session.commit()
    _audit(job, "paused", who)
    return get_job(uow, job_id)


def resume(uow: UnitOfWork, job_id: int, who: actions.Actor, *, waker: Waker) -> BulkJob:
    job = _require(uow, job_id)
    if job.state not in (PAUSED, STOPPED):
        raise JobError("Only a paused or stopped job can be resumed.")
    uow.session.execute(update(BulkJob).where(BulkJob.id == job_id, BulkJob.state.in_((PAUSED, STOPPED)))
                       .values(state=RUNNING, message=None, paused_until=None))
    uow.session.commit()
    _audit(job, "resumed", who)
    waker(job_id)
    return get_job(uow, job_id)


def cancel(uow: UnitOfWork, job_id: int, who: actions.Actor) -> BulkJob:
    """Stop the unsent rows; rows already in flight finish and are recorded."""
    job = _require(uow, job_id)
    if job.state in (DONE, CANCELLED):
        raise JobError("This job has already ended.")
    now = utcnow()
    uow.session.execute(update(BulkRow).where(BulkRow.job_id == job_id, BulkRow.state == QUEUED)
                       .values(state=ROW_CANCELLED, outcome_kind=None, finished_at=now,
                               message=f"Cancelled by {who.email} before it was sent."))
    uow.session.execute(update(BulkJob).where(BulkJob.id == job_id)
                       .values(state=CANCELLED, finished_at=now, message=f"Cancelled by {who.email}."))
    uow.session.commit()
    _audit(job, "cancelled", who)
    return get_job(uow, job_id)


def unknown_count(uow: UnitOfWork, job_id: int) -> int:
    return uow.session.scalar(select(func.count()).select_from(BulkRow).where(
        BulkRow.job_id == job_id, BulkRow.state == ROW_DONE, BulkRow.outcome_kind == "unknown")) or 0


def retry_unknown(uow: UnitOfWork, job_id: int, who: actions.Actor, *, waker: Waker) -> int:
    """Send the rows whose outcome stayed unknown once more (a person's explicit choice). Returns how many."""
    job = _require(uow, job_id)
    if job.state in (PAUSED, CANCELLED):
        raise JobError("Resume the job first." if job.state == PAUSED else "This job was cancelled.")
    count = uow.session.execute(
        update(BulkRow).where(BulkRow.job_id == job_id, BulkRow.state == ROW_DONE, BulkRow.outcome_kind == "unknown")
        .values(state=QUEUED, not_before=None, confirmed_by=who.email, confirmed_by_role=who.role,
                outcome_kind=None, message=None, field_errors=None, finished_at=None)
    ).rowcount
    if count:
        uow.session.execute(update(BulkJob).where(BulkJob.id == job_id)
                           .values(state=RUNNING, finished_at=None, message=None))
    uow.session.commit()
    if count:
        _audit(job, "retry_unknown", who, rows=count)
        waker(job_id)
    return count


# ---------------------------------------------------------------------------------------------- status


@dataclass
class JobStatus:
    job: BulkJob
    counts: dict[str, int] = field(default_factory=dict)
    total: int = 0  # rows chosen to send (skipped rows excluded)
    finished: int = 0
    rate_per_minute: float | None = None
    eta_seconds: float | None = None

    @property
    def percent(self) -> int:
        return round(100 * self.finished / self.total) if self.total else 100

    def as_json(self) -> dict[str, Any]:
        job = self.job
        return {"id": job.id, "state": job.state, "message": job.message,
                "paused_until": job.paused_until.isoformat() if job.paused_until else None,
                "counts": self.counts, "total": self.total, "finished": self.finished, "percent": self.percent,
                "rate_per_minute": self.rate_per_minute, "eta_seconds": self.eta_seconds}


def count_group(state: str, outcome_kind: str | None) -> str:
    if state == SKIPPED:
        return "skipped"
    if state == ROW_CANCELLED:
        return "cancelled"
    if state != ROW_DONE:
        return "waiting"
    if outcome_kind in SENT_KINDS:
        return "sent"
    if outcome_kind == "already_in_org":
        return "already_member"
    if outcome_kind in NOT_SENT_KINDS:
        return "not_sent"
    if outcome_kind == "held_back":
        return "held_back"
    # An access job's other kinds (a member changed or removed, a revoke, a guard's refusal): by the
    # vocabulary's group, the way every other page counts them.
    group = vocabulary.group(outcome_kind)
    return {vocabulary.SUCCEEDED: "sent", vocabulary.FAILED: "not_sent"}.get(group, "unknown")


# An access job's counts: its rows are changes, not only invitations sent.
ACCESS_COUNT_LABELS = {**COUNT_LABELS, "sent": "Done", "not_sent": "Not done"}


def count_labels(job: BulkJob) -> dict[str, str]:
    return ACCESS_COUNT_LABELS if job.kind == ACCESS_JOB else COUNT_LABELS


def job_status(uow: UnitOfWork, job_id: int) -> JobStatus | None:
    job = get_job(uow, job_id)
    if job is None:
        return None
    counts: Counter[str] = Counter({group: 0 for group in COUNT_GROUPS})
    rows = uow.session.execute(select(BulkRow.state, BulkRow.outcome_kind, func.count())
                              .where(BulkRow.job_id == job_id).group_by(BulkRow.state, BulkRow.outcome_kind))
    for state, kind, n in rows:
        counts[count_group(state, kind)] += n
    total = sum(counts.values()) - counts["skipped"]
    finished = total - counts["waiting"]
    status = JobStatus(job=job, counts=dict(counts), total=total, finished=finished)
    if job.confirmed_at and finished:
        end = job.finished_at or utcnow()
        elapsed = max((end - job.confirmed_at).total_seconds(), 0.001)
        status.rate_per_minute = round(finished / elapsed * 60, 1)
        if job.state == RUNNING and counts["waiting"]:
            status.eta_seconds = round(counts["waiting"] / (finished / elapsed), 1)
    return status


def job_rows(uow: UnitOfWork, job_id: int) -> list[BulkRow]:
    return list(uow.session.scalars(select(BulkRow).where(BulkRow.job_id == job_id).order_by(BulkRow.position)))


def row_words(row: BulkRow) -> str:
    """The row's outcome in plain words."""
    if row.state == SKIPPED:
        return "Skipped"
    if row.state == ROW_CANCELLED:
        return "Cancelled"
    if row.state == QUEUED:
        return "Waiting to retry" if row.attempts else "Waiting"
    if row.state in (SENDING, ROW_DRAFT):
        return "Applying" if row.operation else "Sending"
    return vocabulary.label(row.outcome_kind, access_changes.ACTION_OF.get(row.operation or "", "send"))


def _grant_words(grant: dict[str, Any] | None) -> str:
    if not grant:
        return ""
    role = ROLE_WORDS.get(grant.get("role") or "", grant.get("role") or "")
    teams = [team["name"] for team in grant.get("teams") or []]
    return f"{role} ({', '.join(teams)})" if teams else role


def change_words(row: BulkRow) -> str:
    """What an access job's row changes, in a few words: "Change role: Team admin → Org admin", "Remove";
    empty for a row of an invite job."""
    if not row.operation:
        return ""
    change = row.change or {}
    before, after = change.get("before") or {}, change.get("after") or {}
    if row.operation == "invite":
        return f"Invite as {_grant_words(after)}"
    if row.operation == "update":
        teams = [[t["name"] for t in grant.get("teams") or []] for grant in (before, after)]
        if before.get("role") == after.get("role"):
            return f"Change teams: {', '.join(teams[0]) or 'none'} → {', '.join(teams[1]) or 'none'}"
        return f"Change role: {_grant_words(before)} → {_grant_words(after)}"
    if row.operation == "reinvite":
        return f"Re-invite: {_grant_words(before)} → {_grant_words(after)}"
    if row.operation == "revoke":
        return f"Revoke the invitation ({_grant_words(before)})"
    if row.operation == "remove":
        return f"Remove from the org ({_grant_words(before)})"
    return row.operation


# --------------------------------------------------------------------------------------------- running


def runner_id() -> str:
    """One per run of a job (two runs in one process are two runners): host, process id, a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _runner_is_gone(runner: str | None) -> bool:
    """A runner on this machine whose process no longer exists (killed): its job can be taken over at once."""
    if not runner:
        return False
    host, _, rest = runner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        with open(f"/proc/{pid_text}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"  # a zombie is gone too
    except OSError:
        return True


def has_runner(job: BulkJob) -> bool:
    """Whether a runner still holds the job: after a pause, cancel or stop its rows in flight are still
    being recorded until it lets go (or its lease lapses, when it died)."""
    return job.runner is not None and job.lease_until is not None and job.lease_until >= utcnow()


def _acquire(uow: UnitOfWork, job_id: int, me: str) -> bool:
    job = get_job(uow, job_id)
    if job is None or job.state != RUNNING:
        return False
    now = utcnow()
    holders = [BulkJob.runner.is_(None), BulkJob.lease_until < now]
    if _runner_is_gone(job.runner):
        holders.append(BulkJob.runner == job.runner)
    got = uow.session.execute(update(BulkJob).where(BulkJob.id == job_id, BulkJob.state == RUNNING, or_(*holders))
                             .values(runner=me, lease_until=now + timedelta(seconds=LEASE_SECONDS))).rowcount
    uow.session.commit()
    return bool(got)


def _renew(uow: UnitOfWork, job_id: int, me: str) -> bool:
    kept = uow.session.execute(update(BulkJob).where(BulkJob.id == job_id, BulkJob.runner == me)
                              .values(lease_until=utcnow() + timedelta(seconds=LEASE_SECONDS))).rowcount
    uow.session.commit()
    return bool(kept)


def _release(uow: UnitOfWork, job_id: int, me: str) -> None:
    uow.session.execute(update(BulkJob).where(BulkJob.id == job_id, BulkJob.runner == me)
                       .values(runner=None, lease_until=None))
    uow.session.commit()


def claim_rows(uow: UnitOfWork, job_id: int, limit: int, me: str) -> list[int]:
    """Move up to `limit` due rows from queued to sending, atomically: no two runners get the same row.

    PostgreSQL: the due rows are locked with FOR UPDATE SKIP LOCKED, then updated, in one transaction (not
    as `UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`, whose subquery PostgreSQL may run
    again per row and so update more than n). SQLite: one UPDATE; SQLite runs one writer at a time.
    """
    now = utcnow()
    due = (select(BulkRow.id)
           .where(BulkRow.job_id == job_id, BulkRow.state == QUEUED,
                  (BulkRow.not_before.is_(None)) | (BulkRow.not_before <= now))
           .order_by(BulkRow.position).limit(limit))
    claim = update(BulkRow).values(state=SENDING, attempts=BulkRow.attempts + 1).returning(BulkRow.id)
    if uow.engine.dialect.name == "postgresql":
        ids = list(uow.session.scalars(due.with_for_update(skip_locked=True)))
        claimed = list(uow.session.scalars(claim.where(BulkRow.id.in_(ids), BulkRow.state == QUEUED))) if ids else []
    else:
        claimed = list(uow.session.scalars(claim.where(BulkRow.id.in_(due.scalar_subquery()),
                                                      BulkRow.state == QUEUED)))
    uow.session.commit()
    return claimed


def _token(row: BulkRow, secret: str) -> str:
    """The row's attempt's action token: issued by the server like every channel's, and the same each time
    it is asked for, so a worker that takes the job over finds the attempt's audit row."""
    place = (str(row.job_id), str(row.id), str(row.attempts))
    return tokens.issue(secret, "access" if row.operation else "bulk", *place, nonce="-".join(place))


def _legacy_token(row: BulkRow) -> str:
    """The token an attempt had before tokens were server-issued: a row left in flight across the upgrade."""
    return f"bulk-{row.job_id}-{row.id}-{row.attempts}"


def _record(row: BulkRow, action: Action) -> None:
    """Copy an attempt's outcome onto its row, in plain words, with a 422 mapped to the row's columns."""
    outcome = action.outcome or {}
    row.state = ROW_DONE
    row.action_id = action.id
    row.outcome_kind = action.outcome_kind
    row.finished_at = action.completed_at or utcnow()
    checked = outcome.get("checked_invite") or {}
    row.invite_id = checked.get("id") or action.invite_id
    alert = outcome.get("alert") or {}
    row.message = None
    if outcome.get("kind") == "form":
        # The row's pill already says "Unknown: may have been sent" or "Not sent: …": the message says why, once.
        row.message = alert.get("text") if alert.get("sent") == "maybe_sent" else vocabulary.reason(alert.get("title"))
    elif outcome.get("kind") in ("member", "revoke") and outcome.get("level") != "success":
        # A change or revoke that was not made (or may have been): its title says why, its text what next.
        why = vocabulary.reason(outcome.get("title"), action.action)
        row.message = " ".join(filter(None, (why, outcome.get("text"))))
    if action.outcome_kind == "confirmed_pending":
        row.message = "Junction did not answer, but now lists the invitation as sent just now."
    errors = {name: list(messages) for name, messages in (outcome.get("field_errors") or {}).items()}
    if outcome.get("form_errors"):
        errors["row"] = list(outcome["form_errors"])
    row.field_errors = errors or None


class _Control:
    """What a job's sender threads share: stop, and hold back until Junction's Retry-After has passed."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.hold_until: datetime | None = None
        self.lock = threading.Lock()

    def held_for(self) -> float:
        until = self.hold_until
        return max(0.0, (until - utcnow()).total_seconds()) if until else 0.0

    def hold(self, seconds: float) -> datetime:
        with self.lock:
            until = utcnow() + timedelta(seconds=seconds)
            if self.hold_until is None or self.hold_until < until:
                self.hold_until = until
            return self.hold_until


def _send_row(uow: UnitOfWork, runner: Runner, job: BulkJob, row: BulkRow, control: _Control) -> None:
    """One attempt at one claimed row, through the audited Action path; then what it means for the job."""
    # An access job's changes are the "access" channel's in the trail (the job keeps where it was started).
    actor = actions.Actor(email=row.confirmed_by or job.created_by, role=row.confirmed_by_role,
                          client_addr=job.client_addr, request_id=f"bulk-{job.id}",
                          channel=ACCESS_JOB if row.operation else job.channel, os_user=job.os_user, host=job.host)
    upstream = runner.upstream
    token = _token(row, runner.secret)
    if row.operation:
        # A row a person retried after an unknown outcome is settled from Junction's lists before anything is
        # made again (its earlier attempt's answer was lost, and may have been made).
        earlier = uow.session.get(Action, row.action_id) if row.action_id else None
        retry_of = earlier if earlier is not None and earlier.outcome_kind == "unknown" else None
        claim, error = access_changes.carry_out(uow, upstream.client, token, actor,
                                                Change.from_json(row.change or {}),
                                                limits=upstream.limits, bulk_job_id=job.id, retry_of=retry_of)
    else:
        claim, error = actions.send_and_report(uow, upstream.client, token, actor, email=row.email,
                                               role=row.role or "no_role", teams=row.teams, bulk_job_id=job.id,
                                               limits=upstream.limits,
                                               commit=False)  # the outcome is committed with the row's, below
    row.action_id = claim.action.id
    if isinstance(error, AuthenticationError):
        row.state = QUEUED  # not acted on: it goes out when the job is resumed with a key Junction accepts
        uow.session.execute(update(BulkJob).where(BulkJob.id == job.id, BulkJob.state == RUNNING).values(
            state=STOPPED, message="Junction refused the dashboard's Management Key (the key was refused), so the "
                                   "job stopped. Ask whoever runs the dashboard to check JUNCTION_MANAGEMENT_KEY, "
                                   "then resume: the unsent rows are kept."))
        control.stop.set()
    elif isinstance(error, RateLimitError) and row.attempts <= MAX_RETRIES:
        until = control.hold(error.retry_after_seconds or DEFAULT_RETRY_AFTER_SECONDS)
        row.state, row.not_before = QUEUED, until
        uow.session.execute(update(BulkJob).where(BulkJob.id == job.id).values(paused_until=until))
    elif isinstance(error, UnreachableError) and row.attempts <= MAX_RETRIES:
        backoff = RETRY_BACKOFF_SECONDS[min(row.attempts, len(RETRY_BACKOFF_SECONDS)) - 1]
        row.state, row.not_before = QUEUED, utcnow() + timedelta(seconds=backoff)
    else:
        _record(row, claim.action)
    uow.session.commit()


def _end_session(uow: UnitOfWork) -> None:
    """End this thread's session (both units of work keep one per thread, or per app context)."""
    session = uow.session
    if isinstance(session, scoped_session):
        session.remove()
    else:
        session.close()


def _sender(uow: UnitOfWork, runner: Runner, job_id: int, me: str, control: _Control) -> None:
    """Claim a due row, send it, repeat: until none is due, or the job is held, paused, cancelled or lost."""
    with runner.in_thread():
        job = uow.session.get(BulkJob, job_id)  # who confirmed it and from where: fixed once it runs
        try:
            while not control.stop.is_set():
                held = control.held_for()
                if held:
                    control.stop.wait(min(held, TICK_SECONDS))
                    continue
                claimed = claim_rows(uow, job_id, 1, me)
                if not claimed:
                    return
                for row_id in claimed:
                    try:
                        _send_row(uow, runner, job, uow.session.get(BulkRow, row_id), control)
                    except Exception:  # noqa: BLE001 - one row's failure must not stop the others: it stays in
                        uow.session.rollback()  # doubt, and is settled when the job next starts
                        log.exception("bulk job %s: row %s failed unexpectedly", job_id, row_id)
                        return
        finally:
            _end_session(uow)


def settle_in_doubt(uow: UnitOfWork, job_id: int, client: Any, secret: str) -> int:
    """Rows a dead runner left in `sending`: settled from the audit trail and List Invites, never re-posted."""
    rows = list(uow.session.scalars(select(BulkRow).where(BulkRow.job_id == job_id, BulkRow.state == SENDING)))
    for row in rows:
        action = get_action(uow, _token(row, secret)) or get_action(uow, _legacy_token(row))
        if action is None:
            row.state = QUEUED  # claimed, but stopped before its audit row was written: nothing went out
        elif action.state == PENDING:
            actions.settle_in_flight(uow, client, action, commit=False)
            _record(row, action)
        else:
            _record(row, action)
        uow.session.commit()
    if rows:
        log.info("bulk job %s: settled %d rows left in flight", job_id, len(rows),
                 extra={"fields": {"bulk_job_id": job_id, "settled": len(rows)}})
    return len(rows)


def _remaining(uow: UnitOfWork, job_id: int) -> tuple[int, datetime | None]:
    """Rows still queued, and when the earliest of them is due."""
    count, due = uow.session.execute(select(func.count(), func.min(BulkRow.not_before))
                                    .where(BulkRow.job_id == job_id, BulkRow.state == QUEUED)).one()
    if due is not None and due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    return count, due


def run_job(uow: UnitOfWork, job_id: int, runner: Runner) -> str:
    """Send the job's rows until none is left, it is paused or cancelled, or another runner holds it.

    runner.concurrency (BULK_CONCURRENCY) sender threads each claim and send one row at a time, each in
    runner.in_thread() with a session of its own; this thread keeps the lease, watches the job's state, and
    restarts the senders when rows set aside for a retry fall due. For FLASK the caller is in an app context.
    """
    me = runner_id()
    if not _acquire(uow, job_id, me):
        return "not running here"
    # An access job's changes go one at a time, in the plan's order: each member's guard (never the org's
    # last Org admin) then sees the changes made before it.
    job = get_job(uow, job_id)
    concurrency = 1 if job is not None and job.kind == ACCESS_JOB else runner.concurrency
    control = _Control()
    senders: list[Future] = []
    pool = ThreadPoolExecutor(concurrency, thread_name_prefix=f"bulk-{job_id}")
    ended = "left"
    try:
        settle_in_doubt(uow, job_id, runner.upstream.client, runner.secret)
        renewed = time.monotonic()
        while True:
            if time.monotonic() - renewed >= RENEW_EVERY_SECONDS:
                if not _renew(uow, job_id, me):
                    ended = "lease lost"
                    break
                renewed = time.monotonic()
            job = get_job(uow, job_id)
            uow.session.commit()  # end the read so the next look sees other writers
            if job.state != RUNNING:
                ended = job.state
                break
            senders = [f for f in senders if not f.done()]
            if not senders:
                remaining, due = _remaining(uow, job_id)
                uow.session.commit()
                if not remaining:
                    _finish_job(uow, job_id, me)
                    ended = DONE
                    break
                if due is None or due <= utcnow():
                    senders = [pool.submit(_sender, uow, runner, job_id, me, control) for _ in range(concurrency)]
            time.sleep(TICK_SECONDS)
    finally:
        control.stop.set()
        pool.shutdown(wait=True)  # rows in flight finish and are recorded whatever happened
        _release(uow, job_id, me)
        _end_session(uow)
    log.info("bulk job %s: runner %s ended (%s)", job_id, me, ended,
             extra={"fields": {"bulk_job_id": job_id, "runner": me, "ended": ended}})
    return ended


def _finish_job(uow: UnitOfWork, job_id: int, me: str) -> None:
    uow.session.execute(update(BulkJob).where(BulkJob.id == job_id, BulkJob.state == RUNNING, BulkJob.runner == me)
                       .values(state=DONE, finished_at=utcnow(), paused_until=None))
    uow.session.commit()


def active_job_ids(uow: UnitOfWork) -> list[int]:
    """Jobs a worker should be running: for the start-up sweep and the periodic one."""
    return list(uow.session.scalars(select(BulkJob.id).where(BulkJob.state == RUNNING).order_by(BulkJob.id)))


def preview_list(uow: UnitOfWork, upstream: Any, rows, default_role: str, *,
                 copy_max_age: timedelta | None = None,
                 on_thread: Callable[[Callable[[], Any]], Callable[[], Any]] = lambda call: call):
    """The preview of a parsed list (invite.bulk.preview.build_preview) against the org as Junction lists it
    now: the process's team list, and the members and pending invitations found for the list's addresses
    (invite.bulk.standing: searched address by address for a short list; for a long one, the worker's copy of
    the org while younger than `copy_max_age`, else both lists walked; no copy_max_age: Junction
    itself, as when a preview too old to confirm is checked again). A JunctionError goes to the caller:
    nothing was stored."""
    from functools import partial

    from invite.adapters import org_snapshot
    from invite.bulk.preview import judge_locally, with_standing
    from invite.bulk.standing import standing_of

    known = partial(org_snapshot.lookup, uow.engine, max_age=copy_max_age) if copy_max_age is not None else None
    # Junction is asked about the addresses on another thread while this one checks the rows' own cells
    # (addresses, roles, teams: the preview's own work, 0.4 s for 5,000 rows), so the two overlap. The calls
    # made on other threads count in the request's Server-Timing (on_thread: the page's for_this_request).
    emails = [row.email for row in rows]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-standing") as pool:
        standing = pool.submit(on_thread(lambda: standing_of(upstream.client, emails, on_thread=on_thread,
                                                             known=known)))
        local = judge_locally(rows, default_role=default_role, teams=upstream.teams.get().value)
        found = standing.result()
        return with_standing(local, members=found.members, invites=found.invites, as_of=found.as_of)


def draft_rows(preview, cooldown_minutes: float) -> list[DraftRow]:
    """The preview's rows as a draft keeps them: ready rows sendable; pending ones resendable outside the
    support desk's resend cooldown (within it they are skipped, saying when they were last sent)."""
    from invite.bulk.preview import ALREADY_PENDING, READY
    from invite.services.invitations import last_sent_within

    rows = []
    for row in sorted(preview.rows, key=lambda r: r.input.number):
        resendable = row.verdict == ALREADY_PENDING and not last_sent_within(row.pending, cooldown_minutes)
        message = row.message
        if row.verdict == ALREADY_PENDING and not resendable:
            message += f" It was sent within the last {cooldown_minutes:g} minutes, so it is not resent."
        sendable = row.verdict == READY
        # A row that is sent keeps the teams it was resolved to; one that is not keeps every team as typed,
        # each marked with its problem, so the job's page shows the row as the file had it.
        teams = ([{"id": t.id, "name": t.name} for t in row.teams] if sendable or resendable
                 else [cell.stored() for cell in row.team_cells])
        rows.append(DraftRow(position=row.input.number, email=row.email, role=row.role, teams=teams,
                             verdict=row.verdict, message=message, sendable=sendable, resendable=resendable,
                             role_text=row.input.role_text))
    return rows
