"""Judge every row of a bulk list before anything is sent: plain Python, no Flask, no HTTP.

The caller fetches the org's teams, members and pending invitations through the Junction client and
hands them in; members and invites may be lazy iterables (JunctionClient.iter_members/iter_invites), and
each is walked exactly once, however many rows there are.

Each row gets one verdict, the first that applies in this order: invalid address, duplicate of an
earlier row, already a member, invalid role, unknown team, ambiguous team name, already pending, ready.
Only ready rows would be sent as they are. A pending row would be resent; whether to (and whether the
resend cooldown allows it: invite.services.invitations.last_sent_within on row.pending) is the caller's choice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rapidfuzz import fuzz, process
from wtforms import Form, StringField

from invite.bulk.parser import InputRow
from invite.core.invite_rules import EMAIL_FILTERS, EMAIL_VALIDATORS, ROLE_LABELS
from invite.core.when import ago, utc
from invite.junction import Invite, Member, Team

__all__ = [
    "ALREADY_MEMBER",
    "ALREADY_PENDING",
    "AMBIGUOUS_TEAM",
    "DUPLICATE",
    "INVALID_EMAIL",
    "INVALID_ROLE",
    "READY",
    "UNKNOWN_TEAM",
    "VERDICTS",
    "VERDICT_LABELS",
    "Preview",
    "PreviewRow",
    "TeamCell",
    "LocalChecks",
    "build_preview",
    "checked_against",
    "judge_locally",
    "with_standing",
]

READY = "ready"
INVALID_EMAIL = "invalid_email"
UNKNOWN_TEAM = "unknown_team"
AMBIGUOUS_TEAM = "ambiguous_team"
INVALID_ROLE = "invalid_role"
DUPLICATE = "duplicate"
ALREADY_MEMBER = "already_member"
ALREADY_PENDING = "already_pending"
# Every verdict, in the order counts are shown: the problems, then what is left.
VERDICTS = (
    INVALID_EMAIL, DUPLICATE, ALREADY_MEMBER, INVALID_ROLE, UNKNOWN_TEAM, AMBIGUOUS_TEAM, ALREADY_PENDING, READY,
)

# What the page calls each verdict, in its counts and table.
VERDICT_LABELS = {
    INVALID_EMAIL: "Invalid address",
    DUPLICATE: "Duplicate",
    ALREADY_MEMBER: "Already a member",
    INVALID_ROLE: "Invalid role",
    UNKNOWN_TEAM: "Unknown team",
    AMBIGUOUS_TEAM: "Ambiguous team name",
    ALREADY_PENDING: "Already invited",
    READY: "Ready",
}

# How many close team names an unknown one is offered, and how close they must be: the share of characters
# the two names have in common, in per cent (rapidfuzz's ratio, as difflib's but in C: a list of 5,000
# misspelt names against 2,000 teams takes a fraction of a second, not minutes).
MAX_SUGGESTIONS = 3
SUGGESTION_CUTOFF = 75


@dataclass(frozen=True)
class TeamCell:
    """One team as the row typed it: the team it names, or what is wrong with it and the names it may mean."""

    text: str
    team: Team | None = None
    problem: str | None = None  # UNKNOWN_TEAM or AMBIGUOUS_TEAM
    suggestions: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The team's own name when found, else the text as typed."""
        return self.team.name if self.team is not None else self.text

    def stored(self) -> dict[str, object]:
        """As a job row keeps it: a found team's id and name; a problem's text, kind and suggestions."""
        if self.team is not None:
            return {"id": self.team.id, "name": self.team.name}
        return {"id": "", "name": self.text, "problem": self.problem, "suggestions": list(self.suggestions)}


@dataclass
class PreviewRow:
    input: InputRow
    email: str  # as the form takes it (stripped)
    role: str | None  # the role to send: the row's, or the page's default when the row has none
    teams: list[Team]  # the row's teams that were found, in the row's order, each once
    verdict: str
    message: str  # what the verdict means for this row, in plain words
    suggestions: list[str] = field(default_factory=list)  # team names close to an unknown one
    duplicate_of: int | None = None  # the row number of the first row with this address
    pending: Invite | None = None  # the pending invitation for this address
    member: Member | None = None  # the member with this address
    team_cells: list[TeamCell] = field(default_factory=list)  # every team as typed, each found or marked
    field: str | None = None  # the column the problem is in: 'email', 'role', 'teams' or None


@dataclass
class Preview:
    rows: list[PreviewRow]  # the rows with a problem first, then the ready ones, each group in input order
    counts: dict[str, int]  # rows per verdict, every verdict present (0 when none)
    # When the worker's copy of the org the rows were checked against was taken; None: Junction was asked.
    as_of: datetime | None = None

    @property
    def ready(self) -> list[PreviewRow]:
        return [row for row in self.rows if row.verdict == READY]

    @property
    def pending(self) -> list[PreviewRow]:
        """Rows that would resend an invitation, if the admin chooses to."""
        return [row for row in self.rows if row.verdict == ALREADY_PENDING]


def build_preview(
    rows: Sequence[InputRow],
    *,
    default_role: str,
    teams: Sequence[Team],
    members: Iterable[Member],
    invites: Iterable[Invite],
) -> Preview:
    """Every row judged; members and invites are each iterated once, whatever the number of rows."""
    return with_standing(judge_locally(rows, default_role=default_role, teams=teams), members=members,
                         invites=invites)


@dataclass(frozen=True)
class _Checked:
    """What a row's own cells say, before Junction's members and invitations are known."""

    row: InputRow
    email: str
    email_problem: str | None  # the message for a missing or invalid address
    duplicate_of: int | None
    role: str | None
    found: list[Team]
    team_problem: _TeamProblem | None
    cells: list[TeamCell]


@dataclass(frozen=True)
class LocalChecks:
    """Every row checked on its own cells (addresses, duplicates, roles, teams): the preview's own work,
    done while Junction is still being asked about the addresses (invite.bulk.jobs.preview_list)."""

    rows: list[_Checked]


class _Address(Form):
    """The invite form's email field: its very filters and validators (invite.core.invite_rules)."""

    email = StringField("Email", filters=EMAIL_FILTERS, validators=EMAIL_VALIDATORS)


class _AddressCheck:
    """invite_rules.email_errors for many addresses: one form, its field given each address in turn, where
    email_errors builds a form per address (building it was 60 % of the check: 5,000 addresses in 1.3 s
    instead of 3.2 s on a loaded machine). One per preview, so no two threads share it."""

    def __init__(self) -> None:
        self._form = _Address()
        self._field = self._form.email

    def errors(self, value: str) -> list[str]:
        self._field.process(None, value)
        self._field.validate(self._form)
        return list(self._field.errors)


def judge_locally(rows: Sequence[InputRow], *, default_role: str, teams: Sequence[Team]) -> LocalChecks:
    if default_role not in ROLE_LABELS:
        raise ValueError(f"default_role must be one of {', '.join(ROLE_LABELS)}")
    email_errors = _AddressCheck().errors
    resolver = _TeamResolver(teams)
    first_with: dict[str, InputRow] = {}
    checked = []
    for row in rows:
        key = _email_key(row.email)
        first = first_with.setdefault(key, row) if key else row
        email = row.email.strip()
        problem = None
        if not email:
            problem = "This row has no email address."
        elif email_errors(email):
            problem = f"“{email}” is not a valid email address."
        found, team_problem, cells = resolver.resolve(row.teams)
        checked.append(_Checked(row, email, problem, None if first is row else first.number,
                                row.role if row.role_text else default_role, found, team_problem, cells))
    return LocalChecks(checked)


def with_standing(local: LocalChecks, *, members: Iterable[Member], invites: Iterable[Invite],
                  as_of: datetime | None = None) -> Preview:
    """The locally checked rows judged whole, with the org's members and pending invitations (from the
    worker's copy of the org taken at `as_of`, when given)."""
    members_by_email = {_email_key(m.email): m for m in members}
    invites_by_email = {_email_key(i.email): i for i in invites}
    judged = [_judge(checked, members_by_email.get(_email_key(checked.row.email)),
                     invites_by_email.get(_email_key(checked.row.email))) for checked in local.rows]
    ordered = [r for r in judged if r.verdict != READY] + [r for r in judged if r.verdict == READY]
    counts = dict.fromkeys(VERDICTS, 0)
    for r in judged:
        counts[r.verdict] += 1
    return Preview(rows=ordered, counts=counts, as_of=as_of)


def checked_against(as_of: datetime | None, previewed_at: datetime, every: timedelta | None,
                    now: datetime | None = None) -> str:
    """What the preview page says about where members and invitations came from, in plain words."""
    if as_of is None:
        return (f"Checked against Junction's members and invitations when you previewed the list "
                f"({ago(previewed_at, now)}).")
    often = f", taken every {_duration(every)}" if every else ""
    return (f"Checked against the org as of {ago(as_of, now)} ({utc(as_of):%H:%M} UTC: the dashboard's copy of "
            f"members and invitations{often}). Anyone who joined or was invited since shows as ready; Junction "
            "still checks every address when the list is sent.")


def _duration(every: timedelta) -> str:
    minutes = int(every.total_seconds() // 60)
    if minutes % 60 == 0 and minutes >= 60:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _email_key(email: str) -> str:
    return email.strip().casefold()


def _judge(checked: _Checked, member: Member | None, pending: Invite | None) -> PreviewRow:
    row, email, role, found = checked.row, checked.email, checked.role, checked.found
    result = PreviewRow(input=row, email=email, role=role, teams=found, verdict=READY, message="Ready to invite.",
                        team_cells=checked.cells)

    def verdict(name: str, message: str, column: str | None) -> PreviewRow:
        result.verdict, result.message, result.field = name, message, column
        return result

    if checked.email_problem is not None:
        return verdict(INVALID_EMAIL, checked.email_problem, "email")
    if checked.duplicate_of is not None:
        result.duplicate_of = checked.duplicate_of
        return verdict(DUPLICATE, f"The same address as row {checked.duplicate_of}; only that row is used.", "email")
    if member is not None:
        result.member = member
        return verdict(ALREADY_MEMBER, f"{email} is already a member of the organization.", "email")
    if role is None:
        labels = ", ".join(f"{code} ({label})" for code, label in ROLE_LABELS.items())
        return verdict(
            INVALID_ROLE, f"“{row.role_text}” is not a role; use one of {labels}, or leave it empty.", "role"
        )
    team_problem = checked.team_problem
    if team_problem is not None:
        result.suggestions = team_problem.suggestions
        return verdict(team_problem.verdict, team_problem.message, "teams")
    if pending is not None:
        result.pending = pending
        last_sent = pending.resent_at or pending.invited_at
        return verdict(
            ALREADY_PENDING,
            f"{email} has a pending invitation (last sent {last_sent:%Y-%m-%d}); sending would resend it.",
            None,
        )
    if role == "team_admin" and not found:
        # The form's guidance, as a note: the row is still ready, as the form's "anyway" would make it.
        result.message = "Ready to invite, as a team admin of no team: they will see nothing until given a team."
    return result


@dataclass(frozen=True)
class _TeamProblem:
    verdict: str
    message: str
    suggestions: list[str]


class _TeamResolver:
    """Team ids matched exactly, names without case; a name's suggestions are worked out once."""

    def __init__(self, teams: Sequence[Team]):
        self._by_id = {team.id: team for team in teams}
        self._by_name: dict[str, list[Team]] = {}
        for team in teams:
            self._by_name.setdefault(team.name.strip().casefold(), []).append(team)
        self._keys = list(self._by_name)
        self._suggestions: dict[str, list[str]] = {}

    def resolve(self, wanted: Sequence[str]) -> tuple[list[Team], _TeamProblem | None, list[TeamCell]]:
        """The teams found (in order, each once), the first problem, if any, and every team as typed."""
        found: list[Team] = []
        problem: _TeamProblem | None = None
        cells: list[TeamCell] = []
        for text in wanted:
            team = self._by_id.get(text)
            this: _TeamProblem | None = None
            if team is None:
                same_name = self._by_name.get(text.casefold(), [])
                if len(same_name) == 1:
                    team = same_name[0]
                elif same_name:
                    this = _TeamProblem(
                        AMBIGUOUS_TEAM,
                        f"{len(same_name)} teams are named “{text}”; use the id of the one you mean instead "
                        f"({', '.join(t.id for t in same_name)}).",
                        [],
                    )
                else:
                    this = self._unknown(text)
            problem = problem or this
            cells.append(TeamCell(text, team, this and this.verdict, tuple(this.suggestions) if this else ()))
            if team is not None and team not in found:
                found.append(team)
        return found, problem, cells

    def _unknown(self, text: str) -> _TeamProblem:
        key = text.casefold()
        if key not in self._suggestions:
            close = process.extract(
                key, self._keys, scorer=fuzz.ratio, processor=None, limit=MAX_SUGGESTIONS,
                score_cutoff=SUGGESTION_CUTOFF,
            )  # best first; equals in the team list's order
            self._suggestions[key] = [self._by_name[name][0].name.strip() for name, _score, _index in close]
        suggestions = self._suggestions[key]
        message = f"No team named “{text}”."
        if suggestions:
            message += f" Did you mean {_or_list(suggestions)}?"
        return _TeamProblem(UNKNOWN_TEAM, message, list(suggestions))


def _or_list(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
