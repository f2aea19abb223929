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
           "os_user", "host", "own_request_id", "outcome_words")

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP: CSV injection), and skips
# leading whitespace first: stored text has had its tabs and line breaks turned into spaces
# (invite/core/safe_text.py), so " =HYPERLINK(…)" must be caught as surely as "=HYPERLINK(…)".
_FORMULA_STARTS = ("=", "+", "-", "@")
_OPENING_SPACE = ("\t", "\r", "\n")


def safe_cell(value: object) -> str:
    """`value` as a CSV cell a spreadsheet shows as text: a formula, even behind whitespace, or a cell opening
    with a tab or line break gets OWASP's leading "'"."""
    text = "" if value is None else str(value)
    if text.startswith(_OPENING_SPACE) or text.lstrip().startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def _values(action: Action) -> tuple[object, ...]:
    """One row's values in COLUMNS order."""
    return (
        action.created_at.isoformat(), action.actor_email, action.actor_role, action.action, action.target_email,
        action.role, " ".join(action.team_ids), "; ".join(action.team_names), action.outcome_kind,
        action.http_status, action.request_id, action.junction_request_id, action.client_addr, action.invite_id,
        action.channel, action.os_user, action.host, action.own_request_id,
        vocabulary.label(action.outcome_kind, action.action),
    )


def _row(action: Action) -> list[str]:
    return [safe_cell(v) for v in _values(action)]


def csv_lines(actions: Iterable[Action]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for action in actions:
        writer.writerow(_row(action))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def json_lines(actions: Iterable[Action]) -> Iterator[str]:
    """One JSON object per row, keyed by COLUMNS (teams as lists); values as stored, for programs, not spreadsheets."""
    for action in actions:
        record = dict(zip(COLUMNS, _values(action), strict=True))  # pragma: no mutate (strict=None is alike)
        record["team_ids"] = action.team_ids
        record["team_names"] = action.team_names
        yield json.dumps(record, ensure_ascii=False) + "\n"  # pragma: no mutate (ensure_ascii=None is alike)
