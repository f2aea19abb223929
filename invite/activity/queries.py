"""Reading the audit trail: filtering, paging, counting per day. Nothing here writes."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, func, select

from invite.adapters.storage import Action, db
from invite.core.vocabulary import ACTION_GROUPS, RECORDED
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
    if action in ACTION_GROUPS:
        query = query.where(Action.action.in_(ACTION_GROUPS[action]))
    elif action:
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


# What the exports read of a row: every column but the outcome shown on the pages (a JSON document per row).
_EXPORTED = tuple(column for column in Action.__table__.columns if column.key != "outcome")


def each_row(query: Select, batch: int = 2000):
    """Every matching row, oldest first, as plain rows (its columns by name, no ORM object), a batch at a time:
    a million-row export in flat memory, without the ORM's per-row cost (issue 25)."""
    plain = query.with_only_columns(*_EXPORTED)
    last_id = 0
    while True:
        # On the session's connection, not through the session: no ORM step for rows that are not objects.
        rows = db.session.connection().execute(plain.where(Action.id > last_id).order_by(Action.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def _utc_day(column):
    """The UTC calendar day of a stored moment, as the database computes it."""
    if db.engine.dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)  # SQLite keeps UTC moments as text, 'YYYY-MM-DD HH:MM:SS…'


def per_day(query: Select, first: date, last: date) -> dict[date, Counter]:
    """Actions per UTC day by outcome group, for every day from first to last (empty days included).

    Counted by the database (GROUP BY day and kind): a year of a busy trail is hundreds of thousands of rows,
    and fetching them to count in Python took seconds and hundreds of megabytes (issue 25)."""
    counts: dict[date, Counter] = {first + timedelta(days=i): Counter() for i in range((last - first).days + 1)}
    day = _utc_day(Action.created_at).label("day")
    window = query.where(Action.created_at >= datetime.combine(first, time.min, UTC),
                         Action.created_at < datetime.combine(last + timedelta(days=1), time.min, UTC))
    grouped = window.with_only_columns(day, Action.outcome_kind, func.count()).group_by(day, Action.outcome_kind)
    for when, kind, number in db.session.execute(grouped).all():
        moment = when if isinstance(when, date) else date.fromisoformat(str(when)[:10])
        # A decision recorded without a call (reminders switched or paused) is no outcome of Junction's.
        if moment in counts and outcome_group(kind) != RECORDED:
            counts[moment][outcome_group(kind)] += number
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
