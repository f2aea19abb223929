"""The pure body parsers: defensive 422 parsing, Retry-After, datetimes and list/get shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invite.junction import InviteStatus, ValidationIssue
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
