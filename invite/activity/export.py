"""The audit trail as CSV, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from invite.storage import Action

COLUMNS = ("when_utc", "who", "who_role", "action", "target_email", "role", "team_ids", "team_names", "outcome",
           "junction_http_status", "request_id", "junction_request_id", "client_address", "invite_id",
           "own_request_id")

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP: CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _row(action: Action) -> list[str]:
    values = (
        action.created_at.isoformat(), action.actor_email, action.actor_role, action.action, action.target_email,
        action.role, " ".join(action.team_ids), "; ".join(action.team_names), action.outcome_kind,
        action.http_status, action.request_id, action.junction_request_id, action.client_addr, action.invite_id,
        action.own_request_id,
    )
    return [safe_cell(v) for v in values]


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
