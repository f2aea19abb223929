"""Access as code (issue 27): the shapes every part of it shares, and the plan itself as a pure function.

A reviewed file (`access.yaml`) says who should have which role and teams. Reading it and checking it is
invite/core/access_file.py; reading the org from Junction once is invite/services/access.py; this module
holds what both sides agree on: the file as checked (`AccessFile`), the org as read (`OrgState`), its
`fingerprint`, and the `Plan` that turns one into the other. The plan is plain data with a JSON form, so
`invite access plan --out plan.json` and `/access` save it and `apply` carries out exactly that plan, or
refuses when the org's fingerprint moved since.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from invite.junction.models import Invite, Member, Team

PLAN_FORMAT = 1
# What a file can say it owns. "removals" is never implied: a member missing from the file is left alone
# unless the file writes it.
MANAGED = ("invites", "members", "removals")
DEFAULT_MANAGED = frozenset({"invites", "members"})

# The kinds of change, in the order a plan lists (and applies) them.
INVITE, UPDATE, REINVITE, REVOKE, REMOVE = "invite", "update", "reinvite", "revoke", "remove"
KINDS = (INVITE, UPDATE, REINVITE, REVOKE, REMOVE)
KIND_WORDS = {INVITE: "Invite", UPDATE: "Change", REINVITE: "Re-invite", REVOKE: "Revoke", REMOVE: "Remove"}


@dataclass(frozen=True)
class Person:
    """One person as the file wants them: team ids already resolved from names. `line` is the file's line."""

    email: str  # as written; compared case-insensitively
    role: str
    team_ids: tuple[str, ...]
    line: int = 0

    @property
    def key(self) -> str:
        return self.email.strip().lower()


@dataclass(frozen=True)
class AccessFile:
    people: tuple[Person, ...]
    manage: frozenset[str] = DEFAULT_MANAGED
    ignore: tuple[str, ...] = ()  # address patterns (fnmatch, case-insensitive) never touched
    sha256: str = ""  # of the file's bytes, as read

    def ignores(self, email: str) -> bool:
        address = email.strip().lower()
        return any(fnmatch.fnmatchcase(address, pattern.strip().lower()) for pattern in self.ignore)


@dataclass(frozen=True)
class OrgState:
    """What Junction listed, read once: every member, every pending invitation, every team."""

    members: tuple[Member, ...]
    invites: tuple[Invite, ...]
    teams: tuple[Team, ...]

    @property
    def team_names(self) -> dict[str, str]:
        return {team.id: team.name for team in self.teams}


def fingerprint(state: OrgState) -> str:
    """A hash of who has which role and teams (members and pending invitations) and of the teams' ids and
    names. Timestamps are left out on purpose: a reminder resending an invitation does not move the org."""
    canon = {
        "members": sorted([m.id, m.email.strip().lower(), m.role, sorted(m.team_ids)] for m in state.members),
        "invites": sorted([i.id, i.email.strip().lower(), i.role, sorted(i.team_ids)] for i in state.invites),
        "teams": sorted([t.id, t.name] for t in state.teams),
    }
    return hashlib.sha256(json.dumps(canon, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Grant:
    """A role and teams, as before or after a change; teams as [{"id", "name"}] sorted by id."""

    role: str
    teams: tuple[dict[str, str], ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"role": self.role, "teams": [dict(t) for t in self.teams]}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Grant | None:
        if data is None:
            return None
        return cls(role=data["role"], teams=tuple({"id": t["id"], "name": t["name"]} for t in data.get("teams") or []))


@dataclass(frozen=True)
class Change:
    kind: str  # one of KINDS
    email: str
    before: Grant | None  # None for an invite
    after: Grant | None  # None for a revoke or a remove
    member_id: str | None = None
    invite_id: str | None = None
    name: str | None = None  # the member's name, for a change or a removal
    line: int = 0  # the file's line that asked for it (0: not in the file)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["before"] = self.before.as_json() if self.before else None
        data["after"] = self.after.as_json() if self.after else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        return cls(kind=data["kind"], email=data["email"], before=Grant.from_json(data.get("before")),
                   after=Grant.from_json(data.get("after")), member_id=data.get("member_id"),
                   invite_id=data.get("invite_id"), name=data.get("name"), line=int(data.get("line") or 0))


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    left_alone: tuple[Change, ...]  # members not in the file while removals are not managed (kind "remove")
    unchanged: int  # people in the file who already match
    ignored: int  # members and invitations the file's `ignore` patterns keep out
    file_sha256: str
    fingerprint: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    source: str = ""  # the file's name, for people reading the plan
    # people in the file who differ from the org (or are not in it) in a way the file's `manage` leaves out
    unmanaged: int = 0

    def counts(self) -> dict[str, int]:
        return {kind: sum(1 for c in self.changes if c.kind == kind) for kind in KINDS}

    @property
    def is_empty(self) -> bool:
        return not self.changes

    def as_json(self) -> dict[str, Any]:
        return {"format": PLAN_FORMAT, "id": self.id, "created_at": self.created_at, "source": self.source,
                "file_sha256": self.file_sha256, "fingerprint": self.fingerprint, "counts": self.counts(),
                "unchanged": self.unchanged, "ignored": self.ignored, "unmanaged": self.unmanaged,
                "changes": [c.as_json() for c in self.changes],
                "left_alone": [c.as_json() for c in self.left_alone]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        if data.get("format") != PLAN_FORMAT:
            raise ValueError(f"not a plan this version can read (format {data.get('format')!r})")
        return cls(changes=tuple(Change.from_json(c) for c in data["changes"]),
                   left_alone=tuple(Change.from_json(c) for c in data.get("left_alone") or []),
                   unchanged=int(data.get("unchanged") or 0), ignored=int(data.get("ignored") or 0),
                   file_sha256=data["file_sha256"], fingerprint=data["fingerprint"], id=data["id"],
                   created_at=data["created_at"], source=data.get("source") or "",
                   unmanaged=int(data.get("unmanaged") or 0))


def _grant(role: str, team_ids: tuple[str, ...] | list[str], names: dict[str, str], *, member: bool) -> Grant:
    # A member's teams mean something only for a Team admin (Junction keeps none for the others, and
    # member_outcomes.snapshot drops them); an invitation carries its teams whatever the role.
    ids = sorted(set(team_ids)) if (role == "team_admin" or not member) else []
    return Grant(role=role, teams=tuple({"id": i, "name": names.get(i, i)} for i in ids))


def compute_plan(wanted: AccessFile, state: OrgState, *, source: str = "") -> Plan:
    """What would change to make the org match the file: invite, update, re-invite, revoke, remove."""
    names = state.team_names
    members = {m.email.strip().lower(): m for m in state.members}
    invites = {i.email.strip().lower(): i for i in state.invites}
    changes: list[Change] = []
    left_alone: list[Change] = []
    unchanged = ignored = unmanaged = 0
    in_file = set()
    for person in wanted.people:
        in_file.add(person.key)
        if wanted.ignores(person.email):
            ignored += 1
            continue
        member, invite = members.get(person.key), invites.get(person.key)
        if member is not None:
            before = _grant(member.role, member.team_ids, names, member=True)
            after = _grant(person.role, person.team_ids, names, member=True)
            if before == after:
                unchanged += 1
            elif "members" not in wanted.manage:
                unmanaged += 1
            else:
                changes.append(Change(UPDATE, member.email, before, after, member_id=member.id, name=member.name,
                                      line=person.line))
        elif invite is not None:
            before = _grant(invite.role, invite.team_ids, names, member=False)
            after = _grant(person.role, person.team_ids, names, member=False)
            if before == after:
                unchanged += 1
            elif "invites" not in wanted.manage:
                unmanaged += 1
            else:
                changes.append(Change(REINVITE, invite.email, before, after, invite_id=invite.id, line=person.line))
        elif "invites" in wanted.manage:
            changes.append(Change(INVITE, person.email, None, _grant(person.role, person.team_ids, names,
                                                                      member=False), line=person.line))
        else:
            unmanaged += 1
    for key, invite in sorted(invites.items()):
        if key in in_file or key in members:
            continue
        if wanted.ignores(invite.email):
            ignored += 1
        elif "invites" in wanted.manage:
            changes.append(Change(REVOKE, invite.email, _grant(invite.role, invite.team_ids, names, member=False),
                                  None, invite_id=invite.id))
    for key, member in sorted(members.items()):
        if key in in_file:
            continue
        if wanted.ignores(member.email):
            ignored += 1
            continue
        removal = Change(REMOVE, member.email, _grant(member.role, member.team_ids, names, member=True), None,
                         member_id=member.id, name=member.name)
        (changes if "removals" in wanted.manage else left_alone).append(removal)
    changes.sort(key=lambda c: (KINDS.index(c.kind), c.email.lower()))
    return Plan(changes=tuple(changes), left_alone=tuple(left_alone), unchanged=unchanged, ignored=ignored,
                file_sha256=wanted.sha256, fingerprint=fingerprint(state), source=source, unmanaged=unmanaged)
