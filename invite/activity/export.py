"""The audit trail as CSV, safe to open in a spreadsheet (the page and `invite activity`), or as JSON Lines."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from invite.adapters.storage import Action
from invite.core import vocabulary

COLUMNS = ("when_utc", "who", "who_role", "action", "target_email", "role", "team_ids", "team_names", "outcome",
           "junction_http_status", "request_id", "junction_request_id", "client_address", "invite_id", "channel",
           "os_user", "host", "own_request_id", "outcome_words", "action_words")

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP: CSV injection), and skips
# leading whitespace first: stored text has had its tabs and line breaks turned into spaces
# (invite/core/safe_text.py), so " =HYPERLINK(…)" must be caught as surely as "=HYPERLINK(…)".
_FORMULA_STARTS = ("=", "+", "-", "@")
_OPENING_SPACE = ("\t", "\r", "\n")


def safe_cell(value: object) -> str:
    """`value` as a CSV cell a spreadsheet shows as text: a formula, even behind whitespace, or a cell opening
    with a tab or line break gets OWASP's leading "'"."""
    text = "" if value is None else str(value)
    if text[:1].isalnum():  # most cells: a letter or digit first is neither a formula nor a space  # pragma: no mutate
        return text
    if text.startswith(_OPENING_SPACE) or text.lstrip().startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def _team_ids(action: Action) -> list[str]:
    return [team["id"] for team in action.teams or ()]


def _team_names(action: Action) -> list[str]:
    return [team["name"] for team in action.teams or ()]


def _values(action: Action) -> tuple[object, ...]:
    """One row's values in COLUMNS order; `action` is an Action or a plain row with its columns."""
    return (
        action.created_at.isoformat(), action.actor_email, action.actor_role, action.action, action.target_email,
        action.role, " ".join(_team_ids(action)), "; ".join(_team_names(action)), action.outcome_kind,
        action.http_status, action.request_id, action.junction_request_id, action.client_addr, action.invite_id,
        action.channel, action.os_user, action.host, action.own_request_id,
        vocabulary.label(action.outcome_kind, action.action), vocabulary.action_words(action.action),
    )


def _row(action: Action) -> list[str]:
    return [safe_cell(v) for v in _values(action)]


# Rows written per chunk handed on: one chunk per row was a million small writes for a whole trail.
ROWS_PER_CHUNK = 200


def csv_lines(actions: Iterable[Action]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for number, action in enumerate(actions, 1):
        writer.writerow(_row(action))
        if number % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_lines(actions: Iterable[Action]) -> Iterator[str]:
    """One JSON object per row, keyed by COLUMNS (teams as lists); values as stored, for programs, not spreadsheets."""
    for action in actions:
        record = dict(zip(COLUMNS, _values(action), strict=True))  # pragma: no mutate (strict=None is alike)
        record["team_ids"] = _team_ids(action)
        record["team_names"] = _team_names(action)
        yield json.dumps(record, ensure_ascii=False) + "\n"  # pragma: no mutate (ensure_ascii=None is alike)
