"""What Junction's answers mean, as plain immutable values."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

# The API's own order; its default is org_admin.
ROLES = ("org_admin", "team_admin", "no_role")


class InviteStatus(enum.Enum):
    INVITE_CREATED = "invite_created"
    INVITE_RESENT = "invite_resent"
    ALREADY_IN_ORG = "already_in_org"


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    region: str  # "us" or "eu"
    created_on: datetime | None = None


@dataclass(frozen=True)
class Org:
    id: str
    name: str


@dataclass(frozen=True)
class Creator:
    """Who created an invite, as Junction recorded it.

    type is one of "org_member", "removed_org_member", "vital_staff", "management_key".
    """

    type: str
    id: str | None = None
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Invite:
    id: str
    email: str
    role: str
    team_ids: tuple[str, ...]
    invited_at: datetime
    resent_at: datetime | None
    creator: Creator


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    email: str
    role: str
    team_ids: tuple[str, ...]
    created_on: datetime


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class ValidationIssue:
    """One entry of a FastAPI/pydantic 422 body's `detail` list.

    loc is kept exactly as sent (strings and integers); msg is Junction's wording.
    """

    loc: tuple[Any, ...]
    msg: str
    type: str = ""
    input: Any = None
    ctx: dict[str, Any] = field(default_factory=dict)
