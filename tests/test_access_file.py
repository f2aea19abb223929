"""The access file (invite/core/access_file.py): what it means when it is good, and every problem, with its line,
when it is not (YAML and TOML alike)."""

from __future__ import annotations

import hashlib
import textwrap
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invite.core.access import DEFAULT_MANAGED, AccessFile, OrgState, compute_plan
from invite.core.access_file import MAX_BYTES, AccessFileError, parse_access_file, render_access_file
from invite.junction.models import Creator, Invite, Member, Team

CARDIOLOGY = Team("80240536-14a5-521a-a7ab-b13f2741d88b", "Cardiology", "us")
BERLIN = Team("59897663-6785-514e-b626-7f993a79f223", "Berlin Clinic", "eu")
TWIN_A = Team("33333333-3333-4333-8333-333333333333", "Twin", "eu")
TWIN_B = Team("44444444-4444-4444-8444-444444444444", "twin", "us")
TEAMS = [CARDIOLOGY, BERLIN, TWIN_A, TWIN_B]


def parse(text: str, filename: str = "access.yaml") -> AccessFile:
    return parse_access_file(textwrap.dedent(text).lstrip("\n").encode(), TEAMS, filename=filename)


def problems(text: str, filename: str = "access.yaml") -> list[tuple[int, str]]:
    with pytest.raises(AccessFileError) as caught:
        parse(text, filename)
    return [(p.line, p.message) for p in caught.value.problems]


def only_problem(text: str, filename: str = "access.yaml") -> tuple[int, str]:
    found = problems(text, filename)
    assert len(found) == 1, found
    return found[0]


GOOD = """
# Who has which role and teams.
manage: [invites, members, removals]
ignore: ["*@vital.io", "robot@example.com"]
defaults:
  role: no_role
people:
  - email: Ada@Example.com
    role: team_admin
    teams: [cardiology, 59897663-6785-514e-b626-7f993a79f223, Cardiology]
  - grace@example.com
  - email: linus@example.com
    role: org_admin
  - email: margaret@example.com
    role: team_admin
    teams: []
"""


def test_a_good_file_resolves_teams_and_applies_the_defaults():
    wanted = parse(GOOD)
    assert wanted.manage == {"invites", "members", "removals"}
    assert wanted.ignore == ("*@vital.io", "robot@example.com")
    assert [(p.email, p.role, p.team_ids, p.line) for p in wanted.people] == [
        ("Ada@Example.com", "team_admin", (CARDIOLOGY.id, BERLIN.id), 7),
        ("grace@example.com", "no_role", (), 10),
        ("linus@example.com", "org_admin", (), 11),
        ("margaret@example.com", "team_admin", (), 13),
    ]
    assert wanted.sha256 == hashlib.sha256(textwrap.dedent(GOOD).lstrip("\n").encode()).hexdigest()


def test_manage_defaults_to_invites_and_members_and_removals_only_when_written():
    wanted = parse("""
        people:
          - email: a@example.com
            role: no_role
    """)
    assert wanted.manage == DEFAULT_MANAGED == {"invites", "members"}
    assert parse("manage: members\npeople: []\n").manage == {"members"}
    assert parse("manage: []\npeople: []\n").manage == frozenset()


def test_default_teams_apply_to_people_who_write_none():
    wanted = parse("""
        defaults:
          role: team_admin
          teams: [Berlin Clinic]
        people:
          - a@example.com
          - email: b@example.com
            teams: [Cardiology]
          - email: c@example.com
            role: no_role
            teams: []
    """)
    assert [(p.role, p.team_ids) for p in wanted.people] == [
        ("team_admin", (BERLIN.id,)), ("team_admin", (CARDIOLOGY.id,)), ("no_role", ())]


def test_an_ambiguous_team_name_is_fine_by_id():
    wanted = parse(f"""
        people:
          - email: a@example.com
            role: team_admin
            teams: [{TWIN_B.id.upper()}]
    """)
    assert wanted.people[0].team_ids == (TWIN_B.id,)


def test_an_empty_people_list_is_a_file_that_wants_nobody():
    assert parse("people: []\n").people == ()
    assert parse("people:\n").people == ()


def test_yaml_1_1_words_stay_text():
    # "no" is a boolean to YAML 1.1 and "1e3" a number: an access file reads them as written.
    line, message = only_problem("""
        people:
          - email: a@example.com
            role: no
    """)
    assert line == 3 and "“no” is not a role" in message


# ------------------------------------------------------------------------------------------- each problem

@pytest.mark.parametrize(("text", "line", "words"), [
    ("""
     people:
       - email: a@example.com
         role: team_admin
         teams: [Cardio]
     """, 4, "The org has no team named “Cardio”. Did you mean Cardiology?"),
    ("""
     people:
       - email: a@example.com
         role: team_admin
         teams:
           - Cardiology
           - Berlin Clinik
     """, 6, "no team named “Berlin Clinik”. Did you mean Berlin Clinic?"),
    ("""
     people:
       - email: a@example.com
         role: team_admin
         teams: [Radiology department]
     """, 4, "no team named “Radiology department”. `invite teams` lists the org's teams."),
    ("""
     people:
       - email: a@example.com
         role: team_admin
         teams: [Twin]
     """, 4, f"2 teams are named “Twin”: write the id of the one you mean instead ({TWIN_A.id}, {TWIN_B.id})"),
    ("""
     people:
       - email: a@example.com
         role: no_role
       - email: b@example.com
         role: no_role
       - email: A@EXAMPLE.COM
         role: org_admin
     """, 6, "A@EXAMPLE.COM is already in the file at line 2 (addresses are compared without case)"),
    ("""
     people:
       - a@example.com
       - A@example.com
     defaults: {role: no_role}
     """, 3, "already in the file at line 2"),
    ("""
     people:
       - email: a@example.com
         role: admin
     """, 3, "“admin” is not a role: write org_admin, team_admin or no_role (did you mean org_admin?)"),
    ("""
     people:
       - email: a@example.com
         role: Team admin
     """, 3, "(did you mean team_admin?)"),
    ("""
     defaults:
       role: superuser
     people: []
     """, 2, "“superuser” is not a role"),
    ("""
     people:
       - email: a@example.com
         role:
     """, 3, "The role for a@example.com is empty"),
    ("""
     people:
       - email: a@example.com
         role: team_admin
     """, 2, "a@example.com is a Team admin with no teams written: list the teams they manage under `teams:` "
             "(or write `teams: []`"),
    ("""
     defaults:
       role: team_admin
     people:
       - email: a@example.com
     """, 4, "a@example.com is a Team admin with no teams written"),
    ("""
     people:
       - email: a@example
         role: no_role
     """, 2, "“a@example” is not an email address (write it like name@example.com)"),
    ("""
     people:
       - email: not an address
         role: no_role
     """, 2, "“not an address” is not an email address"),
    (f"""
     people:
       - email: {"a" * 320}@example.com
         role: no_role
     """, 2, "is longer than an email address can be"),
    ("""
     people:
       - email: ""
         role: no_role
     """, 2, "The address is empty"),
    ("""
     people:
       - role: no_role
     """, 2, "This person has no `email`"),
    ("""
     people:
       - email: a@example.com
     """, 2, "a@example.com has no role: write `role:`"),
    ("""
     people:
       - email: a@example.com
         role: no_role
         team: [Cardiology]
     """, 4, "“team” is not a key for a person: the keys are email, role, teams. Did you mean “teams”?"),
    ("""
     poeple: []
     """, 1, "“poeple” is not a key at the top of the file: the keys are manage, ignore, defaults, people. Did "
             "you mean “people”?"),
    ("""
     defaults:
       role: no_role
       region: eu
     people: []
     """, 3, "“region” is not a key under defaults: the keys are role, teams."),
    ("""
     manage: [invites, removal]
     people: []
     """, 1, "“removal” is not something a file can manage: write invites, members, removals. Did you mean "
             "“removals”?"),
    ("""
     people:
       - email: a@example.com
         role: no_role
         role: org_admin
     """, 4, "“role” is written twice for a person (first at line 3): keep one."),
    ("""
     ignore: ["*@vital.io"]
     people:
       - email: staff@vital.io
         role: no_role
     """, 3, "staff@vital.io matches the file's own ignore patterns"),
    ("""
     ignore: [""]
     people: []
     """, 1, "An ignore pattern is empty"),
    ("""
     people:
       - [a@example.com, no_role]
     """, 2, "Each person should be an address, or a mapping of email, role and teams; not a list."),
    ("""
     people:
       email: a@example.com
     """, 2, "people should be a list (one entry per person), not a mapping of keys."),
    ("""
     people:
       - email: [a@example.com]
         role: no_role
     """, 2, "An address should be one value, not a list."),
    ("""
     people:
       - email: a@example.com
         role: team_admin
         teams: {Cardiology: yes}
     """, 4, "the teams of a@example.com should be a list, not a mapping of keys."),
    ("""
     people:
       - email: a@example.com
         role: team_admin
         teams: [[Cardiology]]
     """, 4, "Each of the teams of a@example.com should be one value, not a list."),
    ("""
     defaults: no_role
     people: []
     """, 1, "defaults should be a mapping (role, teams), not a single value."),
    ("""
     manage: [invites]
     """, 1, "The file has no `people:` list"),
    ("""
     - a@example.com
     """, 1, "The file should be a mapping with a `people:` list"),
    ("""
     people:
       - email: a@example.com
         role: no_role
       - email: b@example.com
        role: no_role
     """, 5, "This is not valid YAML"),
    ("""
     people: [a@example.com
     """, 2, "This is not valid YAML"),
    ("""
     # only a comment
     """, 1, "The file holds only comments"),
    ("""
     people: []
     ---
     people: []
     """, 2, "This is not valid YAML"),
])
def test_each_problem_is_reported_with_its_line(text, line, words):
    found = problems(text)
    assert any(number == line and words in message for number, message in found), found


def test_every_problem_is_reported_at_once_in_line_order():
    found = problems("""
        manage: [invites, members, everything]
        colour: blue
        defaults:
          role: admin
        people:
          - email: ada@example.com
            role: team_admin
            teams: [Cardio, Twin]
          - email: ADA@example.com
            role: no_role
          - email: bob@
            role: no_role
          - email: carl@example.com
            role: team_admin
    """)
    assert [line for line, _ in found] == [1, 2, 4, 8, 8, 9, 11, 13]
    assert "Cardio" in found[3][1] and "Twin" in found[4][1]  # a line's problems in the order written


def test_the_error_reads_like_a_compilers():
    with pytest.raises(AccessFileError) as caught:
        parse("people:\n  - email: bob@\n    role: no_role\n", filename="team/access.yaml")
    error = caught.value
    assert error.filename == "team/access.yaml"
    assert error.lines() == ["team/access.yaml:2: “bob@” is not an email address (write it like name@example.com)."]
    assert str(error) == error.lines()[0]
    assert error.summary == "team/access.yaml has 1 problem; nothing was planned."


@pytest.mark.parametrize(("data", "line", "words"), [
    (b"", 1, "The file is empty"),
    (b"  \n\n", 1, "The file is empty"),
    (b"people:\n  - email: caf\xe9@example.com\n", 2, "not UTF-8 text"),
    (b"people: []\n\x07\n", 2, "a character YAML does not allow"),
    (b"x" * (MAX_BYTES + 1), 1, "more than the 2,000,000 an access file may be"),
    (b"people: " + b"[" * 5000 + b"]" * 5000 + b"\n", 1, "nested far deeper"),
    (b"people:\n\n" + b"- " * 40 + b"x\n", 3, "nested far deeper"),
])
def test_a_file_that_cannot_be_read(data, line, words):
    with pytest.raises(AccessFileError) as caught:
        parse_access_file(data, TEAMS, filename="access.yaml")
    [problem] = caught.value.problems
    assert problem.line == line and words in problem.message, problem


def test_pyyaml_without_libyaml_reads_the_same_and_stops_as_early(monkeypatch):
    from invite.core import access_file

    fast = parse(GOOD)
    monkeypatch.setattr(access_file, "_FAST_LOADER", None)
    assert parse(GOOD) == fast
    for data, line in ((b"people: " + b"[" * 5000 + b"]" * 5000, 1), (b"people:\n\n" + b"- " * 40 + b"x\n", 3)):
        with pytest.raises(AccessFileError) as caught:
            parse_access_file(data, TEAMS, filename="access.yaml")
        assert [(p.line, p.message) for p in caught.value.problems] == [
            (line, "The file is nested far deeper than an access file is.")]


def test_a_utf8_bom_is_fine():
    wanted = parse_access_file(b"\xef\xbb\xbfpeople:\n  - email: a@example.com\n    role: no_role\n", TEAMS,
                               filename="access.yaml")
    assert wanted.people[0].email == "a@example.com"


def test_aliases_are_not_expanded_and_a_self_reference_ends():
    # A billion laughs: each level names the previous one nine times. Read as written, not expanded.
    levels = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 12)]
    found = problems("\n".join(levels) + "\npeople: []\nself: &s [*s]\n")
    assert len(found) == 13 and all("is not a key at the top of the file" in m for _, m in found)


def test_an_address_written_for_defaults_is_read_as_its_own_entry():
    wanted = parse("""
        defaults:
          role: org_admin
        people:
          - a@example.com
          - b@example.com
    """)
    assert [(p.email, p.role, p.line) for p in wanted.people] == [("a@example.com", "org_admin", 4),
                                                                 ("b@example.com", "org_admin", 5)]


# ------------------------------------------------------------------------------------------- TOML

GOOD_TOML = """
manage = ["invites", "members"]
ignore = ["*@vital.io"]

[defaults]
role = "no_role"

[[people]]
email = "ada@example.com"
role = "team_admin"
teams = ["Cardiology", "Berlin Clinic"]

[[people]]
email = "grace@example.com"
"""


def test_toml_means_the_same_as_yaml():
    wanted = parse(GOOD_TOML, "access.toml")
    assert wanted.manage == {"invites", "members"} and wanted.ignore == ("*@vital.io",)
    assert [(p.email, p.role, p.team_ids, p.line) for p in wanted.people] == [
        ("ada@example.com", "team_admin", (CARDIOLOGY.id, BERLIN.id), 7),
        ("grace@example.com", "no_role", (), 12),
    ]


@pytest.mark.parametrize(("text", "line", "words"), [
    ("""
     [[people]]
     email = "ada@example.com"
     role = "team_admin"
     teams = ["Cardio"]

     [[people]]
     email = "bob@"
     role = "no_role"
     colour = "blue"
     """, 4, "no team named “Cardio”. Did you mean Cardiology?"),
    ("""
     [[people]]
     email = "ada@example.com"
     role = "no_role"

     [[people]]
     email = "bob@"
     role = "no_role"
     colour = "blue"
     """, 6, "“bob@” is not an email address"),
    ("""
     [[people]]
     email = "ada@example.com"
     role = "no_role"

     [[people]]
     email = "bob@example.com"
     role = "no_role"
     colour = "blue"
     """, 8, "“colour” is not a key for a person"),
    ("""
     [defaults]
     role = "admin"

     [[people]]
     email = "ada@example.com"
     """, 2, "“admin” is not a role"),
    ("""
     people = [
       {email = "ada@example.com", role = "no_role"},
       {email = "ADA@example.com", role = "no_role"},
     ]
     """, 3, "already in the file at line 2"),
    ("""
     [[people]]
     email = "ada@example.com"
     role = "no_role"
     role = "org_admin"
     """, 4, "This is not valid TOML"),
    ("""
     people = [
     """, 1, "This is not valid TOML (Invalid value)."),
])
def test_toml_problems_have_lines_too(text, line, words):
    found = problems(text, "access.toml")
    assert any(number == line and words in message for number, message in found), found


# ------------------------------------------------------------------------------------------- export, round trip

WHEN = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def member(email: str, role: str, *teams: str, name: str = "") -> Member:
    return Member(id=f"m-{email}", name=name or email.split("@")[0].title(), email=email, role=role,
                  team_ids=tuple(teams), created_on=WHEN)


def invite(email: str, role: str, *teams: str) -> Invite:
    return Invite(id=f"i-{email}", email=email, role=role, team_ids=tuple(teams), invited_at=WHEN, resent_at=None,
                  creator=Creator(type="management_key"))


ORG = OrgState(
    members=(member("zed@example.com", "org_admin", name="Zed Zero"),
             member("Ada@Example.com", "team_admin", BERLIN.id, CARDIOLOGY.id, name="Ada Lovelace"),
             member("noteam@example.com", "team_admin"),
             member("twin@example.com", "team_admin", TWIN_A.id),
             member("plain@example.com", "no_role", CARDIOLOGY.id),
             member("odd@example", "no_role")),
    invites=(invite("pending@example.com", "no_role", BERLIN.id), invite("ada@example.com", "org_admin"),
             invite("later@example.com", "team_admin", "gone-team-id", CARDIOLOGY.id)),
    teams=tuple(TEAMS),
)


def test_the_export_reads_as_a_file_to_start_from():
    text = render_access_file(ORG, notes={"ada@example.com": "invited by sam@example.com on 2026-01-02"},
                              exported_at=datetime(2026, 12, 7, 13, 5, tzinfo=UTC))
    assert text == textwrap.dedent(f"""\
        # Access as code: who should have which role and teams in the Junction org.
        # Exported from Junction on 2026-12-07 13:05 UTC: 5 members, 2 pending invitations.
        # `invite access plan access.yaml` lists what would change; nothing changes until a plan is applied.
        # Roles: org_admin, team_admin, no_role. Teams by name (or by id). Addresses are compared without case.

        # What this file owns: pending invitations (invites) and members' roles and teams (members).
        # Add removals to remove members who are not in the file.
        manage: [invites, members]

        # Addresses the plan never touches, as patterns (* and ?): service accounts, say.
        # Listed here: addresses Junction holds that the invite form would not accept.
        ignore:
          - odd@example

        # What an entry gets for a key it leaves out.
        defaults:
          role: no_role

        people:
          # Members (5)
          - email: Ada@Example.com  # Ada Lovelace, member since 2026-01-05; invited by sam@example.com on 2026-01-02
            role: team_admin
            teams: [Berlin Clinic, Cardiology]
          - email: noteam@example.com  # Noteam, member since 2026-01-05
            role: team_admin
            teams: []
          - email: plain@example.com  # Plain, member since 2026-01-05
            role: no_role
          - email: twin@example.com  # Twin, member since 2026-01-05
            role: team_admin
            teams: [{TWIN_A.id}]
          - email: zed@example.com  # Zed Zero, member since 2026-01-05
            role: org_admin
          # Pending invitations (2)
          - email: later@example.com  # pending since 2026-01-05; left out teams the org does not list: gone-team-id
            role: team_admin
            teams: [Cardiology]
          - email: pending@example.com  # pending since 2026-01-05
            role: no_role
            teams: [Berlin Clinic]
        """)


@pytest.mark.parametrize("toml", [False, True])
def test_the_export_parses_back_and_plans_nothing(toml):
    text = render_access_file(ORG, toml=toml)
    wanted = parse_access_file(text.encode(), TEAMS, filename="access.toml" if toml else "access.yaml")
    assert wanted.manage == {"invites", "members"} and wanted.ignore == ("odd@example",)
    plan = compute_plan(wanted, ORG)
    # The one change: an invitation for a team the org no longer lists cannot be written back.
    assert [(c.kind, c.email) for c in plan.changes] == [("reinvite", "later@example.com")]
    assert plan.left_alone == () and plan.ignored == 1


def test_the_export_quotes_what_yaml_would_not_read_as_text():
    teams = (Team("t1", "No", "us"), Team("t2", "2026-01-05", "us"), Team("t3", "Ops: EU", "eu"),
             Team("t4", " padded ", "us"), Team("t5", 'say "hi"\tnow', "us"), Team("t6", "Ops EU", "eu"))
    org = OrgState((member("a@example.com", "team_admin", *(t.id for t in teams)),), (), teams)
    text = render_access_file(org)
    assert '    teams: ["2026-01-05", "No", Ops EU, "Ops: EU", padded, "say \\"hi\\"\\U00000009now"]\n' in text
    assert compute_plan(parse_access_file(text.encode(), teams, filename="access.yaml"), org).is_empty


def test_an_empty_org_exports_a_file_that_wants_nobody():
    for toml in (False, True):
        text = render_access_file(OrgState((), (), ()), toml=toml)
        wanted = parse_access_file(text.encode(), [], filename="a.toml" if toml else "a.yaml")
        assert wanted.people == ()


_NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
_ADDRESSES = st.builds(lambda first, sep, last, domain: f"{first}{sep}{last}@{domain}.example.com",
                       st.sampled_from(["ada", "Bob", "x9"]), st.sampled_from(["", ".", "+", "-", "_"]),
                       st.sampled_from(["lee", "O", "42"]), st.sampled_from(["a", "b-c", "Mail"]))


@st.composite
def _orgs(draw) -> OrgState:
    names = draw(st.lists(_NAMES, min_size=0, max_size=6))
    teams = tuple(Team(f"{i:08d}-0000-4000-8000-000000000000", name, "us") for i, name in enumerate(names))
    ids = [t.id for t in teams]
    addresses = draw(st.lists(_ADDRESSES, max_size=8, unique_by=str.lower))
    members, invites = [], []
    for address in addresses:
        role = draw(st.sampled_from(["org_admin", "team_admin", "no_role"]))
        team_ids = tuple(draw(st.lists(st.sampled_from(ids), max_size=3))) if ids else ()
        if draw(st.booleans()):
            members.append(Member(f"m-{address}", draw(_NAMES), address, role, team_ids, WHEN))
        else:
            invites.append(Invite(f"i-{address}", address, role, team_ids, WHEN, None, Creator("management_key")))
    return OrgState(tuple(members), tuple(invites), teams)


@settings(max_examples=100, deadline=None)
@given(org=_orgs(), toml=st.booleans(), note=_NAMES)
def test_any_org_exports_to_a_file_that_plans_nothing(org, toml, note):
    notes = {m.email.lower(): note for m in org.members}
    text = render_access_file(org, notes=notes, toml=toml)
    wanted = parse_access_file(text.encode(), org.teams, filename="access.toml" if toml else "access.yaml")
    plan = compute_plan(wanted, org)
    assert plan.is_empty and plan.left_alone == (), text
    assert plan.unchanged == len(org.members) + len(org.invites)
