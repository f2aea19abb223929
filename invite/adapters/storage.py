"""What the dashboard keeps: one row per state-changing action (send, resend, revoke).

A row is written before Junction is called and completed after, keyed by the one-time token of the
form that asked for it. That gives two things at once:
- idempotency: a reload, a double click or a second tab posting the same token finds the row and is
  shown the first outcome instead of acting twice (a unique constraint, so it holds across processes
  and instances on PostgreSQL);
- the audit trail: who did what to whom and how it ended; a crash mid-call leaves a row whose outcome
  stays "unknown", never nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    JSON,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    bindparam,
    cast,
    create_engine,
    event,
    func,
    or_,
    select,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Mapped, Session, configure_mappers, mapped_column, scoped_session
from sqlalchemy.orm.attributes import instance_dict, set_committed_value

from invite.adapters.cache import Kept
from invite.adapters.tables import Base
from invite.adapters.tables import db as db  # where every module has found it
from invite.adapters.unit_of_work import UnitOfWork
from invite.core.rows import DELETED_TEAM
from invite.core.safe_text import fit
from invite.core.vocabulary import RECORDED, REMINDER_SWITCHES

PENDING = "pending"
DONE = "done"
UNKNOWN = "unknown"  # outcome_kind of a row whose call never reported back

# The calls to Junction, then the decisions recorded without one (reminders switched or paused).
ACTIONS = ("send", "resend", "revoke", "update_member", "remove_member", *REMINDER_SWITCHES)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp that always comes back zone-aware in UTC: SQLite drops the zone PostgreSQL keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# The largest id an Integer key holds on PostgreSQL (int4; SQLite's reach further): a larger number asked for
# in a URL or a filter names nothing, and must be answered as such before the database refuses it.
LARGEST_ID = 2**31 - 1


class FittedString(TypeDecorator):
    """A text column whose every written value is cleaned of control characters and cut to its length
    (invite/core/safe_text.py's fit), however it is written: PostgreSQL refuses NUL and a value longer than its
    column, SQLite stores both, and either way a page would show what a client slipped in."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        return fit(value, self.impl.length or _LONGEST_TEXT) if isinstance(value, str) else value


class FittedText(FittedString):
    """FittedString for a Text column (no length of its own)."""

    impl = Text
    cache_ok = True  # SQLAlchemy reads it from each class's own body


class CleanJSON(TypeDecorator):
    """A JSON column whose strings, at any depth, are cleaned and cut as an audit row's are."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect) -> Any:
        return _clean_json(value)


class Action(Base):
    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16), default=PENDING)

    actor_email: Mapped[str] = mapped_column(String(320), index=True)
    actor_role: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16), index=True)
    target_email: Mapped[str] = mapped_column(String(320), index=True)
    role: Mapped[str | None] = mapped_column(String(64))
    # [{"id": ..., "name": ...}] as the page showed them, so later pages need no lookup.
    teams: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    invite_id: Mapped[str | None] = mapped_column(String(64))

    # invite_created / invite_resent / already_in_org / confirmed_pending / revoked / not_found /
    # validation_error / rejected / unreachable / rate_limited / unknown …
    outcome_kind: Mapped[str] = mapped_column(String(32), default=UNKNOWN, index=True)
    http_status: Mapped[int | None] = mapped_column(Integer)
    # What to show for this token: {"kind": "result" | "form", ...}; see invites/outcomes.py.
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The proxy's X-Request-Id when it has the strict form web.py accepts, else ours; ours is always
    # beside it, so a client-chosen id can never be the only handle on a row.
    request_id: Mapped[str | None] = mapped_column(String(64))
    own_request_id: Mapped[str | None] = mapped_column(String(64))
    junction_request_id: Mapped[str | None] = mapped_column(String(256))
    client_addr: Mapped[str | None] = mapped_column(String(128))
    # Where the action came from: "web" (the pages) or "cli" (the command line, which also records the
    # operating-system user and the host, since everyone on the box can read the key).
    channel: Mapped[str] = mapped_column(String(8), default="web", server_default="web")
    os_user: Mapped[str | None] = mapped_column(String(64))
    host: Mapped[str | None] = mapped_column(String(255))
    # Set on the sends of a bulk job (invite/bulk/); actor_email is then the person who confirmed it.
    bulk_job_id: Mapped[int | None] = mapped_column(Integer, index=True)

    @property
    def team_ids(self) -> list[str]:
        return [team["id"] for team in self.teams]

    @property
    def team_names(self) -> list[str]:
        """The names as the page showed them; a team Junction no longer listed then (kept under its id) in the
        words every page uses for it, never its raw id."""
        return [team["name"] if team.get("name") and team["name"] != team["id"] else DELETED_TEAM
                for team in self.teams]


# Every send and resend asks how often this address was mailed lately (invite/activity/queries.py,
# claim_action), comparing addresses lower-cased: without this index that is a scan of the whole trail.
Index("ix_actions_target_email_lower", func.lower(Action.target_email))


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers and the writer proceed together across gunicorn processes, and NORMAL syncs at
    # checkpoints instead of on every commit (WAL keeps that crash-safe): every send commits twice.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


# The text columns with a length, as (attribute, length): read from the table once per process, not for
# every write (bench/README.md, the cost section).
_SIZED_TEXT_COLUMNS = tuple((column.key, column.type.length) for column in Action.__table__.columns
                            if isinstance(column.type, String) and column.type.length)


def _fitted(values: dict[str, Any]) -> dict[str, Any]:
    """Every text value cut to its column and cleaned of control characters, on every database alike.

    Much of a row comes from outside (Junction's answers, request headers): PostgreSQL refuses a value
    longer than its column or holding NUL, SQLite stores anything. A refused completion would leave the
    row pending for ever after Junction had answered, so values are cut deliberately instead.
    """
    for key, length in _SIZED_TEXT_COLUMNS:
        value = values.get(key)
        if isinstance(value, str):
            values[key] = fit(value, length)
    return values


_LONGEST_TEXT = 10_000


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return fit(value, _LONGEST_TEXT)
    if isinstance(value, list):
        return [_clean_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _clean_json(item) for key, item in value.items()}
    return value


@dataclass(frozen=True)
class Claim:
    action: Action
    is_new: bool


T = TypeVar("T")


def once_more_if_dropped(work: Callable[[], T], *,
                         session: Session | scoped_session[Any] | None = db.session) -> T:
    """Run `work`; if the database dropped the connection it was using, roll back `session` and run it once more.

    pool_pre_ping tests a connection only when it is taken from the pool, so one that a request already
    holds (a read, then a Junction call, then the write) fails on its next statement when PostgreSQL
    restarts, fails over or terminates it. Nothing was committed on a dropped connection, so running the
    work again cannot do anything twice. Work on a connection of its own (session=None: one_statement's,
    which are not pinged) leaves the request's session alone: its connection may have gone too, and rolling
    it back here would fail for what this work never touched. The session is Flask-SQLAlchemy's unless named
    (a unit of work's: invite/adapters/unit_of_work.py).
    """
    try:
        return work()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        if session is not None:
            session.rollback()
    return work()


@contextmanager
def one_statement(uow: UnitOfWork) -> Iterator[Connection]:
    """A pooled connection for one statement that is a transaction of its own, committed if it writes.

    On PostgreSQL in autocommit: a transaction around one statement costs two more round trips (BEGIN, then
    COMMIT or ROLLBACK), each a visit to the server. SQLite keeps its driver's own transaction: there the
    switch saved nothing and cost a PRAGMA each time the connection went back to the pool (bench/README.md).
    """
    if uow.engine.dialect.name == "sqlite":
        with uow.engine.begin() as connection:
            yield connection
    else:
        with _autocommit_engine(uow).connect() as connection:
            yield connection


_AUTOCOMMIT_ENGINE = "invite.autocommit_engine"
_autocommit_engine_made = threading.Lock()


def _autocommit_engine(uow: UnitOfWork) -> Engine:
    """PostgreSQL: the engine of one_statement, the app's database in autocommit on a pool of its own.

    Its connections stay in autocommit (on the app's pool each checkout switched it on and each return off
    again), and it has no pool_pre_ping: a ping is a round trip on every checkout, and every statement run
    here is run again on a fresh connection if its own was dropped (once_more_if_dropped). Per invite that
    was two round trips of four (issue 25). Kept by the unit of work (in the app's extensions for Flask's)."""
    kept = uow.kept
    engine = kept.get(_AUTOCOMMIT_ENGINE)
    if engine is None:
        with _autocommit_engine_made:
            engine = kept.get(_AUTOCOMMIT_ENGINE)
            if engine is None:
                engine = kept[_AUTOCOMMIT_ENGINE] = create_engine(
                    uow.engine.url, isolation_level="AUTOCOMMIT", pool_pre_ping=False, pool_reset_on_return=None)
    return engine


# The audit row is written with plain INSERT and UPDATE statements, each in a transaction of its own on a
# connection of its own, rather than through the ORM session's unit of work: a send writes one row and
# changes it once, and the session's machinery cost more than the statements (bench/README.md, the cost
# section). The Action handed back is the same row, kept in step in memory.
_ACTIONS = Action.__table__
_INSERT_ACTION = _ACTIONS.insert()
_COMPLETE_ACTION = _ACTIONS.update().where(_ACTIONS.c.id == bindparam("action_id"))
# What an insert writes where the caller names nothing: the columns' own scalar defaults, else NULL.
_UNSET = {column.key: column.default.arg if column.default is not None and column.default.is_scalar else None
          for column in _ACTIONS.columns if column.key != "id"}


def _as_stored(new_id: int, values: dict[str, Any]) -> Action:
    """The Action for a row just inserted, its values set as loaded (the database already holds them):
    Action(**values) would run the ORM's change tracking for each of its 22 columns, for nothing. Written
    straight into the new instance's dict, as the ORM's own loader fills a row it reads: an instance that
    was never changed has no history to clear (set_committed_value per column cost a third of the insert)."""
    configure_mappers()  # what Action() would have made sure of (a no-op once every mapper is set up)
    row = Action.__mapper__.class_manager.new_instance()
    stored = instance_dict(row)
    stored.update(values)
    stored["id"] = new_id
    return row


# Outcomes after which an email may have gone out; a row still under way is "unknown" too.
MAILED = ("invite_created", "invite_resent", "confirmed_pending", UNKNOWN)
_EARLIER_MAILINGS = (
    _ACTIONS.select().with_only_columns(_ACTIONS.c.created_at)
    .where(func.lower(_ACTIONS.c.target_email) == bindparam("email"),
           or_(_ACTIONS.c.action == "send", _ACTIONS.c.action == "resend"),
           or_(*(_ACTIONS.c.outcome_kind == kind for kind in MAILED)), _ACTIONS.c.created_at >= bindparam("since"),
           _ACTIONS.c.id < bindparam("before_id"))
    .order_by(_ACTIONS.c.created_at)
)
# Long enough for any send limit's window (a day).
MAILINGS_LOOK_BACK = timedelta(days=1)
HoldBack = Callable[[list[datetime], datetime], "dict[str, Any] | None"]


# On PostgreSQL a send's claim is one statement in autocommit, one round trip where a transaction took five
# (issue 25): an advisory lock on the address, then the insert (it selects from the lock, so it waits for it),
# then the earlier mailings read by invite_earlier_mailings (migration 0013), which, being a VOLATILE function,
# reads afresh after the lock: it sees the row of every claim that held the lock before, where this statement's
# own snapshot, taken before the wait, would not. The lock is held to the commit, the statement's end.
_WRITTEN = [column for column in _ACTIONS.columns if column.key != "id"]
_ADDRESS_LOCKED = select(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("email"), 0))).cte("address_locked")
_CLAIMED = (_ACTIONS.insert()
            .from_select([column.key for column in _WRITTEN],
                         select(*(cast(bindparam(column.key, type_=column.type), column.type) for column in _WRITTEN))
                         .select_from(_ADDRESS_LOCKED))
            .returning(_ACTIONS.c.id).cte("claimed"))
_CLAIM_ON_POSTGRESQL = select(_CLAIMED.c.id, func.invite_earlier_mailings(
    bindparam("email"), bindparam("since", type_=UTCDateTime()), _CLAIMED.c.id,
    bindparam("mailing_actions", ["send", "resend"], type_=ARRAY(String)),
    bindparam("mailing_kinds", list(MAILED), type_=ARRAY(String)), type_=ARRAY(UTCDateTime())))


def claim_action(uow: UnitOfWork, token: str, *, hold_back: HoldBack | None = None, **fields: Any) -> Claim:
    """Record the token's action as under way, or return the row another request already made for it.

    With `hold_back`, the new row is first judged against the earlier mailings of its address (oldest first,
    within a day, this row excluded): when hold_back returns completion values ("outcome", "outcome_kind"),
    the row is recorded as completed with them instead, in the same transaction, and nothing may be sent.
    """
    unknown = fields.keys() - _UNSET.keys()
    if unknown:
        raise TypeError(f"not a column of actions: {', '.join(sorted(unknown))}")
    values = _fitted({**_UNSET, "teams": [], **fields, "token": token, "state": PENDING, "outcome_kind": UNKNOWN,
                      "created_at": utcnow()})
    values["teams"] = _clean_json(values["teams"] or [])
    email = values["target_email"].strip().lower() if hold_back is not None else None

    def insert() -> tuple[int, dict[str, Any] | None]:
        if email is None:
            with one_statement(uow) as connection:
                return connection.execute(_INSERT_ACTION, values).inserted_primary_key[0], None
        now = values["created_at"]
        since = now - MAILINGS_LOOK_BACK
        if uow.engine.dialect.name == "postgresql":
            with one_statement(uow) as connection:
                new_id, earlier = connection.execute(_CLAIM_ON_POSTGRESQL,
                                                     {**values, "email": email, "since": since}).one()
                held = hold_back([_as_utc(moment) for moment in earlier or ()], now)
                if held is not None:
                    # Its own statement, after the claim's: meanwhile a claim for the address counts this row as
                    # a send under way (as any), which can only hold that one back, never let it slip through.
                    held = _completion(held["outcome"], held["outcome_kind"])
                    connection.execute(_COMPLETE_ACTION, {**held, "action_id": new_id})
                return new_id, held
        # SQLite: one transaction, in which no other claim is made (one writer at a time, from the insert to the
        # commit), so the write-ahead insert and the send limit's count of earlier mailings are one step.
        with uow.engine.begin() as connection:
            new_id = connection.execute(_INSERT_ACTION, values).inserted_primary_key[0]
            earlier = list(connection.execute(_EARLIER_MAILINGS, {
                "email": email, "since": since, "before_id": new_id}).scalars())
            held = hold_back([_as_utc(moment) for moment in earlier], now)
            if held is not None:
                held = _completion(held["outcome"], held["outcome_kind"])
                connection.execute(_COMPLETE_ACTION, {**held, "action_id": new_id})
            return new_id, held

    try:
        new_id, held = once_more_if_dropped(insert, session=None)
    except IntegrityError:
        uow.rollback()
    else:
        row = _as_stored(new_id, {**values, **(held or {})})
        if held is not None:
            _remember_done(uow, row)
        return Claim(row, is_new=True)
    existing = get_action(uow, token)
    if existing is None:  # pragma: no cover - rows are never deleted
        raise RuntimeError("action vanished between insert and read")
    return Claim(existing, is_new=False)


def add_recorded_row(connection: Connection, token: str, **fields: Any) -> int:
    """A row of the trail for a decision that calls nobody (reminders switched off, paused …): complete as
    written, its outcome RECORDED, inserted on the caller's connection so that it commits, or rolls back, with
    the decision itself. The token is unique as every row's: the same token twice raises IntegrityError."""
    unknown = fields.keys() - _UNSET.keys()
    if unknown:
        raise TypeError(f"not a column of actions: {', '.join(sorted(unknown))}")
    at = fields.pop("created_at", None) or utcnow()
    values = _fitted({**_UNSET, "teams": [], **fields, "token": token, "state": DONE, "outcome_kind": RECORDED,
                      "created_at": at, "completed_at": at})
    values["teams"] = _clean_json(values["teams"] or [])
    new_id: int = connection.execute(_INSERT_ACTION, values).inserted_primary_key[0]
    return new_id


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _completion(outcome: dict[str, Any], outcome_kind: str, http_status: int | None = None,
                junction_request_id: str | None = None) -> dict[str, Any]:
    return _fitted({"outcome": _clean_json(outcome), "outcome_kind": outcome_kind, "http_status": http_status,
                    "junction_request_id": junction_request_id, "state": DONE, "completed_at": utcnow()})


def complete_action(uow: UnitOfWork, row: Action, *, outcome: dict[str, Any], outcome_kind: str,
                    http_status: int | None = None,
                    junction_request_id: str | None = None, commit: bool = True) -> None:
    """Record how the action ended; commit=False leaves the commit to a caller saving more with it."""
    values = _completion(outcome, outcome_kind, http_status, junction_request_id)

    def update() -> None:
        with one_statement(uow) as connection:
            connection.execute(_COMPLETE_ACTION, {**values, "action_id": row.id})

    if commit:
        once_more_if_dropped(update, session=None)
    else:  # in the caller's transaction, which its commit ends (or a dropped connection rolls back)
        uow.session.execute(_COMPLETE_ACTION, {**values, "action_id": row.id})
    # As loaded, not as changed: the database already holds these values, so no flush may write them again.
    for key, value in values.items():
        set_committed_value(row, key, value)
    if commit:
        _remember_done(uow, row)


# The page that shows a send's outcome is asked for right after the send, nearly always of the process
# that made it (the browser follows the redirect on the connection it kept open). A completed row never
# changes again, so the process keeps the last few it completed and that page reads none of them back.
_DONE_KEPT = 256


def _recently_done(uow: UnitOfWork) -> Kept:
    return Kept.of(uow.kept, "invite.recently_done_actions")


def _remember_done(uow: UnitOfWork, row: Action) -> None:
    _recently_done(uow).keep(row.token, row, _DONE_KEPT)


# Built once per process: building the select and its cache key per call was a third of the read's cost.
_ACTION_BY_TOKEN = select(Action).where(Action.token == bindparam("token"))


def get_action(uow: UnitOfWork, token: str) -> Action | None:
    return once_more_if_dropped(lambda: uow.session.scalar(_ACTION_BY_TOKEN, {"token": token}), session=uow.session)


def get_action_to_show(uow: UnitOfWork, token: str) -> Action | None:
    """get_action for a page that only reads it: a row this process completed lately comes from memory.
    The Action may be shared with other requests, so it must not be changed."""
    return _recently_done(uow).get(token) or get_action(uow, token)
