"""The command line's exit codes: what a script may rely on (documented in the README and `invite --help`)."""

from __future__ import annotations

from invite.junction import (
    AuthenticationError,
    ConflictError,
    JunctionError,
    NotFoundError,
    ValidationError,
)

DONE = 0  # sent, sent again, already a member, revoked, listed
NOT_DONE = 1  # not sent: validation, conflict, nothing to act on, declined
USAGE = 2  # Click's own code for a command line it cannot parse; also a missing --as
UNKNOWN = 3  # Junction may or may not have acted: look before trying again
CONFIGURATION = 4  # the configuration is wrong, or Junction rejected the key or the org
UNAVAILABLE = 5  # Junction unreachable, failing or rate limited: try again later

EXPLAINED = f"""\b
Exit codes:
  {DONE}  sent, sent again, already a member, revoked, done
  {NOT_DONE}  not sent or not done (validation, conflict, nothing to act on)
  {USAGE}  usage: a bad command line, or no --as / INVITE_ACTOR
  {UNKNOWN}  outcome unknown: Junction may or may not have acted
  {CONFIGURATION}  configuration problem, or Junction rejected the key or the org id
  {UNAVAILABLE}  Junction unavailable or rate limited (the message says how long to wait)"""

# An audit row's outcome_kind (see invite.storage.Action) to the exit code it ends the command with.
_BY_KIND = {
    "invite_created": DONE,
    "invite_resent": DONE,
    "already_in_org": DONE,
    "confirmed_pending": DONE,
    "revoked": DONE,
    "already_gone": DONE,  # what was asked for is true: no pending invitation
    "validation_error": NOT_DONE,
    "conflict": NOT_DONE,
    "rejected": NOT_DONE,
    "invalid_id": NOT_DONE,
    "key_rejected": CONFIGURATION,
    "not_found": CONFIGURATION,  # a send's 404 means Junction does not know the org
    "rate_limited": UNAVAILABLE,
    "unreachable": UNAVAILABLE,
    "held_back": UNAVAILABLE,  # the dashboard's send limits: the message says when it can go
}


def for_outcome(kind: str) -> int:
    return _BY_KIND.get(kind, UNKNOWN)


def for_lookup(error: JunctionError) -> int:
    """A failed read (a list, a lookup before acting): nothing was changed, so never UNKNOWN."""
    if isinstance(error, AuthenticationError | NotFoundError):
        return CONFIGURATION
    if isinstance(error, ValidationError | ConflictError):
        return NOT_DONE
    return UNAVAILABLE
