"""The worker's copy of the org's members and pending invitations (issue 25), refreshed on a schedule.

One refresh walks List Members and List Invites to the end, side by side (invite.bulk.standing.walk: about
10 s on a 20,000-member org at 50 ms a page), then replaces the copy whole in one transaction
(invite.adapters.org_snapshot). Several workers may run the periodic task at once: one takes the lease, the
others find it taken, or the copy fresh, and return. A walk that fails leaves the last copy as it was: a
preview uses it only while it is younger than INVITE_ORG_SNAPSHOT_MAX_AGE, and walks Junction itself after.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from invite.adapters import org_snapshot
from invite.adapters.storage import utcnow
from invite.adapters.unit_of_work import UnitOfWork
from invite.bulk.standing import walk
from invite.junction import JunctionError

log = logging.getLogger("invite.org_snapshot")

# How long one worker's walk may hold the lease before another may take it (a worker killed mid-walk).
LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Refreshed:
    """What one call did: "refreshed", "skipped" (another worker's, or fresh enough) or "failed"."""

    outcome: str
    members: int = 0
    invites: int = 0
    taken_at: datetime | None = None
    seconds: float = 0.0
    problem: str | None = None


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def refresh(uow: UnitOfWork, client: Any, *, fresh_for: timedelta = timedelta(0), now: Any = utcnow) -> Refreshed:
    """Walk the org and replace the copy, unless another worker is at it or the copy is younger than
    `fresh_for` (the periodic task passes half its period: another worker's run has just taken it)."""
    me = _me()
    if not org_snapshot.claim(uow, me, lease=LEASE, fresh_for=fresh_for, now=now()):
        return Refreshed("skipped")
    started = now()
    try:
        found = walk(client)
        org_snapshot.replace(uow, found.members, found.invites, taken_at=started)
    except JunctionError as exc:
        log.warning("the org's copy was not refreshed: %s", exc.message,
                    extra={"fields": {"org_snapshot": "failed", "problem": exc.message}})
        return Refreshed("failed", problem=exc.message)
    finally:
        org_snapshot.release(uow, me)
    seconds = (now() - started).total_seconds()
    log.info("the org's copy refreshed: %d members, %d pending invitations in %.1f s", len(found.members),
             len(found.invites), seconds,
             extra={"fields": {"org_snapshot": "refreshed", "members": len(found.members),
                               "invites": len(found.invites), "seconds": round(seconds, 3)}})
    return Refreshed("refreshed", len(found.members), len(found.invites), started, seconds)
