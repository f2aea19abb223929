"""Junction Management API: a client that knows HTTP and Junction's shapes, and nothing of Flask."""

from invite.junction.client import JunctionClient
from invite.junction.errors import (
    AuthenticationError,
    ConflictError,
    JunctionError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    UnexpectedStatusError,
    UnreachableError,
    UnsendableRequestError,
    ValidationError,
)
from invite.junction.models import (
    ROLES,
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
    "ROLES",
    "AuthenticationError",
    "ConflictError",
    "Creator",
    "Invite",
    "InviteStatus",
    "JunctionClient",
    "JunctionError",
    "Member",
    "NotFoundError",
    "Org",
    "OutcomeUnknownError",
    "Page",
    "RateLimitError",
    "ServerError",
    "Team",
    "UnexpectedResponseError",
    "UnexpectedStatusError",
    "UnreachableError",
    "UnsendableRequestError",
    "ValidationError",
    "ValidationIssue",
]
