"""The access file (invite/core/access_file.py): what it means when it is good, and every problem, with its line,
when it is not (YAML and TOML alike)."""

from __future__ import annotations

import hashlib
import textwrap

import pytest

from invite.core.access import DEFAULT_MANAGED, AccessFile
from invite.core.access_file import MAX_BYTES, AccessFileError, parse_access_file
from invite.junction.models import Team

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
