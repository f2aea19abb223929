"""A plan of access as code (invite.core.access.Plan) in plain words: one line per change, the groups they are
listed in, and a one-line summary. The command line (`invite access plan`) and the /access page say the same
words because both take them from here."""

from __future__ import annotations

from dataclasses import dataclass

from invite.core.access import INVITE, KINDS, REINVITE, REMOVE, REVOKE, UPDATE, Change, Grant, Plan
from invite.core.member_outcomes import role_words

LEFT_ALONE = "left_alone"
# Each group's heading, in the order a plan lists them; LEFT_ALONE last, when removals are not managed.
HEADINGS = {
    INVITE: "To invite",
    UPDATE: "To change",
    REINVITE: "To re-invite with the file's role and teams",
    REVOKE: "To revoke (pending, not in the file)",
    REMOVE: "To remove from the org (not in the file)",
    LEFT_ALONE: "Not in the file, left alone (the file does not manage removals)",
}
# A mark per line, as Terraform's plan marks them: + added, ~ changed, - taken away, = left as it is.
SIGNS = {INVITE: "+", UPDATE: "~", REINVITE: "~", REVOKE: "-", REMOVE: "-", LEFT_ALONE: "="}
# How a count reads in the summary: "2 to invite".
_COUNT_WORDS = {INVITE: "to invite", UPDATE: "to change", REINVITE: "to re-invite", REVOKE: "to revoke",
                REMOVE: "to remove"}


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def grant_words(grant: Grant | None) -> str:
    """"Team admin of Cardiology and Sleep Clinic", "Org admin", "No role (teams: Cardiology)"."""
    if grant is None:
        return "nothing"
    words = role_words(grant.role)
    names = sorted((t["name"] for t in grant.teams), key=str.casefold)
    if grant.role == "team_admin":
        return f"{words} of {_join(names) if names else 'no team'}"
    # An invitation carries its teams whatever the role; a member's are only a Team admin's.
    return f"{words} (teams: {_join(names)})" if names else words


def who(change: Change) -> str:
    return f"{change.name} <{change.email}>" if change.name else change.email


def describe_change(change: Change) -> str:
    """One change in plain words, without its mark."""
    before, after = grant_words(change.before), grant_words(change.after)
    if change.kind == INVITE:
        return f"Invite {change.email} as {after}"
    if change.kind == UPDATE:
        return f"Change {who(change)}: {before} → {after}"
    if change.kind == REINVITE:
        return f"Re-invite {change.email}: {before} → {after}"
    if change.kind == REVOKE:
        return f"Revoke the invitation for {change.email} ({before})"
    if change.kind == REMOVE:
        return f"Remove {who(change)} ({before}) from the org"
    raise ValueError(f"not a kind of change: {change.kind!r}")


def describe_left_alone(change: Change) -> str:
    return f"{who(change)} ({grant_words(change.before)}): not in the file, left alone"


@dataclass(frozen=True)
class Group:
    kind: str  # one of KINDS, or LEFT_ALONE
    heading: str
    sign: str
    lines: tuple[str, ...]
    changes: tuple[Change, ...]


def groups(plan: Plan) -> list[Group]:
    """The plan's changes grouped by kind in the order they are applied, then what is left alone; empty
    groups left out."""
    found = []
    for kind in KINDS:
        changes = tuple(c for c in plan.changes if c.kind == kind)
        if changes:
            found.append(Group(kind, f"{HEADINGS[kind]} ({len(changes)})", SIGNS[kind],
                               tuple(describe_change(c) for c in changes), changes))
    if plan.left_alone:
        found.append(Group(LEFT_ALONE, f"{HEADINGS[LEFT_ALONE]} ({len(plan.left_alone)})", SIGNS[LEFT_ALONE],
                           tuple(describe_left_alone(c) for c in plan.left_alone), plan.left_alone))
    return found


def _plural(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def summary(plan: Plan) -> str:
    """"3 changes: 1 to invite, 1 to change, 1 to revoke. 10 already match; 2 not in the file, left alone." or
    "No changes. 12 already match." """
    counts = plan.counts()
    if plan.is_empty:
        head = "No changes."
    else:
        parts = [f"{counts[kind]} {_COUNT_WORDS[kind]}" for kind in KINDS if counts[kind]]
        head = f"{_plural(len(plan.changes), 'change', 'changes')}: {', '.join(parts)}."
    rest = []
    if plan.unchanged:
        rest.append(_plural(plan.unchanged, "already matches", "already match"))
    if plan.left_alone:
        rest.append(f"{len(plan.left_alone)} not in the file, left alone")
    if plan.unmanaged:
        rest.append(f"{plan.unmanaged} differ{'s' if plan.unmanaged == 1 else ''} from the file, left alone (not in "
                    "its manage)")
    if plan.ignored:
        rest.append(f"{plan.ignored} ignored")
    return f"{head} {'; '.join(rest)}." if rest else head
