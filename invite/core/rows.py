"""What the support pages show, as plain values: table rows, who created an invite, and what went wrong."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from invite.core.invite_rules import ROLE_LABELS
from invite.core.outcomes import retry_hint
from invite.core.when import utc
from invite.junction.errors import (
    AuthenticationError,
    JunctionError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    UnreachableError,
    ValidationError,
)
from invite.junction.models import Creator, Invite, Member

# A team Junction no longer lists, in the same words on every page (never its raw id).
DELETED_TEAM = "a deleted team"


def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role)


def team_labels(role: str, team_ids: tuple[str, ...], names: dict[str, str]) -> list[str]:
    """Team names for a role's bindings; an org admin without bindings has every team."""
    if not team_ids:
        return ["All teams"] if role == "org_admin" else []
    return [names.get(team_id, DELETED_TEAM) for team_id in team_ids]


def creator_label(creator: Creator) -> str:
    """Who created an invite, as Junction recorded it."""
    if creator.type == "org_member":
        if creator.name and creator.email:
            return f"{creator.name} ({creator.email})"
        return creator.name or creator.email or "an org member"
    if creator.type == "management_key":
        return "Management Key"
    if creator.type == "vital_staff":
        return "Junction staff"
    if creator.type == "removed_org_member":
        return "a former member"
    return creator.type.replace("_", " ")


@dataclass(frozen=True)
class InviteRow:
    id: str
    email: str
    role: str
    role_label: str
    teams: list[str]
    invited_at: datetime
    resent_at: datetime | None
    created_by: str
    creator_type: str
    # Who in the company sent / last resent it, from our own audit trail (routes.dashboard_senders()).
    sent_by: str | None = None
    resent_by: str | None = None

    @property
    def sent_via_dashboard_by(self) -> str | None:
        """Both, in words: "sent by a@x; last resent by b@x"."""
        parts = [f"sent by {self.sent_by}"] if self.sent_by else []
        parts += [f"last resent by {self.resent_by}"] if self.resent_by else []
        return "; ".join(parts) or None

    @property
    def last_sent(self) -> datetime:
        return self.resent_at or self.invited_at


def invite_row(invite: Invite, names: dict[str, str],
               senders: tuple[str | None, str | None] = (None, None)) -> InviteRow:
    return InviteRow(
        id=invite.id,
        email=invite.email,
        role=invite.role,
        role_label=role_label(invite.role),
        teams=team_labels(invite.role, invite.team_ids, names),
        invited_at=utc(invite.invited_at),
        resent_at=utc(invite.resent_at) if invite.resent_at else None,
        created_by=creator_label(invite.creator),
        creator_type=invite.creator.type,
        sent_by=senders[0],
        resent_by=senders[1],
    )


@dataclass(frozen=True)
class MemberRow:
    id: str
    name: str
    email: str
    role_label: str
    teams: list[str]
    member_since: datetime
    is_match: bool


def member_row(member: Member, names: dict[str, str], q: str) -> MemberRow:
    return MemberRow(
        id=member.id,
        name=member.name,
        email=member.email,
        role_label=role_label(member.role),
        teams=team_labels(member.role, member.team_ids, names),
        member_since=utc(member.created_on),
        is_match=bool(q) and member.email.strip().casefold() == q.strip().casefold(),
    )


# ------------------------------------------------------------------------------------------ messages


def message(level: str, title: str, text: str = "", error: JunctionError | None = None) -> dict[str, Any]:
    """Something to tell the person; level is "success", "info", "warning" or "error"."""
    return {
        "level": level,
        "title": title,
        "text": text,
        "http_status": error.http_status if error else None,
        "junction_request_id": error.request_id if error else None,
    }


# Fixed messages a redirect may ask for by name (?notice=…): nothing from the URL is shown as text.
NOTICES = {
    "gone": message(
        "warning", "That invitation is no longer pending, so nothing was done.",
        "Someone revoked it, or it was accepted, since the list was loaded. Check Members, or invite them again.",
    ),
    "expired": message(
        "warning", "That form had expired, so nothing was done.",
        "The list below has just been loaded again; repeat the action if it is still needed.",
    ),
}


def failure(error: JunctionError, doing: str, *, paged: bool = False) -> dict[str, Any]:
    """An upstream failure while `doing` ("Could not load the invitations", "Nothing was sent", …).

    Says what happened and what to do next; never Junction's raw body, never the key. `paged` means the
    request carried a cursor, so a 422 is a page that went stale.
    """
    if isinstance(error, ValidationError):
        if paged:
            return message("warning", "This page of results is out of date.",
                           "The list changed, or the link is old. Start again from the first page.", error)
        return message("error", f"{doing}: Junction did not accept the request.",
                       "Change the search and try again.", error)
    if isinstance(error, AuthenticationError):
        return message("error", f"{doing}: Junction rejected the dashboard's Management Key.",
                       "Ask whoever runs this dashboard to check its JUNCTION_MANAGEMENT_KEY setting.", error)
    if isinstance(error, NotFoundError):
        return message("error", f"{doing}: Junction does not know this organization.",
                       "Ask whoever runs this dashboard to check its JUNCTION_ORG_ID setting.", error)
    if isinstance(error, RateLimitError):
        return message("error", f"{doing}: Junction is limiting how fast the dashboard may ask.",
                       retry_hint(error, "try again"), error)
    if isinstance(error, UnreachableError):
        return message("error", f"{doing}: the dashboard could not connect to Junction.",
                       "Try again in a minute. If it keeps failing, Junction or the network may be down.", error)
    if isinstance(error, OutcomeUnknownError):
        # error.message says how long the dashboard waited, so a slow Junction is told from a broken one.
        return message("error", f"{doing}: Junction did not answer in time.",
                       f"{error.message} Try again in a moment.", error)
    if isinstance(error, UnexpectedResponseError):
        return message("error", f"{doing}: Junction's answer could not be read.", "Try again in a minute.", error)
    if isinstance(error, ServerError):
        # No HTTP status in a title: the page shows it under "For support".
        return message("error", f"{doing}: Junction failed with a server error.",
                       "Try again in a minute.", error)
    return message("error", f"{doing}: Junction answered with an error.", "Try again in a minute.", error)
