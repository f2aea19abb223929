"""A job's rows as its page shows them and as its poll sends them, asked of the database a page at a time.

A job of 5,000 rows used to be one table of 5,000 rows (2 MB, 55,000 elements), and each poll every 1.5 s
sent every row again (260 KB). Now:

- the page shows PER_PAGE rows, those needing attention first (not sent, unknown, held back), then the
  rest in list order, the order and the count filters worked out by the database (`group_of` is
  jobs.count_group written as SQL, from the same lists of outcome kinds);
- a poll sends only the rows that changed since the cursor it was given, each once: the rows that
  finished (or were cancelled) after the cursor and up to the new one, and the rows in flight now (being
  sent, or set aside for a retry), whose state moves without a finish time. The new cursor is a little
  behind the server's clock (CURSOR_LAG): a row's finish time is set just before its transaction commits,
  so a row that finished a moment before this poll may commit after it; it goes out with the next poll.
  (A row's outcome thus shows up to CURSOR_LAG later than the counts, which are always whole.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from invite.adapters.storage import db, utcnow
from invite.bulk import jobs
from invite.bulk.models import QUEUED, ROW_CANCELLED, ROW_DONE, SENDING, SKIPPED, BulkRow
from invite.core import vocabulary

PER_PAGE = 100
# Rows in these groups need someone to look at them: they come first, in this order.
ATTENTION_GROUPS = ("not_sent", "unknown", "held_back")
CURSOR_LAG = timedelta(seconds=2)


def group_of() -> ColumnElement[str]:
    """A row's count group (jobs.count_group) as a SQL expression."""
    return case(
        (BulkRow.state == SKIPPED, "skipped"),
        (BulkRow.state == ROW_CANCELLED, "cancelled"),
        (BulkRow.state != ROW_DONE, "waiting"),
        (BulkRow.outcome_kind.in_(jobs.SENT_KINDS), "sent"),
        (BulkRow.outcome_kind == "already_in_org", "already_member"),
        (BulkRow.outcome_kind.in_(jobs.NOT_SENT_KINDS), "not_sent"),
        (BulkRow.outcome_kind == "held_back", "held_back"),
        # An access job's other kinds, by the vocabulary's group, as jobs.count_group counts them.
        (BulkRow.outcome_kind.in_(vocabulary.KINDS_BY_GROUP[vocabulary.SUCCEEDED]), "sent"),
        (BulkRow.outcome_kind.in_(vocabulary.KINDS_BY_GROUP[vocabulary.FAILED]), "not_sent"),
        else_="unknown",
    )


def _attention_first() -> tuple[ColumnElement[int], ColumnElement[int]]:
    group = group_of()
    rank = case(*((group == name, i) for i, name in enumerate(ATTENTION_GROUPS)), else_=len(ATTENTION_GROUPS))
    return rank, BulkRow.position


@dataclass
class RowsPage:
    rows: list[BulkRow]
    total: int  # rows shown by the filter, on every page
    page: int  # 1-based
    pages: int
    per_page: int = PER_PAGE


def rows_page(job_id: int, *, show: str | None = None, page: int = 1, per_page: int = PER_PAGE) -> RowsPage:
    """One page of the job's rows (of one count group, when `show` names one), attention first."""
    where = [BulkRow.job_id == job_id]
    if show:
        where.append(group_of() == show)
    total = db.session.scalar(select(func.count()).select_from(BulkRow).where(*where)) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = list(db.session.scalars(select(BulkRow).where(*where).order_by(*_attention_first())
                                   .offset((page - 1) * per_page).limit(per_page)))
    return RowsPage(rows=rows, total=total, page=page, pages=pages, per_page=per_page)


def cursor_moment() -> datetime:
    """What a page or a poll hands out as the cursor: rows finished after it have not been sent yet."""
    return utcnow() - CURSOR_LAG


def cursor_now() -> str:
    return encode_cursor(cursor_moment())


def encode_cursor(moment: datetime) -> str:
    return f"{moment.timestamp():.6f}"


def decode_cursor(text: str | None) -> datetime | None:
    """The moment a cursor stands for; None for no cursor or one that is not a cursor (then every row)."""
    try:
        seconds = float(text or "")
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def changed_rows(job_id: int, since: datetime | None, until: datetime | None = None) -> list[BulkRow]:
    """The rows a poll with cursor `since` needs: every row for no cursor; else those finished (or cancelled)
    after it and no later than `until` (the cursor the poll hands out next), and those in flight now."""
    query = select(BulkRow).where(BulkRow.job_id == job_id)
    if since is not None:
        in_flight = or_(BulkRow.state == SENDING, and_(BulkRow.state == QUEUED, BulkRow.attempts > 0))
        finished = BulkRow.finished_at > since
        if until is not None:
            finished = and_(finished, BulkRow.finished_at <= until)
        query = query.where(or_(finished, in_flight))
    return list(db.session.scalars(query.order_by(BulkRow.position)))
