"""Reading the audit trail: filtering, paging, counting per day. Nothing here writes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, and_, func, or_, select

from invite.adapters.storage import LARGEST_ID, Action, db
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


# Newest first; the id breaks ties between rows written in the same microsecond.
_NEWEST_FIRST = (Action.created_at.desc(), Action.id.desc())
_OLDEST_FIRST = (Action.created_at.asc(), Action.id.asc())
# How many matching rows a page counts at most to say where it is ("51–100 of 812"): counting a million rows
# for every view would cost more than the page itself, so past this the page says "more than" and pages by
# its Newer and Older links alone. It is also how deep an old `?page=N` link may still reach by OFFSET.
COUNT_LIMIT = 5000
CURSOR_CHARS = 64


@dataclass(frozen=True)
class Cursor:
    """A place in the trail, newest first: the row's moment and, for rows of the same moment, its id.

    Pages are asked for as "the page before (older than) this row" or "after (newer than) it": the database
    starts reading at the row through the index on created_at, however deep it is, where OFFSET read and
    dropped every row before the page (issue 25: the last page of a million rows took 0.6 s)."""

    created_at: datetime
    id: int

    def __str__(self) -> str:
        moment = self.created_at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
        return f"{moment}Z,{self.id}"

    @classmethod
    def of(cls, row: Action) -> Cursor:
        return cls(row.created_at, row.id)

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """The cursor a page link carries, e.g. "2026-12-07T05:12:00.123456Z,1234"; ValueError if it is not one."""
        moment, comma, number = text.strip().rpartition(",")
        if not comma or len(text) > CURSOR_CHARS or not number.isdigit() or not 1 <= int(number) <= LARGEST_ID:
            raise ValueError(text)
        when = datetime.fromisoformat(moment)  # ValueError when it is not a moment
        if when.tzinfo is None:
            raise ValueError(text)
        return cls(when.astimezone(UTC), int(number))

    def older(self):
        """Rows older than this place, newest first: written so that the index on created_at bounds the scan
        (a row comparison (created_at, id) < (…) would need an index on both)."""
        return and_(Action.created_at <= self.created_at,
                    or_(Action.created_at < self.created_at, Action.id < self.id))

    def newer(self):
        return and_(Action.created_at >= self.created_at,
                    or_(Action.created_at > self.created_at, Action.id > self.id))


@dataclass(frozen=True)
class Window:
    """One page of rows, newest first, and the places its Newer and Older links start from (None: none)."""

    rows: list[Action]
    newer: Cursor | None
    older: Cursor | None
    first: bool  # the newest page (no Newest link)


def _rows(query: Select, limit: int) -> list[Action]:
    return list(db.session.scalars(query.limit(limit)).all())


def _any(query: Select) -> bool:
    return db.session.scalar(query.with_only_columns(Action.id).limit(1)) is not None


def window(query: Select, *, before: Cursor | None = None, after: Cursor | None = None, oldest: bool = False,
           size: int = PAGE_SIZE) -> Window:
    """The page of `query`'s rows older than `before`, newer than `after`, the oldest page, or else the newest.

    Each reads at most size + 1 rows from its place in the index, plus one look for a row past the other
    edge; never the rows in between, however deep the page."""
    if after is not None or oldest:
        chosen = query.where(after.newer()) if after is not None else query
        rows = _rows(chosen.order_by(*_OLDEST_FIRST), size + 1)
        if len(rows) <= size:
            # The newest end: the full newest page, rather than a short one that no other link shows.
            return window(query, size=size)
        newer = Cursor.of(rows[size - 1])
        rows = rows[:size][::-1]
        older = None if oldest or not _any(query.where(Cursor.of(rows[-1]).older())) else Cursor.of(rows[-1])
        return Window(rows, newer, older, first=False)
    chosen = query.where(before.older()) if before is not None else query
    rows = _rows(chosen.order_by(*_NEWEST_FIRST), size + 1)
    older = Cursor.of(rows[size - 1]) if len(rows) > size else None
    rows = rows[:size]
    newer = None
    if before is not None:
        edge = Cursor.of(rows[0]) if rows else before
        newer = edge if _any(query.where(edge.newer())) else None
    return Window(rows, newer, older, first=before is None)


def numbered_window(query: Select, number: int, size: int = PAGE_SIZE) -> Window:
    """Page `number` by OFFSET, for a `?page=N` link made before pages had cursors: only for pages within
    COUNT_LIMIT rows of the newest, which stay cheap (the caller checks)."""
    rows = _rows(query.order_by(*_NEWEST_FIRST).offset((number - 1) * size), size + 1)
    older = Cursor.of(rows[size - 1]) if len(rows) > size else None
    rows = rows[:size]
    newer = Cursor.of(rows[0]) if rows and number > 1 else None
    return Window(rows, newer, older, first=number == 1)


def count_upto(query: Select, limit: int | None = None) -> int | None:
    """How many rows match, or None when more than `limit` (COUNT_LIMIT) do: reads at most limit + 1 of them."""
    limit = COUNT_LIMIT if limit is None else limit
    counted = db.session.scalar(
        select(func.count()).select_from(query.with_only_columns(Action.id).limit(limit + 1).subquery()))
    return None if counted > limit else counted


def position(query: Select, shown: Window, total: int | None) -> int | None:
    """Where the page's first row stands among `total` matches, from 1; None when the total is unknown."""
    if total is None or not shown.rows:
        return None
    if shown.first:
        return 1
    if shown.older is None:
        return total - len(shown.rows) + 1
    newer = count_upto(query.where(Cursor.of(shown.rows[0]).newer()), total)
    return None if newer is None else newer + 1


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
