"""A member's history in the audit trail: every row for their address, and who invited them through this
dashboard (Junction records every invitation made with the key as "management key")."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from invite.adapters.storage import Action, db, once_more_if_dropped
from invite.core.vocabulary import REMINDER_SWITCHES

HISTORY_ROWS = 50
# Sends after which the invitation went out: the earliest is who invited them.
_INVITED = ("invite_created", "invite_resent", "confirmed_pending")


def history(email: str, limit: int = HISTORY_ROWS) -> list[Action]:
    """Newest first: what was done to the member and their invitations in Junction (the reminders' switches of
    their invitation are /activity's, not their membership's)."""
    query = (select(Action).where(func.lower(Action.target_email) == email.strip().lower(),
                                  Action.action.not_in(REMINDER_SWITCHES))
             .order_by(Action.created_at.desc(), Action.id.desc()).limit(limit))
    return list(once_more_if_dropped(lambda: db.session.scalars(query).all()))


def invited_by(email: str) -> Action | None:
    query = (select(Action).where(func.lower(Action.target_email) == email.strip().lower(),
                                  Action.action.in_(("send", "resend")), Action.outcome_kind.in_(_INVITED))
             .order_by(Action.created_at, Action.id).limit(1))
    return once_more_if_dropped(lambda: db.session.scalars(query).first())


def inviters(emails: Iterable[str], batch: int = 500) -> dict[str, Action]:
    """invited_by for many addresses at once (an access file's export): by lower-case address, the earliest
    send after which the invitation went out; addresses nobody invited through this dashboard are left out."""
    keys = sorted({email.strip().lower() for email in emails})
    found: dict[str, Action] = {}
    for start in range(0, len(keys), batch):
        query = (select(Action).where(func.lower(Action.target_email).in_(keys[start:start + batch]),
                                      Action.action.in_(("send", "resend")), Action.outcome_kind.in_(_INVITED))
                 .order_by(Action.created_at, Action.id))
        for row in once_more_if_dropped(lambda query=query: db.session.scalars(query).all()):
            found.setdefault(row.target_email.strip().lower(), row)
    return found
