"""Helpers for the access tests: a file that says what the org is now (as `invite access export` would),
changed where a test wants a change; plans made by the core's compute_plan directly."""

from __future__ import annotations

from invite.core.access import AccessFile, Person, Plan, compute_plan
from invite.services.access import read_state


def file_as_org_is(client, *, changes: dict[str, tuple[str, list[str]] | None] | None = None,
                   manage=frozenset({"invites", "members"})) -> AccessFile:
    """Every member and pending invitation as Junction lists them, then `changes`: address -> (role, team
    ids) to want that, None to leave the address out of the file (a revoke, or a removal when managed)."""
    state = read_state(client)
    wanted: dict[str, tuple[str, str, list[str]]] = {}
    for someone in (*state.members, *state.invites):
        wanted[someone.email.lower()] = (someone.email, someone.role, list(someone.team_ids))
    for email, grant in (changes or {}).items():
        if grant is None:
            wanted.pop(email.lower(), None)
        else:
            wanted[email.lower()] = (email, grant[0], grant[1])
    people = tuple(Person(email=email, role=role, team_ids=tuple(teams), line=i + 2)
                   for i, (email, role, teams) in enumerate(wanted.values()))
    return AccessFile(people=people, manage=frozenset(manage), sha256="f" * 64)


def plan_for(client, **kwargs) -> Plan:
    return compute_plan(file_as_org_is(client, **kwargs), read_state(client), source="access.yaml")
