"""The command line's exit codes: what a script may rely on.

TABLE is the one statement of them: `invite --help` prints it (EXPLAINED), the docs' table is generated
from it (`python -m invite.cli.exits`), and tests/test_cli_exits.py drives one real command per row.
"""

from __future__ import annotations

from dataclasses import dataclass

from invite.junction import (
    AuthenticationError,
    ConflictError,
    JunctionError,
    NotFoundError,
    ValidationError,
)


@dataclass(frozen=True)
class ExitCode:
    code: int
    name: str
    meaning: str  # one line, for `invite --help` and the docs


TABLE = (
    ExitCode(0, "done", "done: sent, sent again, already a member, revoked or already gone, listed"),
    ExitCode(1, "not done", "not done, and waiting will not change that: Junction's validation, a conflict, an "
             "unknown team, nothing pending, inside the cooldown, declined, no such job"),
    ExitCode(2, "usage", "usage: a command line that cannot be parsed, or no --as / INVITE_ACTOR"),
    ExitCode(3, "unknown", "outcome unknown: Junction may or may not have acted (no answer in time, an answer "
             "that could not be read, Ctrl-C); look the address up (invite invitations --search EMAIL) before "
             "trying again"),
    ExitCode(4, "configuration", "configuration problem (one line per problem), Junction rejected the key or the "
             "org id, or the command would use another Junction than the audit trail's"),
    ExitCode(5, "waiting", "not done yet, try again later: Junction unreachable, failing or rate limiting, or "
             "the dashboard's own send limits; the message says when"),
)

DONE, NOT_DONE, USAGE, UNKNOWN, CONFIGURATION, UNAVAILABLE = (row.code for row in TABLE)

EXPLAINED = "\b\nExit codes:\n" + "\n".join(f"  {row.code}  {row.meaning}" for row in TABLE)


def markdown_table() -> str:
    """The docs' table of exit codes."""
    lines = ["| code | meaning |", "| --- | --- |"]
    lines += [f"| {row.code} | {row.meaning.replace('|', chr(92) + '|')} |" for row in TABLE]
    return "\n".join(lines) + "\n"


# An audit row's outcome_kind (see invite.adapters.storage.Action) to the exit code it ends the command with.
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
    "held_back": UNAVAILABLE,  # the dashboard's own send limits: it can go after the time the message gives
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


if __name__ == "__main__":
    print(markdown_table(), end="")
