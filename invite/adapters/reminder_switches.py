"""What people decided about reminders (issue 26): reminders switched off and on again for one invitation,
and all of them paused and resumed. Rows are only ever added; the latest row of a scope is its state now.

Each decision is also a row of the audit trail (the actions table, what /activity and its exports show),
written in the same transaction: one never exists without the other."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from invite.adapters.storage import FittedString, UTCDateTime, add_recorded_row, once_more_if_dropped, utcnow
from invite.adapters.tables import Base
from invite.adapters.unit_of_work import UnitOfWork
from invite.core.actor import Actor
from invite.core.reminders import Switch

ALL = "*"  # the scope of the global pause; any other scope is an invitation id


class ReminderSwitch(Base):
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


# On PostgreSQL two decisions about one scope wait for each other (SQLite has one writer at a time anyway).
_SCOPE_LOCK = select(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("key"), 0)))


def record(uow: UnitOfWork, scope: str, off: bool, who: Actor, *, token: str, action: str,
           email: str | None = None) -> ReminderSwitch | None:
    """Record the decision and its row of the audit trail (`action`, under `token`) in one transaction; None, and
    nothing written, when the scope already is so (a second click, a second tab) or the token was used before.

    The decision is written first and the scope's row before it read after: once written, no other decision
    about the scope can slip in between (SQLite: this transaction is the writer; PostgreSQL: the scope's lock)."""

    def write() -> ReminderSwitch | None:
        session = uow.session
        if session.get_bind().dialect.name == "postgresql":
            session.execute(_SCOPE_LOCK, {"key": f"reminder-switch\x1f{scope}"})
        row = ReminderSwitch(scope=scope, off=off, email=email, actor_email=who.email, channel=who.channel,
                             at=utcnow())
        session.add(row)
        session.flush()
        before = session.scalars(select(ReminderSwitch.off).where(ReminderSwitch.scope == scope,
                                                                  ReminderSwitch.id < row.id)
                                 .order_by(ReminderSwitch.id.desc()).limit(1)).first()
        if bool(before) == off:  # no row before means on
            session.rollback()
            return None
        add_recorded_row(session.connection(), token, created_at=row.at, actor_email=who.email,
                         actor_role=who.role, action=action, target_email=email or "",
                         invite_id=None if scope == ALL else scope, client_addr=who.client_addr,
                         request_id=who.request_id, own_request_id=who.own_request_id, channel=who.channel,
                         os_user=who.os_user, host=who.host)
        session.commit()
        return row

    try:
        return once_more_if_dropped(write, session=uow.session)
    except IntegrityError:  # the token's row exists: this form was posted before
        uow.rollback()
        return None


def current(uow: UnitOfWork, scopes: Iterable[str] | None = None) -> dict[str, Switch]:
    """Every scope (of `scopes` and ALL, or of all) whose latest row says off: the switch (who, when)."""
    latest: dict[str, ReminderSwitch] = {}
    query = select(ReminderSwitch).order_by(ReminderSwitch.id)
    if scopes is not None:
        query = query.where(ReminderSwitch.scope.in_([*scopes, ALL]))
    for row in uow.session.scalars(query):
        latest[row.scope] = row
    uow.commit()  # end the read: the next look sees other writers
    return {scope: Switch(row.actor_email, row.at) for scope, row in latest.items() if row.off}


def trail(uow: UnitOfWork, limit: int = 50) -> list[ReminderSwitch]:
    rows = list(uow.session.scalars(select(ReminderSwitch).order_by(ReminderSwitch.id.desc()).limit(limit)))
    uow.commit()
    return rows
