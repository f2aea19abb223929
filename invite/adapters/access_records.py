"""What access as code (issue 27) keeps: the plans /access made, each under its id until it is applied, and the
latest drift report of the worker's check.

A plan is saved whole (its JSON form, invite.core.access.Plan.as_json) with the file it was made from, so the
confirmation applies exactly the plan shown and "Plan again" can plan the same file afresh. Its state moves
once, from "planned" to "applying" in one conditional UPDATE: two confirmations of one plan (a double click, a
second tab, a replayed form) cannot both apply it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Text, delete, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from invite.adapters.storage import CleanJSON, FittedString, FittedText, UTCDateTime, db, utcnow

PLANNED, APPLYING, APPLIED, DRIFTED = "planned", "applying", "applied", "drifted"
# A plan nobody applied is kept this long (to read again, to plan again from), then dropped as the next is saved.
KEEP_UNAPPLIED = timedelta(days=30)


class AccessPlanRecord(db.Model):
    __tablename__ = "access_plans"

    id: Mapped[str] = mapped_column(FittedString(32), primary_key=True)  # the plan's own id (a uuid4's hex)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_email: Mapped[str] = mapped_column(FittedString(320))
    source: Mapped[str] = mapped_column(FittedString(255))  # the file's name, as uploaded or as ACCESS_FILE
    # Whole, never cut (a FittedText stops at 10,000 characters, an org's file is longer): NUL is taken out on
    # the way in, which PostgreSQL would refuse and no access file holds.
    file_text: Mapped[str] = mapped_column(Text())
    plan: Mapped[dict[str, Any]] = mapped_column(CleanJSON())
    state: Mapped[str] = mapped_column(FittedString(16), default=PLANNED)
    job_id: Mapped[int | None] = mapped_column(Integer)
    applied_by: Mapped[str | None] = mapped_column(FittedString(320))
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AccessDriftReport(db.Model):
    __tablename__ = "access_drift_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    source: Mapped[str] = mapped_column(FittedString(255))
    # None: the file and the org were compared. Otherwise why they could not be, in words (no counts then).
    problem: Mapped[str | None] = mapped_column(FittedText())
    counts: Mapped[dict[str, int] | None] = mapped_column(CleanJSON())  # kind -> changes
    plan: Mapped[dict[str, Any] | None] = mapped_column(CleanJSON())


def save_plan(plan_json: dict[str, Any], *, actor_email: str, source: str, file_text: str) -> AccessPlanRecord:
    row = AccessPlanRecord(id=plan_json["id"], created_at=utcnow(), actor_email=actor_email, source=source,
                           file_text=file_text.replace("\x00", ""), plan=plan_json, state=PLANNED)
    db.session.add(row)
    db.session.execute(delete(AccessPlanRecord).where(AccessPlanRecord.state.in_((PLANNED, DRIFTED)),
                                                      AccessPlanRecord.created_at < row.created_at - KEEP_UNAPPLIED))
    db.session.commit()
    return row


def get_plan(plan_id: str) -> AccessPlanRecord | None:
    row = db.session.get(AccessPlanRecord, plan_id) if plan_id else None
    db.session.commit()  # end the read: the next look sees other writers
    return row


def claim_plan(plan_id: str, actor_email: str) -> bool:
    """Move a plan from planned to applying; False when it is not (any more) planned: someone confirmed it."""
    done = db.session.execute(
        update(AccessPlanRecord).where(AccessPlanRecord.id == plan_id, AccessPlanRecord.state == PLANNED)
        .values(state=APPLYING, applied_by=actor_email, applied_at=utcnow()))
    db.session.commit()
    return bool(getattr(done, "rowcount", 0) == 1)


def settle_plan(plan_id: str, state: str, job_id: int | None = None) -> None:
    """After the claim: APPLIED with its job, DRIFTED (the org moved: never applicable again), or PLANNED once
    more (refused before anything was done, e.g. more removals than allowed)."""
    values: dict[str, Any] = {"state": state, "job_id": job_id}
    if state == PLANNED:
        values.update(applied_by=None, applied_at=None)
    db.session.execute(update(AccessPlanRecord).where(AccessPlanRecord.id == plan_id).values(**values))
    db.session.commit()


def record_drift(*, source: str, problem: str | None, counts: dict[str, int] | None,
                 plan: dict[str, Any] | None) -> AccessDriftReport:
    """Keep this report, and of the older ones only the latest that could compare (what the page shows beside
    a failed check)."""
    row = AccessDriftReport(checked_at=utcnow(), source=source, problem=problem, counts=counts, plan=plan)
    db.session.add(row)
    db.session.flush()
    last_compared = db.session.scalar(select(AccessDriftReport.id).where(AccessDriftReport.problem.is_(None))
                                      .order_by(AccessDriftReport.id.desc()).limit(1))
    db.session.execute(delete(AccessDriftReport).where(
        AccessDriftReport.id < row.id,
        or_(AccessDriftReport.problem.is_not(None), AccessDriftReport.id != (last_compared or 0))))
    db.session.commit()
    return row


def latest_drift() -> tuple[AccessDriftReport | None, AccessDriftReport | None]:
    """(the latest report, the latest that compared): the same row when the latest check compared."""
    newest = select(AccessDriftReport).order_by(AccessDriftReport.id.desc()).limit(1)
    latest = db.session.scalar(newest)
    compared = latest if latest is None or latest.problem is None else db.session.scalar(
        newest.where(AccessDriftReport.problem.is_(None)))
    db.session.commit()
    return latest, compared
