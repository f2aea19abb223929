"""Reading the audit trail: filtering, paging, counting per day. Nothing here writes."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, func, select

from invite.adapters.storage import Action, db
from invite.core.vocabulary import KINDS_BY_GROUP as OUTCOME_GROUPS
from invite.core.vocabulary import group as outcome_group

PAGE_SIZE = 50


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def filtered(*, who: str | None = None, target: str | None = None, action: str | None = None,
             outcome: str | None = None, date_from: date | None = None, date_to: date | None = None,
             job: int | None = None, channel: str | None = None) -> Select:
    query = select(Action)
    if who:
        query = query.where(func.lower(Action.actor_email).like(_like(who.strip()), escape="\\"))
    if target:
        query = query.where(func.lower(Action.target_email).like(_like(target.strip()), escape="\\"))
    if action:
        query = query.where(Action.action == action)
    if outcome in OUTCOME_GROUPS:
        query = query.where(Action.outcome_kind.in_(OUTCOME_GROUPS[outcome]))
    elif outcome:
        query = query.where(Action.outcome_kind == outcome)
    if job:
        query = query.where(Action.bulk_job_id == job)
    if channel:
        query = query.where(Action.channel == channel)
    if date_from:
        query = query.where(Action.created_at >= datetime.combine(date_from, time.min, UTC))
    if date_to:
        query = query.where(Action.created_at < datetime.combine(date_to + timedelta(days=1), time.min, UTC))
    return query


def page(query: Select, number: int) -> tuple[list[Action], bool]:
    """One page, newest first, and whether another follows."""
    rows = db.session.scalars(
        query.order_by(Action.created_at.desc(), Action.id.desc()).offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ).all()
    return list(rows[:PAGE_SIZE]), len(rows) > PAGE_SIZE


def each_row(query: Select, batch: int = 500):
    """Every matching row, oldest first, without holding them all in memory (for the CSV export)."""
    last_id = 0
    while True:
        rows = db.session.scalars(query.where(Action.id > last_id).order_by(Action.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        db.session.expunge_all()


def per_day(query: Select, first: date, last: date) -> dict[date, Counter]:
    """Actions per UTC day by outcome group, for every day from first to last (empty days included)."""
    counts: dict[date, Counter] = {first + timedelta(days=i): Counter() for i in range((last - first).days + 1)}
    window = query.where(Action.created_at >= datetime.combine(first, time.min, UTC),
                         Action.created_at < datetime.combine(last + timedelta(days=1), time.min, UTC))
    rows = db.session.execute(window.with_only_columns(Action.created_at, Action.outcome_kind)).all()
    for created_at, kind in rows:
        day = created_at.date()
        if day in counts:
            counts[day][outcome_group(kind)] += 1
    return counts


# How far our record of a send may be from Junction's own timestamp and still be the same event.
ATTRIBUTION_WINDOW = timedelta(minutes=5)
_CREATED = ("invite_created", "confirmed_pending")
_RESENT = ("invite_resent",)


def _near(ours: datetime, theirs: datetime | None) -> bool:
    if theirs is None:
        return False
    return abs(ours - theirs.astimezone(UTC)) <= ATTRIBUTION_WINDOW


def senders(invites) -> dict[str, tuple[Action | None, Action | None]]:
    """Invite id -> (our record of who sent it, of who last resent it), matched by address and time.

    Junction records every invite as "management key"; only this trail knows the person. One query for
    the whole page. An invite created or resent outside this dashboard simply has no match.
    """
    invites = list(invites)
    emails = {invite.email.lower() for invite in invites}
    if not emails:
        return {}
    rows = db.session.scalars(
        select(Action)
        .where(func.lower(Action.target_email).in_(emails), Action.outcome_kind.in_(_CREATED + _RESENT))
        .order_by(Action.created_at)
    ).all()
    found: dict[str, tuple[Action | None, Action | None]] = {}
    for invite in invites:
        mine = [row for row in rows if row.target_email.lower() == invite.email.lower()]
        created = next((r for r in reversed(mine) if r.outcome_kind in _CREATED
                        and _near(r.created_at, invite.invited_at)), None)
        resent = next((r for r in reversed(mine) if r.outcome_kind in _RESENT
                       and _near(r.created_at, invite.resent_at)), None)
        if created or resent:
            found[invite.id] = (created, resent)
    return found
