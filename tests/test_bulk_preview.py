"""The bulk preview: every verdict and its precedence, ordering, counts, suggestions, one traversal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from invite.bulk.parser import InputRow, parse_bulk
from invite.bulk.preview import (
    ALREADY_MEMBER,
    ALREADY_PENDING,
    AMBIGUOUS_TEAM,
    DUPLICATE,
    INVALID_EMAIL,
    INVALID_ROLE,
    READY,
    UNKNOWN_TEAM,
    VERDICT_LABELS,
    VERDICTS,
    Preview,
    build_preview,
)
from invite.core.invite_rules import email_errors
from invite.junction import Creator, Invite, Member, Team

CARDIOLOGY = Team("11111111-1111-4111-8111-111111111111", "Cardiology", "us")
ONCOLOGY = Team("22222222-2222-4222-8222-222222222222", "Oncology", "us")
LAB_A = Team("33333333-3333-4333-8333-333333333333", "Lab Operations", "us")
LAB_B = Team("44444444-4444-4444-8444-444444444444", "lab operations", "eu")
MUNICH = Team("55555555-5555-4555-8555-555555555555", "München Labs", "eu")
TEAMS = [CARDIOLOGY, ONCOLOGY, LAB_A, LAB_B, MUNICH]

WHEN = datetime(2026, 8, 11, 11, 11, tzinfo=UTC)
MEMBER = Member("m1", "Dana Whitfield", "Dana.Whitfield@acmehealth.com", "org_admin", (), WHEN)
INVITE = Invite("i1", "Noor.Haddad@AcmeHealth.com", "no_role", (), WHEN, None, Creator("management_key"))


def preview_of(text: str, *, default_role: str = "org_admin", teams=TEAMS, members=(MEMBER,), invites=(INVITE,)):
    return build_preview(parse_bulk(text), default_role=default_role, teams=teams, members=members, invites=invites)


def only(preview: Preview):
    (row,) = preview.rows
    return row


def summary(preview: Preview):
    return [(r.input.number, r.verdict) for r in preview.rows]


# ------------------------------------------------------------------------------------------ verdicts


def test_ready_with_teams_by_name_and_by_id():
    row = only(preview_of(f"ada@example.com,team_admin,cardiology;{ONCOLOGY.id}"))
    assert (row.verdict, row.message, row.field) == (READY, "Ready to invite.", None)
    assert (row.email, row.role, row.teams) == ("ada@example.com", "team_admin", [CARDIOLOGY, ONCOLOGY])
    assert (row.suggestions, row.duplicate_of, row.pending, row.member) == ([], None, None, None)


def test_the_address_is_taken_as_the_form_takes_it():
    rows = [InputRow(number=1, email="  ada@example.com\t", role_text="", role=None, teams=())]
    row = only(build_preview(rows, default_role="no_role", teams=[], members=[], invites=[]))
    assert (row.verdict, row.email, row.role) == (READY, "ada@example.com", "no_role")


@pytest.mark.parametrize("default_role", ["org_admin", "team_admin", "no_role"])
def test_an_empty_role_takes_the_pages_default(default_role):
    assert only(preview_of("ada@example.com,,", default_role=default_role)).role == default_role


def test_the_rows_own_role_beats_the_default():
    row = only(preview_of("ada@example.com,Team admin,Cardiology", default_role="no_role"))
    assert (row.verdict, row.role) == (READY, "team_admin")


def test_an_unknown_default_role_is_a_programming_error():
    with pytest.raises(ValueError, match="default_role must be one of org_admin, team_admin, no_role"):
        preview_of("ada@example.com", default_role="admin")


@pytest.mark.parametrize("email", ["ada@", "ada", "ada@example", "ada @example.com", "=HYPERLINK(\"x\")",
                                   "a" * 321 + "@example.com", "ada@@example.com"])
def test_invalid_address_by_the_forms_rule(email):
    assert email_errors(email)  # the form refuses it too
    row = only(preview_of(f'"{email.replace(chr(34), chr(34) * 2)}",no_role'))
    assert (row.verdict, row.field) == (INVALID_EMAIL, "email")
    assert row.message == f"“{email}” is not a valid email address."


def test_an_address_the_form_accepts_is_ready():
    for email in ["zoë@example.com", "o'brien+tag@sub.example.co.uk", "X@EXAMPLE.COM"]:
        assert not email_errors(email)
        assert only(preview_of(email)).verdict == READY


def test_a_row_with_no_address():
    row = only(preview_of("email,role\n,team_admin\n"))
    assert (row.verdict, row.message, row.field, row.input.number) == (
        INVALID_EMAIL, "This row has no email address.", "email", 2,
    )


def test_unknown_team_offers_the_closest_names():
    row = only(preview_of("ada@example.com,team_admin,Cardology"))
    assert (row.verdict, row.field) == (UNKNOWN_TEAM, "teams")
    assert row.message == "No team named “Cardology”. Did you mean Cardiology?"
    assert row.suggestions == ["Cardiology"]


def test_unknown_team_with_several_suggestions_and_with_none():
    names = ["Lab North", "Lab South", "Lab Northern", "Lab Northwest", "Lab Northeast"]
    teams = [Team(f"t{i}", name, "us") for i, name in enumerate(names)]
    row = only(preview_of("ada@example.com,,lab nort", teams=teams))
    assert row.suggestions == ["Lab North", "Lab Northern", "Lab Northwest"]  # the best three, best first
    assert row.message == "No team named “lab nort”. Did you mean Lab North, Lab Northern or Lab Northwest?"
    two = only(preview_of("ada@example.com,,Lab Northh", teams=teams[:3]))
    assert two.message == "No team named “Lab Northh”. Did you mean Lab North or Lab Northern?"
    none = only(preview_of("ada@example.com,,Zzyzx"))
    assert (none.verdict, none.message, none.suggestions) == (UNKNOWN_TEAM, "No team named “Zzyzx”.", [])


def test_suggestions_need_a_ratio_of_at_least_three_quarters():
    teams = [Team("t1", "ABCD", "us")]
    assert only(preview_of("ada@example.com,,abcx", teams=teams)).suggestions == ["ABCD"]  # ratio 0.75
    assert only(preview_of("ada@example.com,,abxy", teams=teams)).suggestions == []  # ratio 0.5
    # Cardology is 0.71 from Oncology: not offered.
    assert only(preview_of("ada@example.com,,Cardology")).suggestions == ["Cardiology"]


def test_an_id_matches_exactly_not_by_case():
    row = only(preview_of(f"ada@example.com,,{CARDIOLOGY.id.upper().replace('1', 'A')}"))
    assert row.verdict == UNKNOWN_TEAM
    assert only(preview_of(f"ada@example.com,,{CARDIOLOGY.id}")).teams == [CARDIOLOGY]


def test_names_match_without_case_including_beyond_ascii():
    assert only(preview_of("ada@example.com,,MÜNCHEN LABS")).teams == [MUNICH]
    assert only(preview_of("ada@example.com,,oncology")).teams == [ONCOLOGY]


def test_ambiguous_team_name():
    row = only(preview_of("ada@example.com,team_admin,LAB OPERATIONS"))
    assert (row.verdict, row.field, row.suggestions) == (AMBIGUOUS_TEAM, "teams", [])
    assert row.message == (
        f"2 teams are named “LAB OPERATIONS”; use the id of the one you mean instead ({LAB_A.id}, {LAB_B.id})."
    )


def test_an_ambiguous_name_is_resolved_by_id():
    row = only(preview_of(f"ada@example.com,team_admin,{LAB_B.id}"))
    assert (row.verdict, row.teams) == (READY, [LAB_B])


def test_the_first_team_problem_is_reported_and_found_teams_kept():
    row = only(preview_of("ada@example.com,team_admin,Cardiology;Zzyzx;Lab Operations;Oncology"))
    assert (row.verdict, row.message) == (UNKNOWN_TEAM, "No team named “Zzyzx”.")
    assert row.teams == [CARDIOLOGY, ONCOLOGY]
    row = only(preview_of("ada@example.com,team_admin,Lab Operations;Zzyzx"))
    assert row.verdict == AMBIGUOUS_TEAM


def test_a_team_named_twice_is_bound_once():
    row = only(preview_of(f"ada@example.com,team_admin,Cardiology;{CARDIOLOGY.id};CARDIOLOGY"))
    assert (row.verdict, row.teams) == (READY, [CARDIOLOGY])


def test_invalid_role():
    row = only(preview_of("ada@example.com,Administrator,Cardiology"))
    assert (row.verdict, row.field, row.role) == (INVALID_ROLE, "role", None)
    assert row.message == (
        "“Administrator” is not a role; use one of org_admin (Org admin), team_admin (Team admin), "
        "no_role (No role), or leave it empty."
    )


def test_duplicate_of_the_first_row_with_the_address_without_case():
    preview = preview_of("ada@example.com\nbob@example.com\nADA@Example.com \n ada@example.com\n")
    duplicates = [r for r in preview.rows if r.verdict == DUPLICATE]
    assert [(r.input.number, r.duplicate_of, r.field) for r in duplicates] == [(3, 1, "email"), (4, 1, "email")]
    assert duplicates[0].message == "The same address as row 1; only that row is used."
    first = next(r for r in preview.rows if r.input.number == 1)
    assert (first.verdict, first.duplicate_of) == (READY, None)


def test_duplicate_row_numbers_are_the_files():
    preview = preview_of("email,teams\n\nada@example.com,Zzyzx\n\nada@example.com,Cardiology\n")
    assert summary(preview) == [(3, UNKNOWN_TEAM), (5, DUPLICATE)]
    assert preview.rows[1].duplicate_of == 3


def test_already_a_member_without_case():
    row = only(preview_of("dana.whitfield@ACMEHEALTH.com,no_role"))
    assert (row.verdict, row.field, row.member) == (ALREADY_MEMBER, "email", MEMBER)
    assert row.message == "dana.whitfield@ACMEHEALTH.com is already a member of the organization."


def test_already_pending_would_be_resent():
    row = only(preview_of("noor.haddad@acmehealth.com,team_admin,Oncology"))
    assert (row.verdict, row.field, row.pending) == (ALREADY_PENDING, None, INVITE)
    assert row.message == (
        "noor.haddad@acmehealth.com has a pending invitation (last sent 2026-08-11); sending would resend it."
    )
    assert (row.role, row.teams) == ("team_admin", [ONCOLOGY])  # what a resend would post


def test_already_pending_says_when_it_was_last_resent():
    resent = Invite("i3", "lee@example.com", "no_role", (), WHEN, datetime(2026, 9, 2, 8, 0, tzinfo=UTC),
                    Creator("management_key"))
    row = only(preview_of("lee@example.com", invites=[resent]))
    assert row.message == "lee@example.com has a pending invitation (last sent 2026-09-02); sending would resend it."


def test_a_team_admin_of_no_team_is_ready_with_the_forms_guidance():
    row = only(preview_of("ada@example.com,team_admin,"))
    assert (row.verdict, row.teams) == (READY, [])
    assert row.message == (
        "Ready to invite, as a team admin of no team: they will see nothing until given a team."
    )
    assert only(preview_of("ada@example.com,,", default_role="team_admin")).message.startswith("Ready to invite, as")
    assert only(preview_of("ada@example.com,no_role,")).message == "Ready to invite."


def test_duplicates_are_told_by_position_even_if_row_numbers_repeat():
    rows = [InputRow(7, "ada@example.com", "", None, ()), InputRow(7, "ADA@example.com", "", None, ())]
    preview = build_preview(rows, default_role="no_role", teams=[], members=[], invites=[])
    assert [(r.verdict, r.duplicate_of) for r in preview.rows] == [(DUPLICATE, 7), (READY, None)]


@pytest.mark.parametrize(
    ("line", "verdict"),
    [
        # invalid address beats everything
        ("@dana.whitfield@acmehealth.com,boss,Zzyzx", INVALID_EMAIL),
        # a duplicate beats member, role and team problems
        ("ada@example.com\nADA@example.com,boss,Zzyzx", DUPLICATE),
        # a member beats role and team problems and pending
        ("dana.whitfield@acmehealth.com,boss,Zzyzx", ALREADY_MEMBER),
        # a bad role beats team problems and pending
        ("noor.haddad@acmehealth.com,boss,Zzyzx", INVALID_ROLE),
        # a team problem beats pending
        ("noor.haddad@acmehealth.com,team_admin,Zzyzx", UNKNOWN_TEAM),
        ("noor.haddad@acmehealth.com,team_admin,lab operations", AMBIGUOUS_TEAM),
    ],
)
def test_one_verdict_per_row_in_order_of_precedence(line, verdict):
    member_invite = Invite("i2", "dana.whitfield@acmehealth.com", "no_role", (), WHEN, None, Creator("vital_staff"))
    preview = preview_of(line, invites=(INVITE, member_invite))
    assert preview.rows[0].verdict == verdict


def test_a_member_who_also_has_an_invite_is_a_member():
    invite = Invite("i2", "dana.whitfield@acmehealth.com", "no_role", (), WHEN, None, Creator("vital_staff"))
    row = only(preview_of("dana.whitfield@acmehealth.com", invites=[invite]))
    assert (row.verdict, row.member, row.pending) == (ALREADY_MEMBER, MEMBER, None)


# ------------------------------------------------------------------------------------------ ordering and counts

MIXED = "\n".join([
    "email,role,teams",
    "ready1@example.com,no_role,",  # 2
    "bad-address,no_role,",  # 3
    "ready2@example.com,team_admin,Cardiology",  # 4
    "noor.haddad@acmehealth.com,,",  # 5 pending
    "READY1@example.com,,",  # 6 duplicate
    "dana.whitfield@acmehealth.com,,",  # 7 member
    "ready3@example.com,boss,",  # 8 role
    "ready4@example.com,,Cardology",  # 9 unknown team
    "ready5@example.com,,Lab Operations",  # 10 ambiguous
    "ready6@example.com,,",  # 11
])


def test_problem_rows_first_then_ready_each_in_input_order():
    preview = preview_of(MIXED)
    assert summary(preview) == [
        (3, INVALID_EMAIL), (5, ALREADY_PENDING), (6, DUPLICATE), (7, ALREADY_MEMBER), (8, INVALID_ROLE),
        (9, UNKNOWN_TEAM), (10, AMBIGUOUS_TEAM), (2, READY), (4, READY), (11, READY),
    ]
    assert [r.input.number for r in preview.ready] == [2, 4, 11]
    assert [r.input.number for r in preview.pending] == [5]


def test_counts_per_verdict_every_verdict_present():
    preview = preview_of(MIXED)
    assert preview.counts == {
        INVALID_EMAIL: 1, DUPLICATE: 1, ALREADY_MEMBER: 1, INVALID_ROLE: 1, UNKNOWN_TEAM: 1,
        AMBIGUOUS_TEAM: 1, ALREADY_PENDING: 1, READY: 3,
    }
    assert list(preview.counts) == list(VERDICTS)
    empty = build_preview([], default_role="org_admin", teams=[], members=[], invites=[])
    assert (empty.rows, empty.counts) == ([], dict.fromkeys(VERDICTS, 0))


def test_verdicts_are_distinct_strings():
    assert len(set(VERDICTS)) == 8
    assert {READY, INVALID_EMAIL, UNKNOWN_TEAM, AMBIGUOUS_TEAM, INVALID_ROLE, DUPLICATE, ALREADY_MEMBER,
            ALREADY_PENDING} == set(VERDICTS)
    assert all(isinstance(v, str) for v in VERDICTS)
    assert list(VERDICT_LABELS) == list(VERDICTS)
    assert len(set(VERDICT_LABELS.values())) == 8
    assert VERDICT_LABELS[ALREADY_PENDING] == "Already invited"


# ------------------------------------------------------------------------------------------ one traversal


class OnceOnly:
    """An iterable that may be iterated once; counts the items taken."""

    def __init__(self, items):
        self._items = list(items)
        self.iterations = 0
        self.taken = 0

    def __iter__(self) -> Iterator:
        self.iterations += 1
        assert self.iterations == 1, "iterated twice"
        for item in self._items:
            self.taken += 1
            yield item


def test_members_and_invites_are_walked_once_whatever_the_number_of_rows():
    members = OnceOnly(
        [MEMBER] + [Member(f"m{i}", f"P{i}", f"p{i}@example.com", "no_role", (), WHEN) for i in range(300)]
    )
    invites = OnceOnly(
        [INVITE] + [Invite(f"i{i}", f"q{i}@example.com", "no_role", (), WHEN, None, Creator("x")) for i in range(300)]
    )
    text = "\n".join(
        [f"p{i}@example.com" for i in range(0, 300, 3)] + [f"q{i}@example.com" for i in range(0, 300, 3)]
        + [f"new{i}@example.com" for i in range(200)]
    )
    preview = preview_of(text, members=members, invites=invites)
    assert (members.iterations, members.taken) == (1, 301)
    assert (invites.iterations, invites.taken) == (1, 301)
    assert (preview.counts[ALREADY_MEMBER], preview.counts[ALREADY_PENDING], preview.counts[READY]) == (100, 100, 200)


def test_generators_work_as_members_and_invites():
    preview = preview_of(MIXED, members=(m for m in [MEMBER]), invites=(i for i in [INVITE]))
    assert preview.counts[ALREADY_MEMBER] == preview.counts[ALREADY_PENDING] == 1


def test_suggestions_for_the_same_unknown_name_are_worked_out_once(monkeypatch):
    from invite.bulk import preview

    calls = []
    real = preview.process.extract
    monkeypatch.setattr(preview.process, "extract", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    preview = preview_of("\n".join(f"p{i}@example.com,,Cardology" for i in range(50)) + "\nx@example.com,,CARDOLOGY")
    assert preview.counts[UNKNOWN_TEAM] == 51
    assert all(r.suggestions == ["Cardiology"] for r in preview.rows)
    assert calls == ["cardology"]


def test_a_formula_like_cell_is_judged_as_the_text_it_is():
    # '=' and '+' are allowed in an address's local part, so the form would send these as typed.
    preview = preview_of('"=1+ada@example.com",,\n+bob@example.com,,\n"-cmd|\' /C calc\'!A0",,\n@SUM(A1),,\n')
    assert [(r.email, r.verdict) for r in preview.rows] == [
        ("-cmd|' /C calc'!A0", INVALID_EMAIL),
        ("@SUM(A1)", INVALID_EMAIL),
        ("=1+ada@example.com", READY),
        ("+bob@example.com", READY),
    ]


def test_the_form_and_the_preview_share_one_email_rule():
    from invite.core.invite_rules import EMAIL_FILTERS, EMAIL_VALIDATORS
    from invite.invites.forms import InviteForm

    assert InviteForm.email.kwargs["filters"] is EMAIL_FILTERS
    assert InviteForm.email.kwargs["validators"] == list(EMAIL_VALIDATORS)
    assert email_errors(" ada@example.com ") == []
    assert email_errors("") == ["Enter the email address to invite."]
    assert email_errors("a" * 310 + "@example.com") == [
        "That address is longer than an email address can be.", "Enter a valid email address, like name@example.com.",
    ]


def test_the_bulk_parser_and_preview_know_nothing_of_flask_or_http():
    import ast
    from pathlib import Path

    import invite.bulk

    # The pure half of invite/bulk/; jobs, tasks and routes are where Flask and the queue come in.
    for path in (Path(invite.bulk.__file__).parent / name for name in ("__init__.py", "parser.py", "preview.py")):
        tree = ast.parse(path.read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not {m for m in imported if m.split(".")[0] in ("flask", "flask_wtf", "requests", "werkzeug")}, path
        assert "invite.junction.client" not in imported, path


# ------------------------------------------------------------------------------------------ where addresses stand


@pytest.fixture
def org() -> Iterator:
    """The sandbox over HTTP in pages of 5 (8 members, 12 invitations: both lists run over several pages),
    with an address that contains a member's and a pending one's, as a search for them also finds."""
    from invite.sandbox import SandboxServer

    server = SandboxServer(port=0, page_size=5).start()
    server.state.add_member("Not Dana", "xdana.whitfield@acmehealth.com")
    server.state.create_or_resend_invite("old.kofi.mensah@acmehealth.com", "no_role")
    try:
        yield server
    finally:
        server.stop()


def junction_for(server, key: str | None = None):
    from invite.junction import JunctionClient
    from invite.sandbox import DEMO_KEY, DEMO_ORG_ID

    return JunctionClient(base_url=server.base_url, management_key=key or DEMO_KEY, org_id=DEMO_ORG_ID, timeout=5)


def list_gets(server) -> list[tuple[str, str | None, str | None]]:
    """(list, search_query, next_cursor) of every List Members / List Invites call the sandbox received."""
    return [(entry["path"].rsplit("/", 1)[1], (entry["query"].get("search_query") or [None])[0],
             (entry["query"].get("next_cursor") or [None])[0])
            for entry in server.state.requests_log()
            if entry["method"] == "GET" and entry["path"].endswith(("/member", "/invite"))]


SHORT_LIST = ["DANA.Whitfield@acmehealth.com", "kofi.mensah@ACMEHEALTH.com", "new.person@example.com",
              "not an address", "dana.whitfield@acmehealth.com"]


def test_a_short_list_is_searched_address_by_address_not_walked_page_by_page(org):
    from invite.bulk.standing import standing_of

    with junction_for(org) as client:
        standing = standing_of(client, SHORT_LIST)
    assert standing.how == "searched"
    assert [m.email for m in standing.members] == ["dana.whitfield@acmehealth.com"]  # not xdana.…
    assert [i.email for i in standing.invites] == ["kofi.mensah@acmehealth.com"]  # not old.kofi.…
    calls = list_gets(org)
    # One first page of each list (to see whether the org is bigger than a page), then one search per valid
    # address and list, never a second page: the cost follows the list, not the org.
    assert sorted(c for c in calls if c[1] is None) == [("invite", None, None), ("member", None, None)]
    searched = sorted((kind, query) for kind, query, cursor in calls if query is not None)
    assert all(cursor is None for _, _, cursor in calls)
    # Dana is on the first page of members, so only the other two are searched there.
    assert searched == sorted([("member", "kofi.mensah@ACMEHEALTH.com"), ("member", "new.person@example.com"),
                               ("invite", "DANA.Whitfield@acmehealth.com"), ("invite", "kofi.mensah@ACMEHEALTH.com"),
                               ("invite", "new.person@example.com")])


def test_a_short_list_judged_through_the_searches_is_judged_as_through_the_walk(org):
    from invite.bulk.standing import standing_of

    rows = parse_bulk("\n".join(SHORT_LIST) + "\n")
    with junction_for(org) as client:
        searched = standing_of(client, [r.email for r in rows])
        walked = standing_of(client, [r.email for r in rows], small_list=0)
    assert walked.how == "walked" and len(walked.members) == 9 and len(walked.invites) == 13

    def verdicts(standing):
        return summary(build_preview(rows, default_role="no_role", teams=TEAMS, members=standing.members,
                                     invites=standing.invites))

    assert verdicts(searched) == verdicts(walked) == [
        (1, ALREADY_MEMBER), (2, ALREADY_PENDING), (4, INVALID_EMAIL), (5, DUPLICATE), (3, READY)]


def test_an_org_that_fits_on_one_page_is_known_whole_from_two_calls():
    from invite.bulk.standing import standing_of
    from invite.sandbox import SandboxServer

    with SandboxServer(port=0, page_size=100) as server, junction_for(server) as client:
        standing = standing_of(client, SHORT_LIST)
        assert sorted(list_gets(server)) == [("invite", None, None), ("member", None, None)]
    assert [m.email for m in standing.members] == ["dana.whitfield@acmehealth.com"]
    assert [i.email for i in standing.invites] == ["kofi.mensah@acmehealth.com"]


def test_a_long_list_walks_both_lists_once(org):
    from invite.bulk.standing import SMALL_LIST, standing_of

    emails = [f"person{i}@example.com" for i in range(SMALL_LIST + 1)]
    with junction_for(org) as client:
        standing = standing_of(client, emails)
    assert standing.how == "walked"
    calls = list_gets(org)
    assert all(query is None for _, query, _ in calls)
    assert sum(kind == "member" for kind, _, _ in calls) == 2  # 9 members in pages of 5
    assert sum(kind == "invite" for kind, _, _ in calls) == 3  # 13 invitations


def test_a_failed_search_fails_the_check_with_junctions_error(org):
    from invite.bulk.standing import standing_of
    from invite.junction import JunctionError

    with junction_for(org, key="mg_not_the_key") as client, pytest.raises(JunctionError):
        standing_of(client, SHORT_LIST)
