"""Finding a pending invitation and judging a resend's cooldown: shared by the support pages and the command line.

The send limits themselves are the core's (invite.core.send_limits), applied by invite.services.actions on
every channel.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from invite.junction import Invite, JunctionClient

# How many pages of a search to look through for one invitation id before calling it gone.
FIND_PAGES_WITH_EMAIL = 5
FIND_PAGES_WITHOUT_EMAIL = 20


def canonical_uuid(value: str) -> str | None:
    """The id in Junction's form (lower-case, hyphenated), or None when it is no UUID."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        return None


def find_invite(client: JunctionClient, invite_id: str, email: str) -> Invite | None:
    """The pending invitation with this id, searched for by its email; None when Junction no longer lists it.

    Raises JunctionError when Junction could not be asked.
    """
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(FIND_PAGES_WITH_EMAIL if email else FIND_PAGES_WITHOUT_EMAIL):
        page = client.list_invites(search_query=email or None, cursor=cursor)
        for invite in page.items:
            if invite.id.lower() == invite_id:
                return invite
        if page.next_cursor is None or page.next_cursor in seen:
            return None
        seen.add(page.next_cursor)
        cursor = page.next_cursor
    return None


def teams_of(invite: Invite, team_names: Mapping[str, str]) -> list[dict[str, str]]:
    """The invitation's team bindings as the audit row keeps them: id and (when known) name."""
    return [{"id": team_id, "name": team_names.get(team_id, team_id)} for team_id in invite.team_ids]


def last_sent_within(invite: Invite, cooldown_minutes: float, now: datetime | None = None) -> bool:
    """Whether a resend now falls inside the cooldown, and so should be confirmed first."""
    if cooldown_minutes <= 0:
        return False
    now = now or datetime.now(UTC)
    # Junction's timestamps are parsed zone-aware (invite.junction.parsing), so they compare with now directly.
    return now - (invite.resent_at or invite.invited_at) < timedelta(minutes=cooldown_minutes)
