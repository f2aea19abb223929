"""What to tell a person after changing or removing a member, as plain data the pages and the command line
render. Stored with the audit row, so a reload shows exactly what the first answer showed; every failure says
whether the change was made, not made, or may have been made, and what to do next. Nothing here carries
Junction's raw body or the Management Key.
"""

from __future__ import annotations

from typing import Any

from invite.core.outcomes import retry_hint
from invite.core.outcomes import what_went_wrong as what_went_wrong  # the members' words use the same
from invite.junction.errors import (
    AuthenticationError,
    JunctionError,
    NotFoundError,
    RateLimitError,
    UnreachableError,
    UnsendableRequestError,
)
from invite.junction.models import Member

ROLE_WORDS = {"org_admin": "Org admin", "team_admin": "Team admin", "no_role": "No role"}

CHANGED = "changed"
NOT_CHANGED = "not_changed"
MAYBE_CHANGED = "maybe_changed"


def role_words(role: str | None) -> str:
    return ROLE_WORDS.get(role or "", role or "no role")


def snapshot(role: str | None, teams: list[dict[str, str]]) -> dict[str, Any]:
    """A member's role and teams as the trail keeps them: teams sorted by id, each with its name."""
    return {"role": role, "teams": sorted(({"id": t["id"], "name": t.get("name") or t["id"]} for t in teams),
                                          key=lambda t: t["id"])}


def snapshot_of(member: Member, team_names: dict[str, str]) -> dict[str, Any]:
    return snapshot(member.role, [{"id": i, "name": team_names.get(i, i)} for i in member.team_ids])


def same(first: dict[str, Any] | None, second: dict[str, Any] | None) -> bool:
    """Whether two snapshots hold the same role and team ids (names may have changed meanwhile)."""
    if first is None or second is None:
        return first is second
    return first.get("role") == second.get("role") and \
        sorted(t["id"] for t in first.get("teams") or []) == sorted(t["id"] for t in second.get("teams") or [])


def describe(snap: dict[str, Any] | None) -> str:
    """"Team admin of Cardiology and Sleep Clinic", "Org admin", "No role"."""
    if snap is None:
        return "not a member"
    words = role_words(snap.get("role"))
    names = [t["name"] for t in snap.get("teams") or []]
    if snap.get("role") == "team_admin" or names:
        words += " of " + (_join(names) if names else "no team")
    return words


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def member_outcome(level: str, sent: str, title: str, text: str, *, before: dict[str, Any] | None = None,
                   after: dict[str, Any] | None = None, now: dict[str, Any] | None = None,
                   error: JunctionError | None = None, **more: Any) -> dict[str, Any]:
    """level is "success", "warning" or "error"; sent says whether Junction made the change."""
    return {"kind": "member", "level": level, "sent": sent, "title": title, "text": text, "before": before,
            "after": after, "now": now, "http_status": error.http_status if error else None,
            "junction_request_id": error.request_id if error else None,
            "error_kind": type(error).__name__ if error else None, **more}


def not_done_words(error: JunctionError, verb: str, again: str) -> tuple[str, str]:
    """Title and advice for an error after which Junction certainly did nothing ("Not changed: ...")."""
    lead = f"Not {verb}:"
    if isinstance(error, AuthenticationError):
        return (f"{lead} Junction rejected the dashboard's Management Key.",
                "Ask whoever runs this dashboard to check its JUNCTION_MANAGEMENT_KEY setting.")
    if isinstance(error, NotFoundError):
        return (f"{lead} Junction does not know this organization.",
                "Ask whoever runs this dashboard to check its JUNCTION_ORG_ID setting.")
    if isinstance(error, RateLimitError):
        return f"{lead} Junction is limiting how fast changes can be made.", retry_hint(error, again)
    if isinstance(error, UnreachableError):
        return (f"{lead} the dashboard could not connect to Junction.",
                "Try again in a minute. If it keeps failing, Junction or the network may be down.")
    if isinstance(error, UnsendableRequestError):
        return f"{lead} {error.message}", "Reload the page and try again."
    return f"{lead} Junction answered with an error.", f"Try again in a minute, then {again}."

