"""The client's parsers against bodies generated from Junction's own OpenAPI schemas, not hand-picked ones.

schemathesis builds the values (its generator reads the document's schemas as they are: every creator
type of the anyOf, nulls where allowed, extra fields where the schema does not forbid them, empty and
null cursors). It generates request bodies, so each response schema is wrapped as the body of a
made-up operation; nothing is sent anywhere. Every generated body must parse, and parse to what it says.

RFC 3339 date-times get their own generator: every form the standard allows (lower-case "t"/"z", a space
for "T", offsets including "-00:00", fractions of any length, a leap second).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from junction_support import JUNCTION_OPENAPI_PATH as SPEC_PATH

from invite.core.safe_text import clean_text
from invite.junction import InviteStatus
from invite.junction.parsing import (
    parse_datetime,
    parse_invite_page,
    parse_invite_status,
    parse_member_page,
    parse_org,
    parse_team_page,
)

GENERATED = settings(max_examples=60, derandomize=True, database=None, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _bodies_of(schema_names: list[str]) -> dict[str, st.SearchStrategy[Any]]:
    if not SPEC_PATH.is_file():
        pytest.fail(f"Junction's OpenAPI document is missing: expected it at {SPEC_PATH}")
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    document = {
        "openapi": spec["openapi"],
        "info": {"title": "Junction's response schemas as request bodies", "version": "1"},
        "paths": {
            f"/{name}": {"post": {
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{name}"}}}},
                "responses": {"200": {"description": "unused"}},
            }}
            for name in schema_names
        },
        "components": {"schemas": spec["components"]["schemas"]},
    }
    generated = schemathesis.openapi.from_dict(document)
    return {name: generated[f"/{name}"]["POST"].as_strategy().map(lambda case: case.body) for name in schema_names}


BODIES = _bodies_of([
    "ClientFacingOrgInviteListResponse",
    "ClientFacingOrgMemberListResponse",
    "ClientFacingOrgTeamListResponse",
    "ClientFacingOrg",
    "OrgInviteAPICreateResponse",
])


def _as_read(value: Any) -> Any:
    """What the parsers are expected to read from a generated body: its text without control and bidi
    characters, which invite/core/safe_text.py drops from everything Junction sends (#13)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_as_read(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_read(item) for key, item in value.items()}
    return value


def _team_ids(item: dict[str, Any]) -> tuple[str, ...]:
    return tuple(binding["team_id"] for binding in item["team_role_bindings"] or ())


def _run(strategy: st.SearchStrategy[Any], check: Callable[[Any], None]) -> None:
    GENERATED(given(strategy)(check))()


def test_generated_invite_lists_parse_whole_with_every_creator_type_nulls_extras_and_cursors():
    seen: set[str] = set()

    def check(body: dict[str, Any]) -> None:
        page = parse_invite_page(body)
        body = _as_read(body)
        assert page.next_cursor == (body["next_cursor"] or None)
        assert len(page.items) == len(body["invites"])
        for invite, item in zip(page.items, body["invites"], strict=True):
            assert (invite.id, invite.email, invite.role) == (item["id"], item["email"], item["role"])
            assert invite.team_ids == _team_ids(item)
            assert invite.invited_at.tzinfo is not None
            assert (invite.resent_at is None) == (item["resent_at"] is None)
            creator = item["creator"]
            assert invite.creator.type == creator["type"]
            if isinstance(creator.get("id"), str):
                assert invite.creator.id == creator["id"]
            seen.add(f"creator:{creator['type']}")
            seen.add("resent_at:null" if item["resent_at"] is None else "resent_at:set")
            seen.add("bindings:null" if item["team_role_bindings"] is None else "bindings:list")
            if set(item) - {"id", "email", "invited_at", "resent_at", "creator", "role", "team_role_bindings"}:
                seen.add("extra fields")
        seen.add({None: "cursor:null", "": "cursor:empty"}.get(body["next_cursor"], "cursor:set"))

    _run(BODIES["ClientFacingOrgInviteListResponse"], check)
    creators = {"org_member", "removed_org_member", "vital_staff", "management_key"}
    assert {f"creator:{kind}" for kind in creators} <= seen
    assert {"resent_at:null", "resent_at:set", "bindings:null", "bindings:list", "extra fields",
            "cursor:null", "cursor:empty", "cursor:set"} <= seen


def test_generated_member_lists_parse_whole():
    def check(body: dict[str, Any]) -> None:
        page = parse_member_page(body)
        body = _as_read(body)
        assert page.next_cursor == (body["next_cursor"] or None)
        for member, item in zip(page.items, body["members"], strict=True):
            assert (member.id, member.name, member.email, member.role) == (
                item["id"], item["name"], item["email"], item["role"])
            assert member.team_ids == _team_ids(item)
            assert member.created_on.tzinfo is not None

    _run(BODIES["ClientFacingOrgMemberListResponse"], check)


def test_generated_team_lists_parse_whole():
    def check(body: dict[str, Any]) -> None:
        page = parse_team_page(body)
        body = _as_read(body)
        assert page.next_cursor == (body["next_cursor"] or None)
        for team, item in zip(page.items, body["teams"], strict=True):
            assert (team.id, team.name, team.region) == (item["id"], item["name"], item["region"])
            assert team.created_on is not None and team.created_on.tzinfo is not None

    _run(BODIES["ClientFacingOrgTeamListResponse"], check)


def test_generated_org_and_invite_status_parse():
    def check_org(body: dict[str, Any]) -> None:
        org = parse_org(body)
        body = _as_read(body)
        assert (org.id, org.name) == (body["id"], body["name"])

    def check_status(body: dict[str, Any]) -> None:
        assert parse_invite_status(body) is InviteStatus(body["status"])

    _run(BODIES["ClientFacingOrg"], check_org)
    _run(BODIES["OrgInviteAPICreateResponse"], check_status)


# --------------------------------------------------------------------------------------- RFC 3339


@st.composite
def rfc3339(draw: st.DrawFn) -> tuple[str, datetime]:
    """An RFC 3339 date-time in any of its allowed spellings, with the moment it names."""
    moment = draw(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2199, 12, 30)))
    leap = draw(st.booleans()) and draw(st.booleans())
    digits = draw(st.integers(min_value=0, max_value=12))
    fraction = draw(st.text("0123456789", min_size=digits, max_size=digits))
    offset_minutes = draw(st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59))
    zulu = draw(st.sampled_from(["Z", "z", "+00:00", "-00:00", None]))
    separator = draw(st.sampled_from(["T", "t", " "]))

    second = 60 if leap else moment.second
    text = f"{moment:%Y-%m-%d}{separator}{moment:%H:%M}:{second:02d}" + (f".{fraction}" if fraction else "")
    if zulu is not None:
        text += zulu
        zone = UTC
    else:
        sign = "-" if offset_minutes < 0 else "+"
        hours, minutes = divmod(abs(offset_minutes), 60)
        text += f"{sign}{hours:02d}:{minutes:02d}"
        zone = timezone(timedelta(minutes=offset_minutes))
    if leap:
        expected = moment.replace(second=59, microsecond=999_999, tzinfo=zone)
    else:
        expected = moment.replace(microsecond=int((fraction + "000000")[:6]), tzinfo=zone)
    return text, expected


@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(rfc3339())
def test_every_rfc3339_spelling_parses_to_the_moment_it_names(case):
    text, expected = case
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-08-19t12:00:00z", datetime(2026, 8, 19, 12, tzinfo=UTC)),
        ("2026-08-19T12:00:00.5z", datetime(2026, 8, 19, 12, 0, 0, 500_000, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
        ("2016-12-31t23:59:60.25-00:00", datetime(2016, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
        ("1990-12-31T15:59:60-08:00", datetime(1990, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
    ],
)
def test_rfc3339_examples(text, expected):
    assert parse_datetime(text) == expected


@pytest.mark.parametrize("text", ["2026-08-19T12:60:00Z", "2026-08-19T24:00:61Z", "2026-13-01T00:00:00Z",
                                  "2026-08-19T12:00:00zz"])
def test_what_rfc3339_does_not_allow_is_still_refused(text):
    with pytest.raises(ValueError):
        parse_datetime(text)
