"""A previewed list as the pages show and change it: its rows a page at a time, and a revision of it.

The draft (a job in state draft, invite.bulk.jobs.create_draft) is what the preview page shows: a page of
PER_PAGE rows, the rows with something to look at first (as the preview orders them), each as it was typed.
A change to a few rows (one row fixed or removed, every suggested team taken, the problem rows removed) is
a new draft made by `revise`: every row is judged again by the same rules (invite.bulk.preview), but
Junction is asked only about the addresses whose standing the old draft does not already tell, so fixing
row 7 of 5,000 costs a search or two, not a walk through 20,000 members. The new draft keeps the old one's
creation time: its facts are that old, and a confirm after PREVIEW_FRESH_FOR checks the list again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select, update

from invite.adapters.storage import db
from invite.adapters.unit_of_work import FLASK
from invite.bulk import jobs
from invite.bulk.models import BulkJob, BulkRow
from invite.bulk.parser import InputRow, role_from_text, split_teams
from invite.bulk.preview import (
    ALREADY_MEMBER,
    ALREADY_PENDING,
    AMBIGUOUS_TEAM,
    DUPLICATE,
    INVALID_EMAIL,
    INVALID_ROLE,
    READY,
    UNKNOWN_TEAM,
    VERDICTS,
    build_preview,
)
from invite.bulk.standing import standing_of
from invite.core.invite_rules import email_errors
from invite.junction import Creator, Invite, Member, Team
from invite.services import actions

PER_PAGE = 100
# The verdicts that are a problem with the row itself (members and pending invitations are not wrong).
PROBLEM_VERDICTS = (INVALID_EMAIL, DUPLICATE, INVALID_ROLE, UNKNOWN_TEAM, AMBIGUOUS_TEAM)
# The column a verdict marks, as the preview's PreviewRow.field.
FLAGGED = {INVALID_EMAIL: "email", DUPLICATE: "email", INVALID_ROLE: "role"}


@dataclass(frozen=True)
class ShownRow:
    """One stored row as the preview shows it."""

    number: int
    email: str
    role: str  # the role's code, or the text typed when it is not a role
    teams: list[dict[str, Any]]  # as stored: a found team's id and name; a problem's text, kind, suggestions
    verdict: str  # one of preview.VERDICTS (a pending row that may be resent is already_pending)
    message: str
    duplicate_of: int | None
    field: str | None  # the column the problem is in: 'email', 'role', 'teams' or None

    @property
    def suggested(self) -> tuple[str, ...]:
        """Each unknown team's closest name, in the row's order: what "Use the suggested team" puts in."""
        return tuple(t["suggestions"][0] for t in self.teams
                     if t.get("problem") == UNKNOWN_TEAM and t.get("suggestions"))

    @property
    def teams_text(self) -> str:
        """The teams as the row's edit box shows them: each by name, separated as a list's are."""
        return "; ".join(t["name"] for t in self.teams)


@dataclass
class DraftPage:
    draft: BulkJob
    rows: list[ShownRow]
    counts: dict[str, int]  # rows per preview verdict, every verdict present
    total: int
    page: int  # 1-based
    pages: int
    ready: int  # what the confirm buttons count
    resendable: int
    problems: int  # rows with a problem verdict, on every page
    suggestable: int  # unknown-team rows with a suggestion, on every page
    per_page: int = PER_PAGE
    numbers: list[int] = field(default_factory=list)  # this page's row numbers, in order


def _shown_verdict(stored: str) -> str:
    return ALREADY_PENDING if stored == jobs.RESENDABLE else stored


def _order():
    # Rows with something to look at first (problems, members, pending), then the ready ones; in list order.
    return case((BulkRow.verdict == READY, 1), else_=0), BulkRow.position


def draft_page(draft: BulkJob, page: int = 1, per_page: int = PER_PAGE) -> DraftPage:
    """One page of a draft's rows, with the counts of all of them."""
    stored_counts = dict(db.session.execute(select(BulkRow.verdict, func.count()).where(BulkRow.job_id == draft.id)
                                            .group_by(BulkRow.verdict)).all())
    counts = dict.fromkeys(VERDICTS, 0)
    for verdict, count in stored_counts.items():
        counts[_shown_verdict(verdict)] = counts.get(_shown_verdict(verdict), 0) + count
    total = sum(counts.values())
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = list(db.session.scalars(select(BulkRow).where(BulkRow.job_id == draft.id).order_by(*_order())
                                   .offset((page - 1) * per_page).limit(per_page)))
    first_with = _first_rows(draft.id) if any(r.verdict == DUPLICATE for r in rows) else {}
    shown = [ShownRow(number=r.position, email=r.email, role=r.role or "", teams=list(r.teams or []),
                      verdict=_shown_verdict(r.verdict), message=r.preview_message or "",
                      duplicate_of=first_with.get(_key(r.email)) if r.verdict == DUPLICATE else None,
                      field=FLAGGED.get(r.verdict)) for r in rows]
    unknown = db.session.scalars(select(BulkRow.teams).where(BulkRow.job_id == draft.id,
                                                             BulkRow.verdict == UNKNOWN_TEAM))
    suggestable = sum(1 for teams in unknown if any(t.get("suggestions") for t in teams or []))
    ready, resendable = jobs.draft_counts(FLASK, draft.id)
    return DraftPage(draft=draft, rows=shown, counts=counts, total=total, page=page, pages=pages, ready=ready,
                     resendable=resendable, problems=sum(counts[v] for v in PROBLEM_VERDICTS),
                     suggestable=suggestable, per_page=per_page, numbers=[r.number for r in shown])


def page_of(draft: BulkJob, number: int, per_page: int = PER_PAGE) -> int | None:
    """The page that shows row `number`, or None when the draft has no such row."""
    row = db.session.execute(select(BulkRow.verdict).where(BulkRow.job_id == draft.id, BulkRow.position == number)
                             ).first()
    if row is None:
        return None
    # The order is (ready last, row number): before a ready row come every other row and the ready ones
    # above it; before any other row, the other rows above it.
    if row.verdict == READY:
        earlier = (BulkRow.verdict != READY) | (BulkRow.position < number)
    else:
        earlier = (BulkRow.verdict != READY) & (BulkRow.position < number)
    before = db.session.scalar(select(func.count()).select_from(BulkRow)
                               .where(BulkRow.job_id == draft.id, earlier)) or 0
    return before // per_page + 1


def _key(email: str) -> str:
    return email.strip().casefold()


def _first_rows(draft_id: int) -> dict[str, int]:
    """Each address's first row number."""
    first: dict[str, int] = {}
    for number, email in db.session.execute(select(BulkRow.position, BulkRow.email)
                                            .where(BulkRow.job_id == draft_id).order_by(BulkRow.position)):
        first.setdefault(_key(email), number)
    return first


# ------------------------------------------------------------------------------------------------ revising


def stored_rows(draft: BulkJob) -> list[BulkRow]:
    return list(db.session.scalars(select(BulkRow).where(BulkRow.job_id == draft.id).order_by(BulkRow.position)))


def row_at(draft: BulkJob, number: int) -> BulkRow | None:
    return db.session.scalar(select(BulkRow).where(BulkRow.job_id == draft.id, BulkRow.position == number))


def as_input(row: BulkRow) -> InputRow:
    """A stored row as a list's row to judge again: a found team by its id (a name two teams share would
    come back ambiguous), the rest as typed."""
    role_text = row.role or ""
    return InputRow(number=row.position, email=row.email, role_text=role_text, role=role_from_text(role_text),
                    teams=tuple(t.get("id") or t["name"] for t in row.teams or []))


def as_list_text_rows(rows: Iterable[BulkRow], teams: Sequence[Team]) -> list[InputRow]:
    """Stored rows as the edit box writes them: teams by name, or by id where two teams share the name."""
    shared = {name for name, count in _name_counts(teams).items() if count > 1}
    return [InputRow(number=r.position, email=r.email, role_text=r.role or "", role=role_from_text(r.role or ""),
                     teams=tuple(t["id"] if t.get("id") and t["name"].strip().casefold() in shared else t["name"]
                                 for t in r.teams or []))
            for r in rows]


def _name_counts(teams: Sequence[Team]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for team in teams:
        key = team.name.strip().casefold()
        counts[key] = counts.get(key, 0) + 1
    return counts


def typed_row(number: int, email: str, role_text: str, teams_text: str) -> InputRow:
    """A row as the row's own edit form sends it, read as a list's row is."""
    role_text = role_text.strip()
    return InputRow(number=number, email=email.strip(), role_text=role_text, role=role_from_text(role_text),
                    teams=split_teams(teams_text))


def suggests(row: BulkRow) -> bool:
    """Whether the row has an unknown team with a close name to use instead."""
    return any(t.get("problem") == UNKNOWN_TEAM and t.get("suggestions") for t in row.teams or [])


def with_suggestions(row: BulkRow) -> InputRow:
    """The row with each unknown team replaced by its closest name (the others as they were)."""
    typed = as_input(row)
    teams = tuple(t["suggestions"][0] if t.get("problem") == UNKNOWN_TEAM and t.get("suggestions")
                  else (t.get("id") or t["name"]) for t in row.teams or [])
    return InputRow(number=typed.number, email=typed.email, role_text=typed.role_text, role=typed.role, teams=teams)


@dataclass(frozen=True)
class Revision:
    draft: BulkJob
    looked_up: list[str]  # the addresses Junction was asked about


def revise(draft: BulkJob, rows: Sequence[InputRow], changed: set[int], who: actions.Actor, *, client: Any,
           teams: Sequence[Team], cooldown_minutes: float,
           on_thread: Callable[[Callable[[], Any]], Callable[[], Any]] | None = None) -> Revision:
    """A new draft of `rows` (the old draft's rows, some changed or left out; `changed` holds the numbers of
    the rows whose cells changed). Junction is asked only about the addresses whose standing the old draft
    does not tell: a changed row's, and a row that was a duplicate and no longer is (its first row left).
    `on_thread` is standing_of's (the web passes upstream.for_this_request)."""
    old = {row.position: row for row in stored_rows(draft)}
    first_with: dict[str, InputRow] = {}
    for row in rows:
        first_with.setdefault(_key(row.email), row)
    to_ask = []
    for row in rows:
        was = old.get(row.number)
        unknown = row.number in changed or was is None or was.verdict in (INVALID_EMAIL, DUPLICATE)
        first = _key(row.email) and first_with[_key(row.email)] is row
        if unknown and first and not email_errors(row.email.strip()):
            to_ask.append(row.email.strip())
    asked = {_key(email) for email in to_ask}
    # Searched, or walked when many changed.
    standing = (standing_of(client, to_ask, **({"on_thread": on_thread} if on_thread else {})) if to_ask
                else None)

    # What the old draft says of the others: the member or pending invitation itself is not kept, so a
    # stand-in says so (the pending row keeps its stored message and resend choice, below).
    members: list[Member] = []
    invites: list[Invite] = []
    for was in old.values():
        if _key(was.email) in asked:
            continue
        if was.verdict == ALREADY_MEMBER:
            members.append(Member("", "", was.email, "", (), draft.created_at))
        elif _shown_verdict(was.verdict) == ALREADY_PENDING:
            invites.append(Invite("", was.email, "", (), draft.created_at, None, Creator("management_key")))
    if standing is not None:
        members += standing.members
        invites += standing.invites

    preview = build_preview(rows, default_role="no_role", teams=teams, members=members, invites=invites)
    new_rows = []
    for row in jobs.draft_rows(preview, cooldown_minutes):
        was = old.get(row.position)
        if (row.verdict == ALREADY_PENDING and was is not None and row.position not in changed
                and _key(was.email) not in asked and _shown_verdict(was.verdict) == ALREADY_PENDING):
            row = jobs.DraftRow(position=row.position, email=row.email, role=row.role, teams=row.teams,
                                verdict=was.verdict if was.verdict != jobs.RESENDABLE else ALREADY_PENDING,
                                message=was.preview_message, sendable=False,
                                resendable=was.verdict == jobs.RESENDABLE, role_text=row.role_text)
        new_rows.append(row)
    revised = jobs.create_draft(FLASK, new_rows, who, source=draft.source, checked_as_of=draft.checked_as_of)
    db.session.execute(update(BulkJob).where(BulkJob.id == revised.id).values(created_at=draft.created_at))
    db.session.commit()
    db.session.refresh(revised)
    return Revision(revised, to_ask)
