"""What a bulk job keeps: the job, and one row per address it was asked to send.

The database is the truth about every row; the task queue only wakes a worker. A row moves
draft -> queued -> sending -> done (or skipped, cancelled). A row in `sending` whose runner died is in
doubt: it is checked against List Invites before anything else of its job is sent, never re-posted.

Every text value is cleaned and cut to its column as it is written (FittedString, FittedText, CleanJSON),
as an audit row's are: a file's name, a forwarded address or Junction's message may hold NUL, terminal
escapes or bidi controls, or be longer than the column, which PostgreSQL refuses and a page would show.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from invite.adapters.storage import CleanJSON, FittedString, FittedText, UTCDateTime, db, utcnow

# Job states.
DRAFT = "draft"  # previewed, not confirmed: the confirm token is still unused
RUNNING = "running"
PAUSED = "paused"  # by a person; a 429 only sets paused_until
STOPPED = "stopped"  # by Junction refusing the key
CANCELLED = "cancelled"
DONE = "done"
ACTIVE_STATES = (RUNNING,)

# Job kinds: a list of invitations (the bulk page, `invite bulk FILE`), or an access plan's changes
# (`invite access apply`, /access: issue 27), each row one change carried out through invite.services.actions.
INVITE_JOB = "invite"
ACCESS_JOB = "access"

# Row states.
ROW_DRAFT = "draft"
QUEUED = "queued"
SENDING = "sending"
ROW_DONE = "done"
SKIPPED = "skipped"  # not sendable in the preview, or not chosen
ROW_CANCELLED = "cancelled"


class BulkJob(db.Model):
    __tablename__ = "bulk_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The one-time confirm token: confirming flips draft -> running once, whatever repeats the post.
    token: Mapped[str] = mapped_column(FittedString(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    created_by: Mapped[str] = mapped_column(FittedString(320))
    created_by_role: Mapped[str | None] = mapped_column(FittedString(32))
    client_addr: Mapped[str | None] = mapped_column(FittedString(64))
    source: Mapped[str | None] = mapped_column(FittedString(255))  # "pasted" or the uploaded file's name
    # Where it was started, as actions record it: "web" or "cli" (with the OS user and host); every send of
    # the job carries these into the audit trail.
    channel: Mapped[str] = mapped_column(FittedString(8), default="web", server_default="web")
    os_user: Mapped[str | None] = mapped_column(FittedString(64))
    host: Mapped[str | None] = mapped_column(FittedString(255))
    state: Mapped[str] = mapped_column(FittedString(16), default=DRAFT, index=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Junction's Retry-After: nothing new is sent before this moment.
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message: Mapped[str | None] = mapped_column(FittedText)  # why it stopped, who paused or cancelled it
    # Which worker runs it, until when (renewed while it runs): one runner per job at a time.
    runner: Mapped[str | None] = mapped_column(FittedString(200))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(FittedString(16), default=INVITE_JOB, server_default=INVITE_JOB)
    # An access job's plan (its id, unique: a plan is applied once) and the sha256 of the file it was made
    # from; the trail reaches both from each of its actions through bulk_job_id.
    plan_id: Mapped[str | None] = mapped_column(FittedString(64))
    file_sha256: Mapped[str | None] = mapped_column(FittedString(64))
    # A preview checked against the worker's copy of the org (invite/adapters/org_snapshot.py): when that copy
    # was taken. None: Junction itself was asked when the list was previewed.
    checked_as_of: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_access(self) -> bool:
        return self.kind == ACCESS_JOB


class BulkRow(db.Model):
    __tablename__ = "bulk_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("bulk_jobs.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # the input's row number, as the preview showed it
    email: Mapped[str] = mapped_column(FittedString(320))
    role: Mapped[str | None] = mapped_column(FittedString(32))
    teams: Mapped[list[dict[str, str]]] = mapped_column(CleanJSON, default=list)  # [{"id", "name"}]
    verdict: Mapped[str] = mapped_column(FittedString(32))  # the preview's
    preview_message: Mapped[str | None] = mapped_column(FittedText)
    state: Mapped[str] = mapped_column(FittedString(16), default=ROW_DRAFT)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())  # backoff after a refused connection
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    confirmed_by: Mapped[str | None] = mapped_column(FittedString(320))
    confirmed_by_role: Mapped[str | None] = mapped_column(FittedString(32))
    action_id: Mapped[int | None] = mapped_column(Integer)  # the last attempt's audit row
    outcome_kind: Mapped[str | None] = mapped_column(FittedString(32), index=True)
    message: Mapped[str | None] = mapped_column(FittedText)
    # A 422 mapped to this row's columns: {"email": [...], "role": [...], "teams": [...], "row": [...]}
    field_errors: Mapped[dict[str, Any] | None] = mapped_column(CleanJSON)
    invite_id: Mapped[str | None] = mapped_column(FittedString(64))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # An access job's row: the change's kind (invite.core.access.KINDS) and the change as the plan gave it
    # (Change.as_json: before, after, the member's or invitation's id, the file's line). None on invite jobs.
    operation: Mapped[str | None] = mapped_column(FittedString(16))
    change: Mapped[dict[str, Any] | None] = mapped_column(CleanJSON)

    @property
    def team_names(self) -> list[str]:
        return [team["name"] for team in self.teams]


db.Index("ix_bulk_rows_job_state", BulkRow.job_id, BulkRow.state, BulkRow.position)
# One job per plan (NULL, every invite job, never clashes): two applies of one plan cannot both start.
db.Index("ix_bulk_jobs_plan_id", BulkJob.plan_id, unique=True)
