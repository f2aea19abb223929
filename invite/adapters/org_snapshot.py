"""The org's people as the worker last copied them (issue 25): a local read model of Junction's members and
pending invitations, so that a long bulk list's preview reads them in milliseconds instead of walking
List Members and List Invites page after page (10 s and more on a 20,000-member org).

Two tables (migration 0014): `org_people`, one row per member or pending invitation, keyed by its address
lower-cased as the preview compares them; and `org_snapshot`, one row saying when the copy was taken and
who is taking the next one.

- **Replaced whole, in one transaction** (`replace`): the snapshot's row is updated first, which takes its
  row lock on PostgreSQL (SQLite's write lock), so two replacements queue instead of interleaving their
  DELETE and INSERT; a copy older than the one already stored is dropped. A reader never sees half of one.
- **One refresh at a time** (`claim`): an atomic UPDATE of the snapshot's row gives one worker a lease for
  the walk; another worker's periodic task finds it taken, or the copy fresh, and does nothing.
- **Read in one statement** (`lookup`): the snapshot's moment and the rows for the wanted addresses come
  from one SELECT, so they are of the same copy on either database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    Engine,
    Integer,
    String,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from invite.adapters.storage import CleanJSON, FittedString, UTCDateTime, db, utcnow
from invite.adapters.unit_of_work import UnitOfWork
from invite.junction import Creator, Invite, Member

MEMBER = "member"
INVITE = "invite"
SNAPSHOT_ID = 1  # the one row of org_snapshot (inserted by the migration)


class OrgPerson(db.Model):
    __tablename__ = "org_people"

    # Junction's id is unique within its kind; no surrogate key (30,000 rows replaced every few minutes would
    # run an integer sequence out within the year).
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # MEMBER or INVITE
    junction_id: Mapped[str] = mapped_column(FittedString(64), primary_key=True)
    email: Mapped[str] = mapped_column(FittedString(320), index=True)  # stripped and case-folded: the key
    address: Mapped[str] = mapped_column(FittedString(320))  # as Junction gave it
    name: Mapped[str | None] = mapped_column(FittedString(255))  # a member's
    role: Mapped[str] = mapped_column(FittedString(32))
    team_ids: Mapped[list[str]] = mapped_column(CleanJSON, default=list)
    at: Mapped[datetime] = mapped_column(UTCDateTime())  # a member's created_on, an invitation's invited_at
    resent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    creator: Mapped[dict[str, Any] | None] = mapped_column(CleanJSON)  # an invitation's: type, id, name, email


class OrgSnapshot(db.Model):
    __tablename__ = "org_snapshot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when the walk that made it began
    members: Mapped[int] = mapped_column(Integer, default=0)
    invites: Mapped[int] = mapped_column(Integer, default=0)
    refreshing_by: Mapped[str | None] = mapped_column(FittedString(200))
    refreshing_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


def key(email: str) -> str:
    """An address as the preview compares them (invite.bulk.standing, invite.bulk.preview)."""
    return email.strip().casefold()


@dataclass(frozen=True)
class Known:
    """What the copy says of some addresses, and when it was taken."""

    members: list[Member]
    invites: list[Invite]
    taken_at: datetime


@dataclass(frozen=True)
class State:
    taken_at: datetime | None
    members: int
    invites: int


_PEOPLE = OrgPerson.__table__
_SNAPSHOT = OrgSnapshot.__table__


def state(uow: UnitOfWork) -> State | None:
    """The snapshot's row (None before migration 0014's row exists)."""
    with uow.engine.connect() as connection:
        row = connection.execute(select(_SNAPSHOT.c.taken_at, _SNAPSHOT.c.members, _SNAPSHOT.c.invites)
                                 .where(_SNAPSHOT.c.id == SNAPSHOT_ID)).first()
    return State(*row) if row is not None else None


def claim(uow: UnitOfWork, me: str, *, lease: timedelta, fresh_for: timedelta, now: datetime | None = None) -> bool:
    """Take the lease for one refresh: False when another worker holds it, or the copy is younger than
    `fresh_for` (another worker's periodic task has just taken it)."""
    now = now or utcnow()
    with uow.engine.begin() as connection:
        taken = connection.execute(
            update(_SNAPSHOT)
            .where(_SNAPSHOT.c.id == SNAPSHOT_ID,
                   or_(_SNAPSHOT.c.refreshing_until.is_(None), _SNAPSHOT.c.refreshing_until < now),
                   or_(_SNAPSHOT.c.taken_at.is_(None), _SNAPSHOT.c.taken_at <= now - fresh_for))
            .values(refreshing_by=me, refreshing_until=now + lease)).rowcount
    return bool(taken)


def release(uow: UnitOfWork, me: str) -> None:
    """Give the lease back (after a refresh, or a walk that failed)."""
    with uow.engine.begin() as connection:
        connection.execute(update(_SNAPSHOT).where(_SNAPSHOT.c.id == SNAPSHOT_ID, _SNAPSHOT.c.refreshing_by == me)
                           .values(refreshing_by=None, refreshing_until=None))


def _member_row(member: Member) -> dict[str, Any]:
    return {"kind": MEMBER, "junction_id": member.id, "email": key(member.email), "address": member.email,
            "name": member.name, "role": member.role, "team_ids": list(member.team_ids), "at": member.created_on,
            "resent_at": None, "creator": None}


def _invite_row(invite: Invite) -> dict[str, Any]:
    creator = invite.creator
    return {"kind": INVITE, "junction_id": invite.id, "email": key(invite.email), "address": invite.email,
            "name": None, "role": invite.role, "team_ids": list(invite.team_ids), "at": invite.invited_at,
            "resent_at": invite.resent_at,
            "creator": {"type": creator.type, "id": creator.id, "name": creator.name, "email": creator.email}}


def replace(uow: UnitOfWork, members: Iterable[Member], invites: Iterable[Invite], *, taken_at: datetime) -> bool:
    """The copy replaced whole by these members and invitations, in one transaction. False, and nothing
    changed, when the stored copy is as new or newer (a slower walk that began earlier)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for row in [*map(_member_row, members), *map(_invite_row, invites)]:
        rows[(row["kind"], row["junction_id"])] = row  # a walk of a changing list may meet an item twice
    counts = {MEMBER: 0, INVITE: 0}
    for kind, _id in rows:
        counts[kind] += 1
    with uow.engine.begin() as connection:
        # First, so that a second replacement waits here for this one's commit (the row's lock) and then
        # finds it newer, rather than deleting before this one inserted.
        newer = connection.execute(
            update(_SNAPSHOT)
            .where(_SNAPSHOT.c.id == SNAPSHOT_ID,
                   or_(_SNAPSHOT.c.taken_at.is_(None), _SNAPSHOT.c.taken_at < taken_at))
            .values(taken_at=taken_at, members=counts[MEMBER], invites=counts[INVITE])).rowcount
        if not newer:
            return False
        connection.execute(delete(_PEOPLE))
        if rows:
            connection.execute(insert(_PEOPLE), list(rows.values()))
    return True


def _wanted_clause(engine: Engine):
    """`email` among the one parameter :emails, a JSON array on SQLite and an array on PostgreSQL: one
    parameter however long the list (SQLite allows at most 32,766)."""
    if engine.dialect.name == "postgresql":
        return _PEOPLE.c.email == func.any(bindparam("emails", type_=ARRAY(String)))
    return _PEOPLE.c.email.in_(select(literal_column("value")).select_from(
        func.json_each(bindparam("emails", type_=JSON))))


def lookup(engine: Engine, emails: Sequence[str], *, max_age: timedelta, now: datetime | None = None) -> Known | None:
    """The members and pending invitations the copy holds for these addresses, or None when there is no copy
    or it is older than `max_age`. One statement on `engine` (no app context: the preview asks from a
    thread of its own)."""
    now = now or utcnow()
    wanted = sorted({key(email) for email in emails if key(email)})
    people = select(*_PEOPLE.c).where(_wanted_clause(engine)).subquery()
    statement = (select(_SNAPSHOT.c.taken_at, people)
                 .select_from(_SNAPSHOT.outerjoin(people, true()))
                 .where(_SNAPSHOT.c.id == SNAPSHOT_ID))
    with engine.connect() as connection:
        rows = connection.execute(statement, {"emails": wanted}).all()
    if not rows:
        return None
    stamp = UTCDateTime()
    taken_at = stamp.process_result_value(rows[0].taken_at, engine.dialect)
    if taken_at is None or now - taken_at > max_age:
        return None
    members: list[Member] = []
    invites: list[Invite] = []
    for row in rows:
        if row.kind is None:
            continue  # the snapshot's row alone: none of the addresses is known
        at = stamp.process_result_value(row.at, engine.dialect)
        team_ids = tuple(_json(row.team_ids) or ())
        if row.kind == MEMBER:
            members.append(Member(row.junction_id, row.name or "", row.address, row.role, team_ids, at))
        else:
            creator = _json(row.creator) or {"type": "management_key"}
            invites.append(Invite(row.junction_id, row.address, row.role, team_ids, at,
                                  stamp.process_result_value(row.resent_at, engine.dialect),
                                  Creator(creator.get("type") or "management_key", creator.get("id"),
                                          creator.get("name"), creator.get("email"))))
    return Known(members, invites, taken_at)


def _json(value: Any) -> Any:
    """A JSON column read through a subquery: already decoded on PostgreSQL, text on SQLite."""
    if isinstance(value, str):
        return json.loads(value)
    return value
