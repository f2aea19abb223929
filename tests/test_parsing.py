"""The pure body parsers: defensive 422 parsing, Retry-After, datetimes and list/get shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invite.junction import Creator, Invite, InviteStatus, Member, Org, Team, ValidationIssue
from invite.junction.client import parse_validation_issues as reexported
from invite.junction.parsing import (
    GENERIC_ISSUE_MSG,
    ShapeError,
    error_detail,
    parse_datetime,
    parse_invite,
    parse_invite_page,
    parse_invite_status,
    parse_member_page,
    parse_org,
    parse_retry_after,
    parse_team_page,
    parse_validation_issues,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)
# Bodies shaped like a 422 in every way that can go wrong: odd "detail" values and odd entries.
detail_like = st.one_of(
    json_values,
    st.fixed_dictionaries({"detail": json_values}),
    st.fixed_dictionaries({"detail": st.lists(json_values | st.dictionaries(
        st.sampled_from(["loc", "msg", "type", "input", "ctx"]), json_values), max_size=6)}),
)

loc_part = st.text(max_size=15) | st.integers(min_value=-(2**63), max_value=2**63)
well_formed_entry = st.fixed_dictionaries(
    {"loc": st.lists(loc_part, max_size=5), "msg": st.text(max_size=200)},
    optional={"type": st.text(max_size=20), "input": json_values, "ctx": st.dictionaries(st.text(max_size=5),
                                                                                          json_values)},
)


@settings(max_examples=300, deadline=None)
@given(detail_like)
def test_validation_issues_never_raise_and_never_empty(body):
    issues = parse_validation_issues(body)
    assert isinstance(issues, tuple) and len(issues) >= 1
    for issue in issues:
        assert isinstance(issue, ValidationIssue)
        assert isinstance(issue.loc, tuple)
        assert isinstance(issue.msg, str)
        assert isinstance(issue.type, str)
        assert isinstance(issue.ctx, dict)


@settings(max_examples=200, deadline=None)
@given(st.lists(well_formed_entry, min_size=1, max_size=8))
def test_well_formed_detail_keeps_every_entry(entries):
    issues = parse_validation_issues({"detail": entries})
    assert len(issues) == len(entries)
    for issue, entry in zip(issues, entries, strict=True):
        assert issue.loc == tuple(entry["loc"])
        assert [type(p) for p in issue.loc] == [type(p) for p in entry["loc"]]
        assert issue.msg == entry["msg"]
        assert issue.type == entry.get("type", "")
        assert issue.input == entry.get("input")
        assert issue.ctx == entry.get("ctx", {})


def test_validation_issues_defensive_cases():
    assert parse_validation_issues({"detail": "Email domain is blocked"}) == (
        ValidationIssue(loc=(), msg="Email domain is blocked"),
    )
    generic = (ValidationIssue(loc=(), msg=GENERIC_ISSUE_MSG),)
    for body in (None, {}, {"detail": None}, {"detail": []}, {"detail": ""}, 3, True, [], ""):
        assert parse_validation_issues(body) == generic, body
    mixed = parse_validation_issues({"detail": [
        "plain text",
        42,
        {"loc": ["body", "email"]},  # no msg: built from the type, else from what is there
        {"loc": ["body", "role"], "type": "literal_error"},
        {"msg": "no loc"},
        {"loc": "body", "msg": "loc as a string"},
        {"loc": ["body", None, 1.5, True], "msg": "odd loc parts"},
        {"msg": ["not", "a", "string"]},
        None,
    ]})
    assert [(i.loc, i.msg) for i in mixed] == [
        ((), "plain text"),
        ((), "42"),
        (("body", "email"), GENERIC_ISSUE_MSG),
        (("body", "role"), "literal_error"),
        ((), "no loc"),
        (("body",), "loc as a string"),
        (("body", "null", "1.5", "true"), "odd loc parts"),
        ((), '["not", "a", "string"]'),
        ((), "null"),
    ]
    assert reexported is parse_validation_issues


def test_validation_issue_built_messages_are_bounded():
    [issue] = parse_validation_issues({"detail": [{"what": "x" * 5000}]})
    assert len(issue.msg) <= 300 and issue.loc == ()
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    assert len(parse_validation_issues({"detail": [deep]})) == 1


def test_error_detail():
    assert error_detail({"detail": "Conflict"}) == "Conflict"
    assert error_detail({"detail": "  "}) is None
    assert error_detail({"detail": ["x"]}) is None
    assert error_detail(["detail"]) is None
    assert error_detail(None) is None
    long = error_detail({"detail": "word " * 200})
    assert long is not None and len(long) == 300 and long.endswith("…")


NOW = datetime(2026, 8, 19, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("0", 0.0),
        ("1.5", 1.5),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        (format_datetime(NOW - timedelta(hours=1), usegmt=True), 0.0),
        ("Wed, 19 Aug 2026 12:01:00 -0000", 60.0),
        (None, None),
        ("", None),
        ("-1", None),
        ("soon", None),
        ("1e9", None),
        ("Wed, 99 Foo 2026", None),
    ],
)
def test_retry_after(value, expected):
    assert parse_retry_after(value, now=NOW) == expected


def test_parse_datetime():
    assert parse_datetime("2026-08-19T12:00:00Z") == NOW
    assert parse_datetime("2026-08-19T14:00:00+02:00") == NOW
    assert parse_datetime("2026-08-19T12:00:00") == NOW  # naive is read as UTC
    assert parse_datetime("2026-08-19T12:00:00.123456789Z").microsecond == 123456
    assert parse_datetime("2026-08-19T14:00:00+02:00").utcoffset() == timedelta(hours=2)
    for bad in ("yesterday", "", 17, None):
        with pytest.raises(ShapeError):
            parse_datetime(bad)


def test_invite_status():
    for status in InviteStatus:
        assert parse_invite_status({"status": status.value}) is status
    for bad in ({"status": "INVITE_CREATED"}, {}, None, "invite_created", {"status": 1}):
        with pytest.raises(ShapeError):
            parse_invite_status(bad)


def test_invite_page_and_creator_variants():
    body = {
        "invites": [{
            "id": "i1", "email": "a@example.com", "invited_at": "2026-08-19T12:00:00Z", "resent_at": None,
            "creator": {"type": "org_member", "id": "m1", "name": "Bo", "email": "bo@example.com",
                        "avatar": ""},
            "role": "team_admin", "team_role_bindings": [{"team_id": "t1"}, {"team_id": "t2", "x": 1}],
            "unexpected": {"nested": True},
        }],
        "next_cursor": "",
    }
    page = parse_invite_page(body)
    assert page.next_cursor is None  # an empty cursor cannot be followed
    [invite] = page.items
    assert invite.team_ids == ("t1", "t2")
    assert invite.invited_at == NOW and invite.resent_at is None
    assert (invite.creator.type, invite.creator.id, invite.creator.name) == ("org_member", "m1", "Bo")
    removed = parse_invite(body["invites"][0] | {"creator": {"type": "removed_org_member", "id": None}})
    assert removed.creator.type == "removed_org_member" and removed.creator.id is None


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"email": None}, "invite.email"),
        ({"creator": None}, "invite.creator"),
        ({"creator": {"id": "x"}}, "invite.creator.type"),
        ({"team_role_bindings": [{"id": "t"}]}, "invite.team_role_bindings[0].team_id"),
        ({"team_role_bindings": "t1"}, "invite.team_role_bindings"),
        ({"resent_at": "later"}, "invite.resent_at"),
    ],
)
def test_invite_shape_errors_name_the_field(change, where):
    base = {"id": "i1", "email": "a@example.com", "invited_at": "2026-08-19T12:00:00Z", "resent_at": None,
            "creator": {"type": "management_key"}, "role": "no_role", "team_role_bindings": None}
    with pytest.raises(ShapeError) as info:
        parse_invite(base | change)
    assert info.value.where == where


def test_team_member_org_pages():
    teams = parse_team_page({"teams": [{"id": "t", "name": "T", "region": "eu",
                                        "created_on": "2025-01-01T00:00:00Z"}], "next_cursor": "c"})
    assert teams.items[0].region == "eu" and teams.next_cursor == "c"
    member = {"id": "m", "name": "M", "email": "m@example.com", "role": "org_admin",
              "created_on": "2025-01-01T00:00:00Z", "team_role_bindings": [{"team_id": "t"}]}
    members = parse_member_page({"members": [member], "next_cursor": None})
    assert members.items[0].team_ids == ("t",)
    assert parse_org({"id": "o", "name": "Acme", "expires_at": None}).name == "Acme"
    for bad in ({"teams": {}, "next_cursor": None}, {"next_cursor": None}, None):
        with pytest.raises(ShapeError):
            parse_team_page(bad)
    with pytest.raises(ShapeError):
        parse_org({"id": "o"})


# --- every field lands where the pages read it --------------------------------------------------------

MEMBER = {"id": "m-7", "name": "Grace Hopper", "email": "grace@example.com", "role": "team_admin",
          "created_on": "2025-01-02T03:04:05Z", "team_role_bindings": [{"team_id": "t1"}, {"team_id": "t2"}]}
INVITE = {"id": "i-9", "email": "new@example.com", "role": "team_admin", "invited_at": "2026-08-19T12:00:00Z",
          "resent_at": "2026-08-19T13:30:00+00:00", "team_role_bindings": [{"team_id": "t1"}],
          "creator": {"type": "management_key"}}


def test_a_member_keeps_every_field_the_members_page_shows():
    [member] = parse_member_page({"members": [MEMBER], "next_cursor": "next"}).items
    assert member == Member(id="m-7", name="Grace Hopper", email="grace@example.com", role="team_admin",
                            team_ids=("t1", "t2"), created_on=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))


def test_an_invite_keeps_every_field_the_invitations_page_shows():
    assert parse_invite(INVITE) == Invite(
        id="i-9", email="new@example.com", role="team_admin", team_ids=("t1",), invited_at=NOW,
        resent_at=NOW + timedelta(minutes=90), creator=Creator(type="management_key"))


def test_a_team_keeps_its_id_name_region_and_age():
    page = parse_team_page({"teams": [{"id": "t1", "name": "Cardiology", "region": "us", "created_on": None},
                                      {"id": "t2", "name": "Sleep Lab", "region": "eu",
                                       "created_on": "2025-01-01T00:00:00Z"}], "next_cursor": None})
    assert page.items == (Team(id="t1", name="Cardiology", region="us", created_on=None),
                          Team(id="t2", name="Sleep Lab", region="eu",
                               created_on=datetime(2025, 1, 1, tzinfo=UTC)))
    assert page.next_cursor is None


def test_the_org_keeps_its_id_and_name():
    assert parse_org({"id": "896bac9f", "name": "Acme Health"}) == Org(id="896bac9f", name="Acme Health")


def test_a_creator_keeps_the_strings_it_has_and_drops_the_rest():
    creator = parse_invite(INVITE | {"creator": {"type": "org_member", "id": "m1", "name": "Bo",
                                                  "email": "bo@example.com"}}).creator
    assert creator == Creator(type="org_member", id="m1", name="Bo", email="bo@example.com")
    odd = parse_invite(INVITE | {"creator": {"type": "vital_staff", "id": 5, "name": None, "email": ["x"]}}).creator
    assert odd == Creator(type="vital_staff", id=None, name=None, email=None)


# --- what does not match names the field, for the log ------------------------------------------------

@pytest.mark.parametrize(("body", "where", "expected"), [
    ({"members": [MEMBER, MEMBER | {"id": 7}]}, "body.members[1].id", "a string"),
    ({"members": [MEMBER | {"name": None}]}, "body.members[0].name", "a string"),
    ({"members": [MEMBER | {"role": 1}]}, "body.members[0].role", "a string"),
    ({"members": [MEMBER | {"created_on": None}]}, "body.members[0].created_on", "an ISO-8601 date-time string"),
    ({"members": [MEMBER | {"team_role_bindings": ["t1"]}]}, "body.members[0].team_role_bindings[0]",
     "an object"),
    ({"members": [MEMBER], "next_cursor": 5}, "body.next_cursor", "a string or null"),
    ({"members": None}, "body.members", "a list"),
    ([MEMBER], "body", "an object"),
])
def test_member_page_shape_errors_name_the_field_and_what_was_expected(body, where, expected):
    with pytest.raises(ShapeError) as info:
        parse_member_page(body)
    assert (info.value.where, info.value.expected) == (where, expected)
    assert str(info.value) == f"{where}: expected {expected}"


@pytest.mark.parametrize(("change", "where"), [
    ({"id": None}, "invite.id"), ({"role": None}, "invite.role"), ({"invited_at": None}, "invite.invited_at"),
])
def test_every_invite_field_the_dashboard_relies_on_is_checked(change, where):
    with pytest.raises(ShapeError) as info:
        parse_invite(INVITE | change)
    assert info.value.where == where


@pytest.mark.parametrize(("team", "where"), [
    ({"name": "T", "region": "eu"}, "body.teams[0].id"), ({"id": "t", "region": "eu"}, "body.teams[0].name"),
    ({"id": "t", "name": "T"}, "body.teams[0].region"),
    ({"id": "t", "name": "T", "region": "eu", "created_on": "soon"}, "body.teams[0].created_on"),
])
def test_team_shape_errors_name_the_field(team, where):
    with pytest.raises(ShapeError) as info:
        parse_team_page({"teams": [team]})
    assert info.value.where == where


def test_an_unknown_invite_status_lists_the_ones_we_know():
    with pytest.raises(ShapeError) as info:
        parse_invite_status({"status": "invite_queued"})
    assert info.value.where == "body.status"
    assert info.value.expected == "one of invite_created, invite_resent, already_in_org"
    with pytest.raises(ShapeError) as missing:
        parse_invite_status({})
    assert str(missing.value) == "body.status: expected a string"
    with pytest.raises(ShapeError, match=r"^value: expected an ISO-8601 date-time string$"):
        parse_datetime("yesterday")


# --- 422 bodies without the usual wrapper ---------------------------------------------------------------

def test_a_bare_list_of_errors_is_read_like_detail():
    issues = parse_validation_issues([{"loc": ["body", "email"], "msg": "value is not a valid email address",
                                       "type": "value_error"}])
    assert issues == (ValidationIssue(loc=("body", "email"), msg="value is not a valid email address",
                                      type="value_error"),)


def test_a_single_error_object_without_detail_keeps_its_field_and_words():
    [issue] = parse_validation_issues({"loc": ["body", "role"], "msg": "Input should be 'no_role'",
                                       "type": "literal_error", "input": "boss", "ctx": {"expected": "'no_role'"}})
    assert issue == ValidationIssue(loc=("body", "role"), msg="Input should be 'no_role'", type="literal_error",
                                    input="boss", ctx={"expected": "'no_role'"})


def test_a_body_without_detail_or_msg_shows_what_junction_did_send():
    [issue] = parse_validation_issues({"message": "Email   domain  is blocked", "loc": ["body"], "input": "x"})
    assert issue.loc == ("body",)
    assert issue.msg == '{"message": "Email domain is blocked"}'  # loc and input are shown elsewhere


def test_an_entry_without_a_message_falls_back_to_its_type_then_to_the_generic_words():
    issues = parse_validation_issues({"detail": [{"loc": ["body", "email"], "type": "missing", "ctx": "junk"},
                                                 {"loc": ["body", "email"], "input": "x", "ctx": {}},
                                                 {"loc": ["body"], "type": 3, "msg": {"text": "odd"}}]})
    assert [(i.msg, i.type, i.ctx) for i in issues] == [
        ("missing", "missing", {}), (GENERIC_ISSUE_MSG, "", {}), ('{"text": "odd"}', "", {})]
    assert issues[1].input == "x"


def test_built_messages_are_cut_at_300_characters_with_an_ellipsis():
    [issue] = parse_validation_issues({"detail": [{"what": "word " * 100}]})
    assert len(issue.msg) == 300 and issue.msg.endswith("…") and issue.msg.startswith('{"what": "word word')
    [spaced] = parse_validation_issues({"detail": [{"wha": "word " * 100}]})
    assert spaced.msg.endswith(" word…")  # the cut falls after a space: the ellipsis follows the word


def test_odd_loc_parts_stay_readable():
    [issue] = parse_validation_issues({"detail": [{"loc": ["body", {"k": "v" * 200}], "msg": "m"}]})
    assert issue.loc[0] == "body" and len(issue.loc[1]) == 80 and issue.loc[1].endswith("…")
    [single] = parse_validation_issues({"detail": [{"loc": 3, "msg": "m"}]})
    assert single.loc == (3,)
    [flag] = parse_validation_issues({"detail": [{"loc": True, "msg": "m"}]})
    assert flag.loc == ()


def test_a_retry_after_too_large_to_wait_for_is_ignored_and_a_date_without_zone_is_utc():
    assert parse_retry_after("9" * 400, now=NOW) is None
    assert parse_retry_after("Wed, 19 Aug 2026 12:02:00", now=NOW) == 120.0
    assert 0 < parse_retry_after(format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)) <= 3600


@pytest.mark.parametrize(("parse", "key"), [
    (parse_member_page, "members"), (parse_team_page, "teams"), (parse_invite_page, "invites")])
def test_a_list_entry_that_is_not_an_object_is_named_by_its_position(parse, key):
    with pytest.raises(ShapeError) as info:
        parse({key: [7]})
    assert (info.value.where, info.value.expected) == (f"body.{key}[0]", "an object")


def test_org_and_status_shape_errors_name_the_field():
    for body, where in ((None, "body"), ({"name": "Acme"}, "body.id"), ({"id": "o"}, "body.name")):
        with pytest.raises(ShapeError) as info:
            parse_org(body)
        assert info.value.where == where
    with pytest.raises(ShapeError) as status:
        parse_invite_status(["invite_created"])
    assert (status.value.where, status.value.expected) == ("body", "an object")
    with pytest.raises(ShapeError) as member:
        parse_member_page({"members": [MEMBER | {"email": None}]})
    assert member.value.where == "body.members[0].email"
    with pytest.raises(ShapeError) as bindings:
        parse_invite(INVITE | {"team_role_bindings": "t1"})
    assert str(bindings.value) == "invite.team_role_bindings: expected a list or null"


def test_messages_built_from_odd_entries_keep_their_own_characters_and_value():
    [issue] = parse_validation_issues({"detail": [{"msg": ["Adresse ungültig", "邮箱无效"]}]})
    assert issue.msg == '["Adresse ungültig", "邮箱无效"]'
    [number] = parse_validation_issues({"detail": [42]})
    assert (number.msg, number.input) == ("42", 42)


def test_a_detail_of_exactly_the_limit_is_shown_whole():
    assert error_detail({"detail": "x" * 300}) == "x" * 300
