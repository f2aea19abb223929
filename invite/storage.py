"""What the dashboard keeps: one row per submitted form, keyed by the form's one-time token.

The row is written before Junction is called and completed after, so a reload, a double click
or a second tab posting the same token finds it and is shown the first outcome instead of
sending a second invitation. Works the same on SQLite (one instance) and PostgreSQL (several).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, DateTime, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

db = SQLAlchemy()
migrate = Migrate()

SENDING = "sending"
DONE = "done"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Submission(db.Model):
    __tablename__ = "invite_submissions"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16), default=SENDING)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(32))
    # [{"id": ..., "name": ...}] as the form showed them, so the result page needs no lookup.
    teams: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # What to show for this token: {"kind": "result" | "form", ...}; see invites/outcomes.py.
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    @property
    def team_ids(self) -> list[str]:
        return [team["id"] for team in self.teams]


@dataclass(frozen=True)
class Claim:
    submission: Submission
    is_new: bool


def claim_submission(token: str, *, email: str, role: str, teams: list[dict[str, str]]) -> Claim:
    """Record the token as being sent, or return the row another request already made for it."""
    row = Submission(token=token, email=email, role=role, teams=teams, state=SENDING, created_at=utcnow())
    db.session.add(row)
    try:
        db.session.commit()
        return Claim(row, is_new=True)
    except IntegrityError:
        db.session.rollback()
    existing = db.session.get(Submission, token)
    if existing is None:  # pragma: no cover - the row was there a moment ago; rows are never deleted
        raise RuntimeError("submission vanished between insert and read")
    return Claim(existing, is_new=False)


def complete_submission(submission: Submission, outcome: dict[str, Any]) -> None:
    submission.outcome = outcome
    submission.state = DONE
    submission.completed_at = utcnow()
    db.session.commit()


def get_submission(token: str) -> Submission | None:
    return db.session.get(Submission, token)
