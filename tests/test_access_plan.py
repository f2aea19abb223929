"""The plan of access as code (invite.core.access.compute_plan) and its words (invite.core.access_words):
pure functions, tested on plain values."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from invite.core.access import (
    INVITE,
    REINVITE,
    REMOVE,
    REVOKE,
    UPDATE,
    AccessFile,
    Change,
    Grant,
    OrgState,
    Person,
    Plan,
    compute_plan,
    fingerprint,
)
from invite.core.access_words import LEFT_ALONE, describe_change, describe_left_alone, grant_words, groups, summary
from invite.junction.models import Creator, Invite, Member, Team

CARDIO = Team("t-cardio", "Cardiology", "us")
BERLIN = Team("t-berlin", "Berlin Clinic", "eu")
SLEEP = Team("t-sleep", "Sleep Clinic", "us")
TEAMS = (CARDIO, BERLIN, SLEEP)
WHEN = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def member(email: str, role: str, *teams: str, name: str = "", member_id: str = "") -> Member:
    return Member(id=member_id or f"m-{email}", name=name or email.split("@")[0].title(), email=email, role=role,
                  team_ids=tuple(teams), created_on=WHEN)


def invite(email: str, role: str, *teams: str) -> Invite:
    return Invite(id=f"i-{email}", email=email, role=role, team_ids=tuple(teams), invited_at=WHEN, resent_at=None,
                  creator=Creator(type="management_key"))


def person(email: str, role: str, *teams: str, line: int = 0) -> Person:
    return Person(email=email, role=role, team_ids=tuple(teams), line=line)


def wanted(*people: Person, manage=("invites", "members"), ignore=()) -> AccessFile:
    return AccessFile(people=tuple(people), manage=frozenset(manage), ignore=tuple(ignore), sha256="f" * 64)


def state(members=(), invites=()) -> OrgState:
    return OrgState(members=tuple(members), invites=tuple(invites), teams=TEAMS)


def kinds(plan: Plan) -> list[tuple[str, str]]:
    return [(c.kind, c.email) for c in plan.changes]


def test_nothing_changes_when_the_org_matches_the_file():
    org = state([member("ada@example.com", "team_admin", "t-cardio", "t-sleep"),
                 member("bob@example.com", "org_admin")],
                [invite("cy@example.com", "no_role", "t-berlin")])
    plan = compute_plan(wanted(person("ada@example.com", "team_admin", "t-sleep", "t-cardio"),
                               person("bob@example.com", "org_admin"),
                               person("cy@example.com", "no_role", "t-berlin")), org)
    assert plan.is_empty and plan.unchanged == 3 and plan.left_alone == () and plan.ignored == 0
    assert summary(plan) == "No changes. 3 already match."
    assert groups(plan) == []


def test_every_kind_of_change_in_the_order_they_are_applied():
    org = state([member("keep@example.com", "org_admin"), member("change@example.com", "no_role", name="Chan Ge"),
                 member("gone@example.com", "no_role", name="Gone Person")],
                [invite("pending@example.com", "no_role"), invite("stale@example.com", "team_admin", "t-berlin")])
    file = wanted(person("new@example.com", "team_admin", "t-cardio", line=9),
                  person("keep@example.com", "org_admin", line=3),
                  person("change@example.com", "team_admin", "t-sleep", "t-cardio", line=5),
                  person("pending@example.com", "org_admin", line=7),
                  manage=("invites", "members", "removals"))
    plan = compute_plan(file, org, source="access.yaml")
    assert kinds(plan) == [(INVITE, "new@example.com"), (UPDATE, "change@example.com"),
                           (REINVITE, "pending@example.com"), (REVOKE, "stale@example.com"),
                           (REMOVE, "gone@example.com")]
    new, change, pending, stale, gone = plan.changes
    assert new.before is None and new.after == Grant("team_admin", ({"id": "t-cardio", "name": "Cardiology"},))
    assert new.line == 9 and change.line == 5 and pending.line == 7 and stale.line == 0
    assert change.member_id == "m-change@example.com" and change.name == "Chan Ge"
    assert change.before == Grant("no_role") and [t["name"] for t in change.after.teams] == ["Cardiology",
                                                                                            "Sleep Clinic"]
    assert pending.invite_id == "i-pending@example.com" and stale.invite_id == "i-stale@example.com"
    assert stale.after is None and gone.after is None and gone.member_id == "m-gone@example.com"
    assert plan.unchanged == 1 and plan.left_alone == ()
    assert plan.counts() == {INVITE: 1, UPDATE: 1, REINVITE: 1, REVOKE: 1, REMOVE: 1}
    assert plan.source == "access.yaml" and plan.file_sha256 == "f" * 64 and plan.fingerprint == fingerprint(org)

    assert [describe_change(c) for c in plan.changes] == [
        "Invite new@example.com as Team admin of Cardiology",
        "Change Chan Ge <change@example.com>: No role → Team admin of Cardiology and Sleep Clinic",
        "Re-invite pending@example.com: No role → Org admin",
        "Revoke the invitation for stale@example.com (Team admin of Berlin Clinic)",
        "Remove Gone Person <gone@example.com> (No role) from the org",
    ]
    assert summary(plan) == ("5 changes: 1 to invite, 1 to change, 1 to re-invite, 1 to revoke, 1 to remove. "
                             "1 already matches.")
    assert [(g.kind, g.heading, g.sign) for g in groups(plan)] == [
        (INVITE, "To invite (1)", "+"), (UPDATE, "To change (1)", "~"),
        (REINVITE, "To re-invite with the file's role and teams (1)", "~"),
        (REVOKE, "To revoke (pending, not in the file) (1)", "-"),
        (REMOVE, "To remove from the org (not in the file) (1)", "-")]


def test_members_not_in_the_file_are_left_alone_unless_removals_are_managed():
    org = state([member("a@example.com", "org_admin"), member("b@example.com", "team_admin", "t-cardio",
                                                              name="Bee")])
    plan = compute_plan(wanted(person("a@example.com", "org_admin")), org)
    assert plan.is_empty and [c.email for c in plan.left_alone] == ["b@example.com"]
    assert plan.left_alone[0].kind == REMOVE
    assert summary(plan) == "No changes. 1 already matches; 1 not in the file, left alone."
    [group] = groups(plan)
    assert group.kind == LEFT_ALONE and group.lines == (
        "Bee <b@example.com> (Team admin of Cardiology): not in the file, left alone",)
    assert describe_left_alone(plan.left_alone[0]) == group.lines[0]

    removing = compute_plan(wanted(person("a@example.com", "org_admin"),
                                   manage=("invites", "members", "removals")), org)
    assert kinds(removing) == [(REMOVE, "b@example.com")] and removing.left_alone == ()


def test_without_invites_managed_nobody_is_invited_re_invited_or_revoked():
    org = state(invites=[invite("pending@example.com", "no_role"), invite("stale@example.com", "no_role")])
    plan = compute_plan(wanted(person("new@example.com", "no_role"), person("pending@example.com", "org_admin"),
                               manage=("members",)), org)
    assert plan.is_empty and plan.unchanged == 0 and plan.unmanaged == 2
    assert summary(plan) == "No changes. 2 differ from the file, left alone (not in its manage)."


def test_without_members_managed_members_keep_their_role_and_teams():
    org = state([member("a@example.com", "no_role"), member("b@example.com", "no_role")])
    plan = compute_plan(wanted(person("a@example.com", "org_admin"), person("b@example.com", "no_role"),
                               manage=("invites",)), org)
    assert plan.is_empty and plan.unchanged == 1 and plan.unmanaged == 1
    assert summary(plan) == "No changes. 1 already matches; 1 differs from the file, left alone (not in its manage)."
    assert Plan.from_json(plan.as_json()).unmanaged == 1


def test_removals_alone_removes_but_changes_nobody():
    org = state([member("a@example.com", "no_role"), member("b@example.com", "no_role")],
                [invite("c@example.com", "no_role")])
    plan = compute_plan(wanted(person("a@example.com", "org_admin"), manage=("removals",)), org)
    assert kinds(plan) == [(REMOVE, "b@example.com")]


def test_ignore_patterns_keep_members_and_invitations_out_of_the_plan():
    org = state([member("bot@vital.io", "org_admin"), member("Staff@Vital.IO", "no_role"),
                 member("a@example.com", "no_role")],
                [invite("x@vital.io", "no_role"), invite("robot@example.com", "no_role")])
    plan = compute_plan(wanted(person("a@example.com", "no_role"), ignore=("*@VITAL.io", "robot@example.com"),
                               manage=("invites", "members", "removals")), org)
    assert plan.is_empty and plan.ignored == 4 and plan.unchanged == 1
    assert summary(plan) == "No changes. 1 already matches; 4 ignored."


def test_a_person_the_ignore_patterns_match_is_counted_as_ignored():
    # The parser refuses such a file; the plan, given one anyway, leaves the person alone.
    org = state([member("bot@vital.io", "no_role")])
    plan = compute_plan(wanted(person("bot@vital.io", "org_admin"), ignore=("*@vital.io",)), org)
    assert plan.is_empty and plan.ignored == 1


def test_addresses_are_compared_without_case():
    org = state([member("Ada.Lovelace@Example.COM", "no_role")], [invite("GRACE@example.com", "org_admin")])
    plan = compute_plan(wanted(person("ada.lovelace@example.com", "no_role"), person("grace@EXAMPLE.com",
                                                                                     "org_admin"),
                               manage=("invites", "members", "removals")), org)
    assert plan.is_empty and plan.unchanged == 2
    changed = compute_plan(wanted(person("ada.lovelace@example.com", "org_admin"),
                                  person("grace@EXAMPLE.com", "org_admin")), org)
    assert kinds(changed) == [(UPDATE, "Ada.Lovelace@Example.COM")]  # Junction's spelling of the member


def test_a_members_teams_count_only_for_a_team_admin():
    # Junction keeps no teams for an Org admin or No role member; a file that writes some changes nothing.
    org = state([member("a@example.com", "org_admin", "t-cardio"), member("b@example.com", "no_role")])
    plan = compute_plan(wanted(person("a@example.com", "org_admin"), person("b@example.com", "no_role", "t-sleep")),
                        org)
    assert plan.is_empty


def test_team_admin_teams_are_compared_as_a_set():
    org = state([member("a@example.com", "team_admin", "t-cardio", "t-sleep")])
    same = compute_plan(wanted(person("a@example.com", "team_admin", "t-sleep", "t-cardio", "t-sleep")), org)
    assert same.is_empty
    fewer = compute_plan(wanted(person("a@example.com", "team_admin", "t-sleep")), org)
    [change] = fewer.changes
    assert describe_change(change) == ("Change A <a@example.com>: Team admin of Cardiology and Sleep Clinic → "
                                       "Team admin of Sleep Clinic")
    none = compute_plan(wanted(person("a@example.com", "team_admin")), org)
    assert describe_change(none.changes[0]).endswith("→ Team admin of no team")


def test_an_invitation_carries_its_teams_whatever_the_role():
    org = state(invites=[invite("a@example.com", "no_role", "t-cardio")])
    assert compute_plan(wanted(person("a@example.com", "no_role", "t-cardio")), org).is_empty
    plan = compute_plan(wanted(person("a@example.com", "no_role")), org)
    assert [describe_change(c) for c in plan.changes] == [
        "Re-invite a@example.com: No role (teams: Cardiology) → No role"]


def test_a_member_with_a_pending_invitation_is_planned_as_a_member():
    org = state([member("a@example.com", "no_role")], [invite("a@example.com", "org_admin")])
    plan = compute_plan(wanted(person("a@example.com", "org_admin")), org)
    assert kinds(plan) == [(UPDATE, "a@example.com")]
    # Nor is the invitation revoked when the member is not in the file: it is the member who is left alone.
    alone = compute_plan(wanted(), org)
    assert alone.is_empty and [c.email for c in alone.left_alone] == ["a@example.com"]


def test_a_team_the_org_no_longer_lists_is_named_by_its_id():
    org = state([member("a@example.com", "team_admin", "t-gone")])
    plan = compute_plan(wanted(person("a@example.com", "team_admin", "t-cardio")), org)
    assert describe_change(plan.changes[0]) == "Change A <a@example.com>: Team admin of t-gone → Team admin of " \
                                               "Cardiology"


def test_the_fingerprint_moves_with_roles_teams_and_team_names_but_not_with_time():
    base = state([member("a@example.com", "team_admin", "t-cardio")], [invite("b@example.com", "no_role")])
    assert fingerprint(base) == fingerprint(state([member("A@example.com ", "team_admin", "t-cardio",
                                                          member_id="m-a@example.com")],
                                                  [invite("b@example.com", "no_role")]))
    resent = Invite(id="i-b@example.com", email="b@example.com", role="no_role", team_ids=(), invited_at=WHEN,
                    resent_at=datetime(2026, 2, 1, tzinfo=UTC), creator=Creator(type="org_member"))
    assert fingerprint(base) == fingerprint(OrgState(base.members, (resent,), TEAMS))
    moved = [state([member("a@example.com", "org_admin")], base.invites),
             state([member("a@example.com", "team_admin", "t-sleep")], base.invites),
             state(base.members, [invite("b@example.com", "org_admin")]),
             state(base.members, []),
             OrgState(base.members, base.invites, (Team("t-cardio", "Cardiology (old)", "us"), BERLIN, SLEEP))]
    assert len({fingerprint(s) for s in moved} | {fingerprint(base)}) == len(moved) + 1


def test_a_plan_survives_its_json_form():
    org = state([member("gone@example.com", "no_role"), member("keep@example.com", "no_role")],
                [invite("stale@example.com", "team_admin", "t-berlin")])
    plan = compute_plan(wanted(person("new@example.com", "team_admin", "t-cardio", line=4),
                               person("keep@example.com", "org_admin", line=2)), org, source="access.yaml")
    data = json.loads(json.dumps(plan.as_json()))
    assert data["format"] == 1 and data["counts"] == {"invite": 1, "update": 1, "reinvite": 0, "revoke": 1,
                                                       "remove": 0}
    assert (data["unchanged"], data["ignored"], data["unmanaged"]) == (0, 0, 0)
    again = Plan.from_json(data)
    assert again == plan
    with pytest.raises(ValueError, match="format 2"):
        Plan.from_json({**data, "format": 2})


def test_grant_words():
    assert grant_words(None) == "nothing"
    assert grant_words(Grant("org_admin")) == "Org admin"
    assert grant_words(Grant("team_admin")) == "Team admin of no team"
    teams = ({"id": "2", "name": "sleep Clinic"}, {"id": "1", "name": "Cardiology"}, {"id": "3", "name": "Berlin"})
    assert grant_words(Grant("team_admin", teams)) == "Team admin of Berlin, Cardiology and sleep Clinic"
    assert grant_words(Grant("no_role", teams[:1])) == "No role (teams: sleep Clinic)"


def test_an_unknown_kind_has_no_words():
    with pytest.raises(ValueError, match="not a kind of change"):
        describe_change(Change("rename", "a@example.com", None, None))
