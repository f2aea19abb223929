"""A plan as /access shows it: its changes grouped by kind, each as who, the file's line and what changes (a role
before → after, the teams added and taken away), plus the members the file leaves alone.

The headings, the summary and the words for a role and its teams are invite.core.access_words', which
`invite access plan` prints: the page and the command line say the same. The page adds what a table can show
better than a line: the teams a change adds and takes away, and a long team list folded.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from invite.core import access_words as words
from invite.core.access import INVITE, KINDS, REINVITE, REMOVE, REVOKE, UPDATE, Change, Grant, Plan
from invite.core.member_outcomes import role_words
from invite.core.when import utc

LEFT_ALONE = words.LEFT_ALONE

# What happens to each person in a group, under its heading.
EXPLAINED = {
    INVITE: "In the file, neither a member nor invited: each is sent an invitation.",
    UPDATE: "Members whose role or teams differ from the file: changed to the file's.",
    REINVITE: "Invited with other access than the file's: the invitation is sent again with the file's.",
    REVOKE: "Invited, but not in the file: the invitation is revoked.",
    REMOVE: "Members who are not in the file: removed from the org. They lose access at once.",
    LEFT_ALONE: "Members the file does not list. It does not manage removals, so they keep their access.",
}
# The count tiles' words (the summary's) and tone (the pills' outcome groups, static/style.css).
TILES = {
    INVITE: ("to invite", "succeeded"), UPDATE: ("to change", "unknown"), REINVITE: ("to re-invite", "unknown"),
    REVOKE: ("to revoke", "failed"), REMOVE: ("to remove", "failed"), LEFT_ALONE: ("left alone", "neutral"),
}


@dataclass(frozen=True)
class Access:
    """A role and teams in words: "Team admin" of [teams], or "No role" with an invitation's [teams]."""

    role: str
    teams: list[str] = field(default_factory=list)
    of: bool = True  # "Team admin of A, B"; else "No role (teams: A, B)", as access_words writes it


@dataclass(frozen=True)
class Row:
    kind: str
    email: str
    name: str | None
    line: int
    access: Access | None  # what they get (an invite), had (a revoke, a removal) or keep (left alone)
    role_before: str | None = None  # a change of role, in words
    role_after: str | None = None
    added: list[str] = field(default_factory=list)  # a change of teams within one role
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    @property
    def role_changes(self) -> bool:
        return self.role_before != self.role_after


@dataclass(frozen=True)
class Group:
    kind: str
    title: str
    text: str
    rows: list[Row]


def _names(grant: Grant | None) -> list[str]:
    return sorted((t["name"] for t in grant.teams), key=str.casefold) if grant else []


def _access(grant: Grant) -> Access:
    return Access(role_words(grant.role), _names(grant), of=grant.role == "team_admin")


def row_of(change: Change) -> Row:
    before, after = change.before, change.after
    if before is None or after is None:
        grant = after or before
        return Row(change.kind, change.email, change.name, change.line, _access(grant) if grant else None)
    if before.role != after.role:  # the new role with its teams, in full
        return Row(change.kind, change.email, change.name, change.line, _access(after),
                   role_before=role_words(before.role), role_after=role_words(after.role))
    old, new = set(_names(before)), set(_names(after))
    return Row(change.kind, change.email, change.name, change.line, None, role_words(before.role),
               role_words(after.role), added=sorted(new - old, key=str.casefold),
               removed=sorted(old - new, key=str.casefold), kept=sorted(old & new, key=str.casefold))


def groups(plan: Plan) -> list[Group]:
    """Every kind of change the plan makes, in the order it lists them, then the members left alone."""
    found = []
    for kind in KINDS:
        rows = [row_of(c) for c in plan.changes if c.kind == kind]
        if rows:
            found.append(Group(kind, words.HEADINGS[kind], EXPLAINED[kind], rows))
    if plan.left_alone:
        found.append(Group(LEFT_ALONE, words.HEADINGS[LEFT_ALONE], EXPLAINED[LEFT_ALONE],
                           [replace(row_of(c), kind=LEFT_ALONE) for c in plan.left_alone]))
    return found


def tiles(plan: Plan) -> list[tuple[str, int, str, str]]:
    """(key, count, words, tone) for the counts macro: each kind of change the plan makes, then left alone."""
    counts = plan.counts()
    items = [(kind, counts[kind], *TILES[kind]) for kind in KINDS if counts[kind]]
    if plan.left_alone:
        items.append((LEFT_ALONE, len(plan.left_alone), *TILES[LEFT_ALONE]))
    return items


def summary(plan: Plan) -> str:
    return words.summary(plan)


def people(count: int) -> str:
    return f"{count} {'person' if count == 1 else 'people'}"


def created(plan: Plan) -> datetime:
    return utc(datetime.fromisoformat(plan.created_at))
