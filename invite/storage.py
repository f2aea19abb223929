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

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, DateTime, Engine, Integer, String, TypeDecorator, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

# Rows are read right after they are committed (to show the outcome): keep their loaded values.
db = SQLAlchemy(session_options={"expire_on_commit": False})
migrate = Migrate()

PENDING = "pending"
DONE = "done"
UNKNOWN = "unknown"  # outcome_kind of a row whose call never reported back

ACTIONS = ("send", "resend", "revoke")


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


class Action(db.Model):
    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16), default=PENDING)

    actor_email: Mapped[str] = mapped_column(String(320), index=True)
    actor_role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16), index=True)
    target_email: Mapped[str] = mapped_column(String(320), index=True)
    role: Mapped[str | None] = mapped_column(String(32))
    # [{"id": ..., "name": ...}] as the page showed them, so later pages need no lookup.
    teams: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    invite_id: Mapped[str | None] = mapped_column(String(64))

    # invite_created / invite_resent / already_in_org / confirmed_pending / revoked / not_found /
    # validation_error / rejected / unreachable / rate_limited / unknown …
    outcome_kind: Mapped[str] = mapped_column(String(32), default=UNKNOWN, index=True)
    http_status: Mapped[int | None] = mapped_column(Integer)
    # What to show for this token: {"kind": "result" | "form", ...}; see invites/outcomes.py.
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))
    junction_request_id: Mapped[str | None] = mapped_column(String(128))
    client_addr: Mapped[str | None] = mapped_column(String(64))
    # Set on the sends of a bulk job (invite/bulk/); actor_email is then the person who confirmed it.
    bulk_job_id: Mapped[int | None] = mapped_column(Integer, index=True)

    @property
    def team_ids(self) -> list[str]:
        return [team["id"] for team in self.teams]

    @property
    def team_names(self) -> list[str]:
        return [team["name"] for team in self.teams]


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


@dataclass(frozen=True)
class Claim:
    action: Action
    is_new: bool


def claim_action(token: str, **fields: Any) -> Claim:
    """Record the token's action as under way, or return the row another request already made for it."""
    row = Action(token=token, state=PENDING, outcome_kind=UNKNOWN, created_at=utcnow(), **fields)
    db.session.add(row)
    try:
        db.session.commit()
        return Claim(row, is_new=True)
    except IntegrityError:
        db.session.rollback()
    existing = get_action(token)
    if existing is None:  # pragma: no cover - rows are never deleted
        raise RuntimeError("action vanished between insert and read")
    return Claim(existing, is_new=False)


def complete_action(row: Action, *, outcome: dict[str, Any], outcome_kind: str, http_status: int | None = None,
                    junction_request_id: str | None = None, commit: bool = True) -> None:
    """Record how the action ended; commit=False leaves the commit to a caller saving more with it."""
    row.outcome = outcome
    row.outcome_kind = outcome_kind
    row.http_status = http_status
    row.junction_request_id = junction_request_id
    row.state = DONE
    row.completed_at = utcnow()
    if commit:
        db.session.commit()


def get_action(token: str) -> Action | None:
    return db.session.scalar(db.select(Action).where(Action.token == token))
