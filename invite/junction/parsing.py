"""Pure functions from Junction's JSON bodies (already decoded) to the values in models.py.

Nothing here does I/O. The body parsers raise ShapeError, naming the field that did not match the
OpenAPI document (never echoing its value); the client turns that into UnexpectedResponseError.
They are lenient about extra fields and strict about the fields the dashboard relies on. Every string
read from a body is cleaned of control and bidi-control characters here (invite.core.safe_text), so no page,
CSV cell, query or database row downstream ever sees a NUL or a U+202E from Junction. (A 422's
messages are kept verbatim for field_errors; they reach pages only through the audit row, which
storage cleans the same way.)
`parse_validation_issues`, `error_detail` and `parse_retry_after` never raise.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from invite.core.safe_text import clean_text
from invite.junction.models import (
    Creator,
    Invite,
    InviteStatus,
    Member,
    Org,
    Page,
    Team,
    ValidationIssue,
)

__all__ = [
    "DETAIL_MAX_CHARS",
    "GENERIC_ISSUE_MSG",
    "ShapeError",
    "error_detail",
    "parse_datetime",
    "parse_invite",
    "parse_invite_page",
    "parse_invite_status",
    "parse_member",
    "parse_member_page",
    "parse_org",
    "parse_retry_after",
    "parse_team",
    "parse_team_page",
    "parse_validation_issues",
]

DETAIL_MAX_CHARS = 300
# How much of a non-string 422 entry is shown when it has to become a message.
_BUILT_MSG_MAX_CHARS = 300
GENERIC_ISSUE_MSG = "Junction rejected the request as invalid."

T = TypeVar("T")


class ShapeError(ValueError):
    """A body does not have the shape the OpenAPI document promises; `where` names the field."""

    def __init__(self, where: str, expected: str):
        super().__init__(f"{where}: expected {expected}")
        self.where = where
        self.expected = expected


# ---------------------------------------------------------------- small typed getters


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ShapeError(where, "an object")
    return value


def _str(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise ShapeError(f"{where}.{key}", "a string")
    return clean_text(value)


def _opt_str(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ShapeError(f"{where}.{key}", "a string or null")
    return clean_text(value)


# RFC 3339's seconds run to 60 (a leap second); Python's datetime stops at 59.
_LEAP_SECOND = re.compile(r"(?<=[T ]\d\d:\d\d):60(?:[.,]\d+)?(?=Z|[+-]|$)")


def parse_datetime(value: Any, where: str = "value") -> datetime:
    """An RFC 3339 / ISO-8601 date-time to an aware datetime; naive means UTC.

    Everything RFC 3339 allows is read: "T" or "t" (or a space), "Z" or "z", numeric offsets, fractions
    of any length (beyond microseconds they are cut), and a leap second, read as the last microsecond
    of its minute.
    """
    if not isinstance(value, str):
        raise ShapeError(where, "an ISO-8601 date-time string")
    # Upper-casing touches only the letters RFC 3339 lets be lower-case: the "T" separator and the "Z".
    text = _LEAP_SECOND.sub(":59.999999", value.strip().upper(), count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ShapeError(where, "an ISO-8601 date-time string") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _dt(obj: Mapping[str, Any], key: str, where: str) -> datetime:
    return parse_datetime(obj.get(key), f"{where}.{key}")


def _opt_dt(obj: Mapping[str, Any], key: str, where: str) -> datetime | None:
    value = obj.get(key)
    if value is None:
        return None
    return parse_datetime(value, f"{where}.{key}")


def _team_ids(obj: Mapping[str, Any], where: str) -> tuple[str, ...]:
    """`team_role_bindings`: a list of {"team_id": ...} or null (a missing key is read as null)."""
    bindings = obj.get("team_role_bindings")
    if bindings is None:
        return ()
    if not isinstance(bindings, list):
        raise ShapeError(f"{where}.team_role_bindings", "a list or null")
    ids = []
    for i, binding in enumerate(bindings):
        here = f"{where}.team_role_bindings[{i}]"
        ids.append(_str(_obj(binding, here), "team_id", here))
    return tuple(ids)


# ---------------------------------------------------------------- models


def parse_invite_status(body: Any) -> InviteStatus:
    """OrgInviteAPICreateResponse: {"status": "invite_created" | "invite_resent" | "already_in_org"}."""
    status = _str(_obj(body, "body"), "status", "body")
    try:
        return InviteStatus(status)
    except ValueError:
        raise ShapeError("body.status", "one of " + ", ".join(s.value for s in InviteStatus)) from None


def parse_creator(value: Any, where: str = "creator") -> Creator:
    """One of CreatorOrgMember, CreatorOrgMemberRemoved, CreatorVitalStaff, CreatorManagementKey.

    The type is passed through (a new kind of creator should not break the invite list); id, name and
    email are kept when they are strings.
    """
    obj = _obj(value, where)
    kind = _str(obj, "type", where)

    def optional(key: str) -> str | None:
        item = obj.get(key)
        return clean_text(item) if isinstance(item, str) else None

    return Creator(type=kind, id=optional("id"), name=optional("name"), email=optional("email"))


def parse_invite(value: Any, where: str = "invite") -> Invite:
    obj = _obj(value, where)
    return Invite(
        id=_str(obj, "id", where),
        email=_str(obj, "email", where),
        role=_str(obj, "role", where),
        team_ids=_team_ids(obj, where),
        invited_at=_dt(obj, "invited_at", where),
        resent_at=_opt_dt(obj, "resent_at", where),
        creator=parse_creator(obj.get("creator"), f"{where}.creator"),
    )


def parse_team(value: Any, where: str = "team") -> Team:
    obj = _obj(value, where)
    return Team(
        id=_str(obj, "id", where),
        name=_str(obj, "name", where),
        region=_str(obj, "region", where),
        created_on=_opt_dt(obj, "created_on", where),
    )


def parse_member(value: Any, where: str = "member") -> Member:
    obj = _obj(value, where)
    return Member(
        id=_str(obj, "id", where),
        name=_str(obj, "name", where),
        email=_str(obj, "email", where),
        role=_str(obj, "role", where),
        team_ids=_team_ids(obj, where),
        created_on=_dt(obj, "created_on", where),
    )


def parse_org(body: Any) -> Org:
    obj = _obj(body, "body")
    return Org(id=_str(obj, "id", "body"), name=_str(obj, "name", "body"))


def _page(body: Any, key: str, item: Callable[[Any, str], T]) -> Page[T]:
    obj = _obj(body, "body")
    items = obj.get(key)
    if not isinstance(items, list):
        raise ShapeError(f"body.{key}", "a list")
    cursor = _opt_str(obj, "next_cursor", "body")
    return Page(
        items=tuple(item(entry, f"body.{key}[{i}]") for i, entry in enumerate(items)),
        # An empty cursor cannot be followed; read it as the end of the list.
        next_cursor=cursor or None,
    )


def parse_invite_page(body: Any) -> Page[Invite]:
    """ClientFacingOrgInviteListResponse."""
    return _page(body, "invites", parse_invite)


def parse_team_page(body: Any) -> Page[Team]:
    """ClientFacingOrgTeamListResponse."""
    return _page(body, "teams", parse_team)


def parse_member_page(body: Any) -> Page[Member]:
    """ClientFacingOrgMemberListResponse."""
    return _page(body, "members", parse_member)


# ---------------------------------------------------------------- error bodies (never raise)


def _short(value: Any, limit: int = _BUILT_MSG_MAX_CHARS) -> str:
    """A compact, bounded text for any value; never raises."""
    try:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    except Exception:  # deep nesting, odd floats, anything
        text = type(value).__name__
    text = " ".join(clean_text(text).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def error_detail(body: Any) -> str | None:
    """The JSON body's "detail" when it is a non-blank string, truncated; otherwise None."""
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str) and detail.strip():
        return _short(detail, DETAIL_MAX_CHARS)
    return None


def _loc_part(part: Any) -> Any:
    if isinstance(part, str) or (isinstance(part, int) and not isinstance(part, bool)):
        return part
    return _short(part, 80)


def _loc(value: Any) -> tuple[Any, ...]:
    if isinstance(value, list | tuple):
        return tuple(_loc_part(p) for p in value)
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return (value,)
    return ()


def _issue(entry: Any) -> ValidationIssue:
    if isinstance(entry, str):
        return ValidationIssue(loc=(), msg=entry or GENERIC_ISSUE_MSG)
    if not isinstance(entry, dict):
        return ValidationIssue(loc=(), msg=_short(entry) or GENERIC_ISSUE_MSG, input=entry)
    msg = entry.get("msg")
    if not isinstance(msg, str):
        # Build a message from what is there: a non-string msg, else the error type, else the entry.
        if msg is not None:
            msg = _short(msg)
        elif isinstance(entry.get("type"), str) and entry["type"]:
            msg = entry["type"]
        else:
            rest = {k: v for k, v in entry.items() if k not in ("loc", "input", "ctx")}
            msg = _short(rest) if rest else GENERIC_ISSUE_MSG
    kind = entry.get("type")
    ctx = entry.get("ctx")
    return ValidationIssue(
        loc=_loc(entry.get("loc")),
        msg=msg,
        type=kind if isinstance(kind, str) else "",
        input=entry.get("input"),
        ctx=dict(ctx) if isinstance(ctx, dict) else {},
    )


def parse_validation_issues(body: Any) -> tuple[ValidationIssue, ...]:
    """A 422 body (any JSON value; None when it was not JSON at all) to at least one issue.

    {"detail": [...]} gives one issue per entry, in order, loc kept as sent (strings and ints).
    Entries that are not objects or lack loc/msg still become issues (loc=(), msg built from what is
    there). A string detail becomes one issue; anything unrecognisable becomes one generic issue.
    Never raises.
    """
    try:
        detail = body.get("detail", body) if isinstance(body, dict) else body
        if isinstance(detail, list):
            issues = tuple(_issue(entry) for entry in detail)
        elif isinstance(detail, str | dict) and detail:
            issues = (_issue(detail),)
        else:
            issues = ()
        return issues or (ValidationIssue(loc=(), msg=GENERIC_ISSUE_MSG),)
    except Exception:
        return (ValidationIssue(loc=(), msg=GENERIC_ISSUE_MSG),)


_DELAY_SECONDS = re.compile(r"\d+(\.\d+)?")


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds to wait: delay-seconds or an HTTP date (relative to now, floored at 0).

    None when the header is absent or unreadable. Never raises.
    """
    if value is None:
        return None
    try:
        text = value.strip()
        if _DELAY_SECONDS.fullmatch(text):
            seconds = float(text)
            return seconds if math.isfinite(seconds) else None
        when = parsedate_to_datetime(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        current = now or datetime.now(UTC)
        return max(0.0, (when - current).total_seconds())
    except Exception:
        return None
