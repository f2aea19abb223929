"""The sandbox's in-memory Junction organization: seed data, queries and the few mutations.

Everything is kept in the JSON shapes Junction sends (ClientFacingOrgTeamListItem, ClientFacingOrgMember,
ClientFacingOrgInvite), so a test can compare what the sandbox holds with what a client received.
Seed ids come from uuid5 over names and every seed timestamp is fixed, so two sandboxes always agree and a
test may hard-code what it expects.

One lock guards the whole state: the server is threaded, and the dashboard's tests and the benchmark hit
it concurrently. Readers get copies, never the live dicts.
"""

from __future__ import annotations

import copy
import hashlib
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

DEMO_KEY = "mg_sandbox_demo_key_not_secret"

# uuid5(uuid5(NAMESPACE_URL, "https://sandbox.invite.invalid/junction"), "org:Acme Health"), written out so
# that it can be grepped for and pasted into a config file.
DEMO_ORG_ID = "896bac9f-dac6-5d70-abb4-d5a3ae542d82"
DEMO_ORG_NAME = "Acme Health"

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://sandbox.invite.invalid/junction")

# Keeps a long-running demo sandbox from growing without bound; the counter in stats() still counts all.
MAX_RECEIVED = 50_000


def _sid(kind: str, name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    """Format a moment the way pydantic v2 serializes an aware UTC datetime ("...Z")."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --- seed -----------------------------------------------------------------------------------------------

# Names stay inside the character class of the team search pattern, so each one can be searched for whole.
_SEED_TEAMS: tuple[tuple[str, str, str], ...] = (
    ("Primary Care (Boston)", "us", "2026-01-12T09:00:00"),
    ("Cardiology", "us", "2026-01-14T10:30:00"),
    ("Remote Patient Monitoring", "us", "2026-01-20T15:45:00"),
    ("Diabetes Program", "us", "2026-02-03T08:15:00"),
    ("Sleep Clinic", "us", "2026-02-10T11:00:00"),
    ("Women's Health", "us", "2026-02-18T13:20:00"),
    ("Lab Operations", "us", "2026-03-02T07:50:00"),
    ("Data Platform", "us", "2026-03-09T16:05:00"),
    ("Clinical Research", "us", "2026-03-23T12:40:00"),
    ("Berlin Clinic", "eu", "2026-01-15T08:00:00"),
    ("Dublin Telehealth", "eu", "2026-02-05T09:30:00"),
    ("Paris Cardiologie", "eu", "2026-02-25T14:10:00"),
    ("EU Data Platform", "eu", "2026-03-11T10:00:00"),
    ("Amsterdam Research", "eu", "2026-04-01T09:45:00"),
    ("München Labs", "eu", "2026-04-14T11:25:00"),
    ("Madrid Nutrition", "eu", "2026-05-06T15:00:00"),
)

# (name, email, role, team names, created_on)
_SEED_MEMBERS: tuple[tuple[str, str, str, tuple[str, ...], str], ...] = (
    ("Dana Whitfield", "dana.whitfield@acmehealth.com", "org_admin", (), "2026-01-05T09:00:00"),
    ("Marcus Oyelaran", "marcus.oyelaran@acmehealth.com", "org_admin", (), "2026-01-06T10:12:00"),
    (
        "Priya Natarajan",
        "priya.natarajan@acmehealth.com",
        "team_admin",
        ("Cardiology", "Remote Patient Monitoring"),
        "2026-01-21T14:03:00",
    ),
    ("Tomás Álvarez", "tomas.alvarez@acmehealth.eu", "team_admin", ("Madrid Nutrition",), "2026-05-07T08:30"),
    (
        "Lena Fischer",
        "lena.fischer@acmehealth.eu",
        "team_admin",
        ("Berlin Clinic", "München Labs"),
        "2026-01-16T07:45:00",
    ),
    ("Sam O'Connor", "sam.oconnor@acmehealth.com", "no_role", (), "2026-02-12T16:20:00"),
    (
        "Aiko Tanaka",
        "aiko.tanaka@acmehealth.com",
        "team_admin",
        ("Data Platform", "EU Data Platform"),
        "2026-03-12T09:10:00",
    ),
    ("Jordan Blake", "jordan.blake@acmehealth.com", "no_role", (), "2026-06-02T11:55:00"),
)

# Creators as Junction records them; org_member creators are seed members, looked up by name.
_REMOVED_MEMBER_ID = _sid("member", "Evan Holt (removed)")


def _creator(kind: str, member: dict[str, Any] | None = None) -> dict[str, Any]:
    if kind == "org_member":
        assert member is not None
        digest = hashlib.md5(member["email"].lower().encode(), usedforsecurity=False).hexdigest()
        return {
            "type": "org_member",
            "id": member["id"],
            "name": member["name"],
            "email": member["email"],
            "avatar": f"https://www.gravatar.com/avatar/{digest}?d=identicon",
        }
    if kind == "removed_org_member":
        return {"type": "removed_org_member", "id": _REMOVED_MEMBER_ID}
    if kind == "removed_org_member_unknown":
        # Junction lost the id of some long-removed members; the schema allows null.
        return {"type": "removed_org_member", "id": None}
    return {"type": kind}


class _SeedInvite(NamedTuple):
    email: str
    role: str
    teams: tuple[str, ...]
    invited_at: str
    resent_at: str | None
    creator: str  # a creator type, or "removed_org_member_unknown"
    creator_member: str | None = None


_SEED_INVITES: tuple[_SeedInvite, ...] = (
    _SeedInvite("kofi.mensah@acmehealth.com", "team_admin", ("Cardiology",), "2026-02-04T10:00:00", None,
                "org_member", "Dana Whitfield"),
    _SeedInvite("r.kowalski@partner-clinic.eu", "no_role", (), "2026-02-19T13:30:00", "2026-03-01T09:00:00",
                "removed_org_member_unknown"),
    _SeedInvite("Helena.Sousa@AcmeHealth.eu", "team_admin", ("Berlin Clinic", "Dublin Telehealth"),
                "2026-03-05T08:45:00", None, "org_member", "Lena Fischer"),
    _SeedInvite("it-support@acmehealth.com", "org_admin", (), "2026-03-18T17:05:00", None, "vital_staff"),
    _SeedInvite("grace.lin@acmehealth.com", "team_admin", ("Sleep Clinic",), "2026-04-02T09:20:00",
                "2026-04-09T09:25:00", "org_member", "Marcus Oyelaran"),
    _SeedInvite("olusegun.adeyemi@acmehealth.com", "no_role", (), "2026-04-22T14:00:00", None,
                "management_key"),
    _SeedInvite("claire.dubois@acmehealth.eu", "team_admin", ("Paris Cardiologie",), "2026-05-13T10:10:00",
                None, "removed_org_member"),
    _SeedInvite("mateo.rossi@contractor.example", "team_admin", ("Data Platform", "EU Data Platform"),
                "2026-06-08T12:00:00", "2026-06-15T08:30:00", "management_key"),
    _SeedInvite("anna.berg@acmehealth.eu", "org_admin", (), "2026-07-01T07:55:00", None, "org_member",
                "Dana Whitfield"),
    _SeedInvite("devon.price@acmehealth.com", "team_admin", ("Diabetes Program", "Remote Patient Monitoring"),
                "2026-07-27T16:40:00", None, "management_key"),
    _SeedInvite("noor.haddad@acmehealth.com", "no_role", (), "2026-08-11T11:11:00", "2026-08-18T10:00:00",
                "vital_staff"),
    _SeedInvite("lab-ops@acmehealth.com", "team_admin", ("Lab Operations",), "2026-09-03T09:00:00", None,
                "org_member", "Priya Natarajan"),
)

_EXTRA_CITIES = ("Austin", "Denver", "Seattle", "Chicago", "Atlanta")
_EXTRA_CITIES_EU = ("Lisbon", "Vienna", "Oslo", "Milan", "Leeds")
_EXTRA_PROGRAMS = ("Cardiology", "Primary Care", "Telehealth", "Oncology", "Nutrition", "Research")


def _team(name: str, region: str, created_on: datetime, key: str | None = None) -> dict[str, Any]:
    return {
        "id": _sid("team", key or name),
        "name": name,
        "created_on": iso(created_on),
        "region": region,
        "integration_team_id": None,
    }


def _bindings(by_name: dict[str, dict[str, Any]], names: tuple[str, ...]) -> list[dict[str, str]] | None:
    # Seed members and invites without teams carry null, as org admins and no-role users do in Junction.
    return [{"team_id": by_name[name]["id"]} for name in names] if names else None


def seed_teams(extra_teams: int = 0) -> list[dict[str, Any]]:
    teams = [_team(name, region, _ts(created)) for name, region, created in _SEED_TEAMS]
    base = _ts("2026-06-01T00:00:00")
    cities = _EXTRA_CITIES + _EXTRA_CITIES_EU
    for i in range(extra_teams):
        city = cities[i % len(cities)]
        program = _EXTRA_PROGRAMS[(i // len(cities)) % len(_EXTRA_PROGRAMS)]
        region = "eu" if city in _EXTRA_CITIES_EU else "us"
        created_on = base + timedelta(minutes=7 * i)
        teams.append(_team(f"{city} {program} {i + 1:04d}", region, created_on, key=f"extra:{i}"))
    return teams


def seed_members(teams_by_name: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": _sid("member", name),
            "name": name,
            "email": email,
            "created_on": iso(_ts(created)),
            "role": role,
            "team_role_bindings": _bindings(teams_by_name, team_names),
        }
        for name, email, role, team_names, created in _SEED_MEMBERS
    ]


def seed_invites(
    teams_by_name: dict[str, dict[str, Any]], members_by_name: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    return [
        {
            "id": _sid("invite", seed.email.lower()),
            "email": seed.email,
            "invited_at": iso(_ts(seed.invited_at)),
            "resent_at": iso(_ts(seed.resent_at)) if seed.resent_at else None,
            "creator": _creator(seed.creator, members_by_name.get(seed.creator_member or "")),
            "role": seed.role,
            "team_role_bindings": _bindings(teams_by_name, seed.teams),
        }
        for seed in _SEED_INVITES
    ]


# --- state ----------------------------------------------------------------------------------------------


class SandboxState:
    """One sandbox organization plus the log of what the sandbox received.

    Attributes a test may read (take ``lock`` when reading while the server runs):
    ``org``, ``teams``, ``members``, ``invites`` (newest first), ``received`` (the /v1 requests, oldest
    first, never holding the management key), ``connections_accepted`` and ``requests_total``.
    """

    def __init__(self, page_size: int = 5, extra_teams: int = 0) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.page_size = page_size
        self.extra_teams = extra_teams
        self.lock = threading.RLock()
        # Replaceable so a test can freeze "now" for created and resent invites.
        self.clock: Callable[[], datetime] = _utcnow
        self.reset()

    def reset(self) -> None:
        """Reseed the organization and zero the request log and counters."""
        with self.lock:
            self.org: dict[str, Any] = {"id": DEMO_ORG_ID, "name": DEMO_ORG_NAME, "expires_at": None}
            self.teams: list[dict[str, Any]] = seed_teams(self.extra_teams)
            teams_by_name = {t["name"]: t for t in self.teams}
            self.members: list[dict[str, Any]] = seed_members(teams_by_name)
            members_by_name = {m["name"]: m for m in self.members}
            self.invites: list[dict[str, Any]] = seed_invites(teams_by_name, members_by_name)
            # Indexes over both lists (see _members_index, _invites_index), built on first use.
            self._members_view: _MembersIndex | None = None
            self._members_version = 0
            self._invites_view: _InvitesIndex | None = None
            self._sort_invites()
            self.received: list[dict[str, Any]] = []
            self.requests_total = 0
            self.connections_accepted = 0

    # -- bookkeeping used by the server and app --

    def count_connection(self) -> None:
        with self.lock:
            self.connections_accepted += 1

    def record_request(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.requests_total += 1
            self.received.append(entry)
            if len(self.received) > MAX_RECEIVED:
                del self.received[: len(self.received) - MAX_RECEIVED]
        return entry

    def finish_request(self, entry: dict[str, Any], status: int) -> None:
        with self.lock:
            entry["status"] = status

    def stats(self) -> dict[str, int]:
        with self.lock:
            return {"connections_accepted": self.connections_accepted, "requests": self.requests_total}

    def requests_log(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.received)

    # -- queries: each returns the full filtered, ordered list as copies; the app pages through it --

    def get_org(self, org_id: uuid.UUID) -> dict[str, Any] | None:
        with self.lock:
            return dict(self.org) if str(org_id) == self.org["id"] else None

    def team_ids(self) -> set[uuid.UUID]:
        with self.lock:
            return {uuid.UUID(t["id"]) for t in self.teams}

    def find_teams(
        self,
        search: str | None = None,
        regions: Iterable[str] | None = None,
        team_id: uuid.UUID | None = None,
    ) -> list[dict[str, Any]]:
        needle = (search or "").casefold()
        wanted_regions = set(regions) if regions else None
        with self.lock:
            found = [
                dict(t)
                for t in self.teams
                if needle in t["name"].casefold()
                and (wanted_regions is None or t["region"] in wanted_regions)
                and (team_id is None or t["id"] == str(team_id))
            ]
        return sorted(found, key=lambda t: (t["name"].casefold(), t["id"]))

    def find_members(self, search: str | None = None, *, copies: bool = True) -> list[dict[str, Any]]:
        """The matching members, oldest first; copies=False hands out the stored dicts, for a caller that
        copies only the page it serves (copying 5,000 members for every page of 100 was most of its time)."""
        needle = (search or "").casefold()
        with self.lock:
            return [
                copy.deepcopy(m) if copies else m
                for m, name, email in self._members_index().ordered
                if not needle or needle in name or needle in email
            ]

    def find_invites(self, search: str | None = None, *, copies: bool = True) -> list[dict[str, Any]]:
        needle = (search or "").casefold()
        with self.lock:
            return [copy.deepcopy(i) if copies else i for i, email in self._invites_index().ordered
                    if not needle or needle in email]

    def find_invite_by_email(self, email: str) -> dict[str, Any] | None:
        with self.lock:
            invite = self._invites_index().by_email.get(email.casefold())
            return copy.deepcopy(invite) if invite is not None else None

    # -- indexes: at 20,000 members and 10,000 invites, sorting or case-folding every one of them for each
    # request (as this class once did) made the sandbox, not the 50 ms it is told to add, the slow part. --

    def _members_index(self) -> _MembersIndex:
        """The members oldest first (by created_on, id) with their case-folded name and email, and by email.
        Built again when this class changed the list, or when its shape did (a test appending to it)."""
        shape = (id(self.members), len(self.members), self._members_version)
        if self._members_view is None or self._members_view.shape != shape:
            ordered = sorted(self.members, key=lambda m: (_parse_iso(m["created_on"]), m["id"]))
            self._members_view = _MembersIndex(
                shape, [(m, m["name"].casefold(), m["email"].casefold()) for m in ordered],
                {m["email"].casefold() for m in self.members},
            )
        return self._members_view

    def _invites_index(self) -> _InvitesIndex:
        """The invites in the list's order (newest first) with their case-folded email, and the first by
        email. Kept up to date by the changes this class makes; built again when the list changed shape
        behind its back (a test appending to it), which then puts the list in order again, as before."""
        shape = (id(self.invites), len(self.invites))
        if self._invites_view is None or self._invites_view.shape != shape:
            self.invites.sort(key=_invite_order, reverse=True)  # newest first; a resend does not move one
            ordered = [(i, i["email"].casefold()) for i in self.invites]
            by_email: dict[str, dict[str, Any]] = {}
            for invite, email in ordered:
                by_email.setdefault(email, invite)
            self._invites_view = _InvitesIndex(shape, ordered, by_email)
        return self._invites_view

    # -- mutations --

    def create_or_resend_invite(
        self, email: str, role: str = "org_admin", team_ids: list[str] | None = None
    ) -> str:
        """Junction's create-or-resend rule; returns the status it answers with."""
        bindings = [{"team_id": t} for t in team_ids] if team_ids is not None else None
        folded = email.casefold()
        with self.lock:
            if folded in self._members_index().by_email:
                return "already_in_org"
            now = iso(self.clock())
            invite = self._invites_index().by_email.get(folded)
            if invite is not None:
                invite["resent_at"] = now
                invite["role"] = role
                invite["team_role_bindings"] = bindings
                return "invite_resent"
            self._add_invite(
                {
                    "id": str(uuid.uuid4()),
                    "email": email,
                    "invited_at": now,
                    "resent_at": None,
                    "creator": {"type": "management_key"},
                    "role": role,
                    "team_role_bindings": bindings,
                }
            )
            return "invite_created"

    def revoke_invite(self, invite_id: uuid.UUID) -> bool:
        with self.lock:
            index_ = self._invites_index()
            for index, invite in enumerate(self.invites):
                if invite["id"] == str(invite_id):
                    del self.invites[index]
                    del index_.ordered[index]
                    email = invite["email"].casefold()
                    if index_.by_email.get(email) is invite:
                        del index_.by_email[email]
                        later = next((i for i, e in index_.ordered if e == email), None)  # a duplicate
                        if later is not None:
                            index_.by_email[email] = later
                    index_.shape = (id(self.invites), len(self.invites))
                    return True
        return False

    # -- members: changes and removals (issue 24) --

    def _member_index(self, member_id: uuid.UUID) -> int | None:
        for index, member in enumerate(self.members):
            if member["id"] == str(member_id):
                return index
        return None

    def get_member(self, member_id: uuid.UUID) -> dict[str, Any] | None:
        with self.lock:
            index = self._member_index(member_id)
            return copy.deepcopy(self.members[index]) if index is not None else None

    def add_member(self, name: str, email: str, role: str = "no_role",
                   team_ids: list[str] | None = None) -> dict[str, Any]:
        """A member as if someone had accepted an invitation now (a test hook; Junction has no such call)."""
        with self.lock:
            member = {
                "id": str(uuid.uuid4()),
                "name": name,
                "email": email,
                "created_on": iso(self.clock()),
                "role": role,
                "team_role_bindings": [{"team_id": t} for t in team_ids] if team_ids else None,
            }
            self.members.append(member)
            self._members_version += 1
            return copy.deepcopy(member)

    def update_member(self, member_id: uuid.UUID, role: str | None,
                      team_ids: list[str] | None) -> dict[str, Any] | None:
        """Junction's Update Member: a null field leaves that value as it was. Org admins and members without
        a role hold no team bindings (Junction lists null for them), so a change to either drops them.
        None when the member is unknown."""
        with self.lock:
            index = self._member_index(member_id)
            if index is None:
                return None
            member = self.members[index]
            if role is not None:
                member["role"] = role
            if team_ids is not None:
                member["team_role_bindings"] = [{"team_id": t} for t in team_ids] or None
            if member["role"] != "team_admin":
                member["team_role_bindings"] = None
            return copy.deepcopy(member)

    def remove_member(self, member_id: uuid.UUID) -> bool:
        with self.lock:
            index = self._member_index(member_id)
            if index is None:
                return False
            del self.members[index]
            self._members_version += 1
            return True

    def seed_invite(self, email: str, invited_at: datetime, resent_at: datetime | None = None,
                    role: str = "no_role", team_ids: list[str] | None = None) -> dict[str, Any]:
        """A pending invitation sent at `invited_at` (and resent at `resent_at`), as if long ago: for the
        reminders' tests and demos. An invitation already pending for the address is replaced."""
        bindings = [{"team_id": t} for t in team_ids] if team_ids else None
        with self.lock:
            self.invites = [i for i in self.invites if i["email"].casefold() != email.casefold()]
            invite = {"id": str(uuid.uuid4()), "email": email, "invited_at": iso(invited_at),
                      "resent_at": iso(resent_at) if resent_at else None, "creator": {"type": "management_key"},
                      "role": role, "team_role_bindings": bindings}
            self._add_invite(invite)
            return copy.deepcopy(invite)

    def _sort_invites(self) -> None:
        # Newest first by when the invite was first sent; a resend does not move it.
        self._invites_view = None
        self._invites_index()

    def _add_invite(self, invite: dict[str, Any]) -> None:
        """Put a new invite where sorting would: found by halving (a handful of timestamps parsed), where
        sorting all of them again parsed 10,000 timestamps under the lock on every create."""
        index_ = self._invites_index()
        key = _invite_order(invite)
        low, high = 0, len(self.invites)
        while low < high:  # newest first: the first place whose invite sorts before the new one
            middle = (low + high) // 2
            if _invite_order(self.invites[middle]) > key:
                low = middle + 1
            else:
                high = middle
        email = invite["email"].casefold()
        self.invites.insert(low, invite)
        index_.ordered.insert(low, (invite, email))
        first = index_.by_email.get(email)
        if first is None or self.invites.index(first) > low:
            index_.by_email[email] = invite
        index_.shape = (id(self.invites), len(self.invites))


def _invite_order(invite: dict[str, Any]) -> tuple[datetime, str]:
    return _parse_iso(invite["invited_at"]), invite["id"]


@dataclass
class _MembersIndex:
    shape: tuple[int, int, int]
    ordered: list[tuple[dict[str, Any], str, str]]  # (member, folded name, folded email), oldest first
    by_email: set[str]


@dataclass
class _InvitesIndex:
    shape: tuple[int, int]
    ordered: list[tuple[dict[str, Any], str]]  # (invite, folded email), as the list: newest first
    by_email: dict[str, dict[str, Any]]  # the first invite in the list for each folded email

