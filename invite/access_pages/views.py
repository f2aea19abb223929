"""A plan as /access shows it: its changes grouped by kind, each as who, the file's line and what changes, in
words (a role before → after, the teams added and taken away), plus the members the file leaves alone."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from invite.core.access import INVITE, KINDS, REINVITE, REMOVE, REVOKE, UPDATE, Change, Grant, Plan
from invite.core.member_outcomes import role_words
from invite.core.when import utc

LEFT_ALONE = "left_alone"

# (title, what happens to each person in the group), by kind.
GROUPS = {
    INVITE: ("Invite", "In the file, neither a member nor invited: each is sent an invitation."),
    UPDATE: ("Change role or teams", "Members whose role or teams differ from the file: changed to the file's."),
    REINVITE: ("Re-invite", "Invited with other access than the file's: the invitation is sent again with the "
                            "file's role and teams."),
    REVOKE: ("Revoke", "Invited, but not in the file: the invitation is revoked."),
    REMOVE: ("Remove", "Members who are not in the file: removed from the org. They lose access at once."),
    LEFT_ALONE: ("Not in the file, left alone", "Members the file does not list. It does not manage removals, so "
                                                "they keep their access."),
}
# The count tiles' words and tone (the pills' outcome groups, static/style.css).
TILES = {
    INVITE: ("to invite", "succeeded"), UPDATE: ("to change", "unknown"), REINVITE: ("to re-invite", "unknown"),
    REVOKE: ("to revoke", "failed"), REMOVE: ("to remove", "failed"), LEFT_ALONE: ("left alone", "neutral"),
}


@dataclass(frozen=True)
class Row:
    email: str
    name: str | None
    line: int
    role_before: str | None  # in words; None when there is nothing before (an invite) or no change of role
    role_after: str | None
    teams: list[str] = field(default_factory=list)  # the teams held (or given), when not a change of teams
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kind: str = ""

    @property
    def role_changes(self) -> bool:
        return self.role_before is not None and self.role_after is not None and self.role_before != self.role_after


@dataclass(frozen=True)
class Group:
    kind: str
    title: str
    text: str
    rows: list[Row]


def _names(grant: Grant | None) -> list[str]:
    return sorted((t["name"] for t in grant.teams), key=str.casefold) if grant else []


def row_of(change: Change) -> Row:
    before, after = change.before, change.after
    if before is not None and after is not None:  # a change: what differs
        old, new = set(_names(before)), set(_names(after))
        return Row(change.email, change.name, change.line, role_words(before.role), role_words(after.role),
                   teams=sorted(old & new, key=str.casefold) if before.role == after.role else _names(after),
                   added=sorted(new - old, key=str.casefold) if before.role == after.role else [],
                   removed=sorted(old - new, key=str.casefold) if before.role == after.role else [],
                   kind=change.kind)
    grant = after or before
    return Row(change.email, change.name, change.line, None, role_words(grant.role) if grant else None,
               teams=_names(grant), kind=change.kind)


def groups(plan: Plan) -> list[Group]:
    """Every kind of change the plan makes, in the order it applies them, then the members left alone."""
    found = []
    for kind in KINDS:
        rows = [row_of(c) for c in plan.changes if c.kind == kind]
        if rows:
            found.append(Group(kind, *GROUPS[kind], rows))
    if plan.left_alone:
        found.append(Group(LEFT_ALONE, *GROUPS[LEFT_ALONE],
                           [replace(row_of(c), kind=LEFT_ALONE) for c in plan.left_alone]))
    return found


def tiles(plan: Plan) -> list[tuple[str, int, str, str]]:
    """(key, count, words, tone) for the counts macro: each kind of change the plan makes, then left alone."""
    counts = plan.counts()
    items = [(kind, counts[kind], *TILES[kind]) for kind in KINDS if counts[kind]]
    if plan.left_alone:
        items.append((LEFT_ALONE, len(plan.left_alone), *TILES[LEFT_ALONE]))
    return items


def people(count: int) -> str:
    return f"{count} {'person' if count == 1 else 'people'}"


def summary(plan: Plan) -> str:
    """One sentence: "12 changes: 3 to invite, 9 to change. 140 people already match the file." """
    counts = plan.counts()
    total = len(plan.changes)
    parts = [f"{counts[kind]} {TILES[kind][0]}" for kind in KINDS if counts[kind]]
    head = (f"{total} change{'s' if total != 1 else ''}: {', '.join(parts)}." if total
            else "Nothing to change: the org already matches the file.")
    tail = [f"{people(plan.unchanged)} already match{'es' if plan.unchanged == 1 else ''} the file."] \
        if plan.unchanged else []
    if plan.left_alone:
        tail.append(f"{people(len(plan.left_alone))} not in the file {'is' if len(plan.left_alone) == 1 else 'are'} "
                    "left alone.")
    if plan.ignored:
        tail.append(f"{people(plan.ignored)} the file ignores {'is' if plan.ignored == 1 else 'are'} not touched.")
    return " ".join([head, *tail])


def created(plan: Plan) -> datetime:
    return utc(datetime.fromisoformat(plan.created_at))
