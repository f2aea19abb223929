"""What people decided about reminders (issue 26): reminders switched off and on again for one invitation,
and all of them paused and resumed. Rows are only ever added, so the table is also their trail: who, when,
from which channel. The latest row of a scope is its state now."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, select
from sqlalchemy.orm import Mapped, mapped_column

from invite.adapters.storage import FittedString, UTCDateTime, db, utcnow
from invite.core.reminders import Switch

ALL = "*"  # the scope of the global pause; any other scope is an invitation id


class ReminderSwitch(db.Model):
    __tablename__ = "reminder_switches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(FittedString(64))
    # True: reminders off for the scope (switched off, or paused for ALL); False: on again.
    off: Mapped[bool] = mapped_column(Boolean)
    email: Mapped[str | None] = mapped_column(FittedString(320))  # the invitation's address, for the trail
    actor_email: Mapped[str] = mapped_column(FittedString(320))
    channel: Mapped[str] = mapped_column(FittedString(8))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


Index("ix_reminder_switches_scope", ReminderSwitch.scope, ReminderSwitch.id)


def record(scope: str, off: bool, actor_email: str, channel: str, email: str | None = None) -> ReminderSwitch:
    row = ReminderSwitch(scope=scope, off=off, email=email, actor_email=actor_email, channel=channel, at=utcnow())
    db.session.add(row)
    db.session.commit()
    return row


def current(scopes: Iterable[str] | None = None) -> dict[str, Switch]:
    """Every scope (of `scopes` and ALL, or of all) whose latest row says off: the switch (who, when)."""
    latest: dict[str, ReminderSwitch] = {}
    query = select(ReminderSwitch).order_by(ReminderSwitch.id)
    if scopes is not None:
        query = query.where(ReminderSwitch.scope.in_([*scopes, ALL]))
    for row in db.session.scalars(query):
        latest[row.scope] = row
    db.session.commit()  # end the read: the next look sees other writers
    return {scope: Switch(row.actor_email, row.at) for scope, row in latest.items() if row.off}


def trail(limit: int = 50) -> list[ReminderSwitch]:
    rows = list(db.session.scalars(select(ReminderSwitch).order_by(ReminderSwitch.id.desc()).limit(limit)))
    db.session.commit()
    return rows
