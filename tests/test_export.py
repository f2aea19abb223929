"""The audit trail's CSV on its own: every column where a reader expects it, nothing a spreadsheet would run.

Rows are built in memory; tests/test_activity.py covers the download through the app on both databases.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from invite.activity.export import COLUMNS, ROWS_PER_CHUNK, csv_lines, json_lines, safe_cell
from invite.adapters.storage import Action

WHEN = datetime(2026, 11, 30, 17, 5, 9, tzinfo=UTC)


def action(**overrides) -> Action:
    values = dict(
        created_at=WHEN, actor_email="ada@corp.example", actor_role="admin", action="send",
        target_email="new.hire@example.org", role="team_admin",
        teams=[{"id": "6f1c0c39", "name": "Cardiology"}, {"id": "0b7e5a1e", "name": "Sleep Lab"}],
        outcome_kind="invite_created", http_status=200, request_id="req-1", junction_request_id="jx-9",
        client_addr="10.1.2.3", invite_id="inv_42",
    )
    values.update(overrides)
    return Action(**values)


def read(chunks) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO("".join(chunks))))


# What action() puts in each column it sets; a column added for another kind of row is checked where it is set.
EXPECTED = {
    "when_utc": "2026-11-30T17:05:09+00:00", "who": "ada@corp.example", "who_role": "admin", "action": "send",
    "target_email": "new.hire@example.org", "role": "team_admin", "team_ids": "6f1c0c39 0b7e5a1e",
    "team_names": "Cardiology; Sleep Lab", "outcome": "invite_created", "junction_http_status": "200",
    "request_id": "req-1", "junction_request_id": "jx-9", "client_address": "10.1.2.3", "invite_id": "inv_42",
}


def test_each_column_holds_what_its_header_says():
    [row] = read(csv_lines([action()]))
    assert list(row) == list(COLUMNS)
    assert {column: row[column] for column in EXPECTED} == EXPECTED


def test_what_is_not_known_is_an_empty_cell_not_the_word_none():
    [row] = read(csv_lines([action(actor_role=None, role=None, teams=[], http_status=None, request_id=None,
                                   junction_request_id=None, client_addr=None, invite_id=None,
                                   outcome_kind="unknown")]))
    assert row["outcome"] == "unknown"
    assert [row[c] for c in ("who_role", "role", "team_ids", "team_names", "junction_http_status", "request_id",
                             "junction_request_id", "client_address", "invite_id")] == [""] * 9


def test_the_download_streams_the_header_first_then_chunks_of_rows_each_row_once():
    rows = [action(target_email=f"p{n}@example.org") for n in range(ROWS_PER_CHUNK + 1)]
    chunks = list(csv_lines(rows))
    assert len(chunks) == 2 and chunks[0].startswith(",".join(COLUMNS))
    assert f"p{ROWS_PER_CHUNK - 1}@example.org" in chunks[0] and f"p{ROWS_PER_CHUNK}@example.org" not in chunks[0]
    assert chunks[1].strip().split(",")[4] == f"p{ROWS_PER_CHUNK}@example.org"
    assert [r["target_email"] for r in read(chunks)] == [f"p{n}@example.org" for n in range(ROWS_PER_CHUNK + 1)]
    # each chunk starts where the one before ended: nothing of an earlier chunk is handed on again
    assert chunks[1].startswith(rows[-1].created_at.isoformat())
    assert "".join(chunks).count("\n") == ROWS_PER_CHUNK + 2


@pytest.mark.parametrize(("action_name", "words"), [("send", "Not sent: conflict"), ("resend", "Not sent: conflict"),
                                                    ("revoke", "Not revoked: conflict")])
def test_the_outcome_is_in_the_vocabularys_words_for_its_action(action_name, words):
    [row] = read(csv_lines([action(action=action_name, outcome_kind="conflict")]))
    assert (row["outcome"], row["outcome_words"]) == ("conflict", words)


def test_an_empty_trail_is_the_header_alone():
    assert read(csv_lines([])) == []
    assert "".join(csv_lines([])).strip() == ",".join(COLUMNS)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_shown_as_text(start):
    # A typed-in name or address reaches the trail as is; "\r" and tab are how formulas hide after a quote.
    [row] = read(csv_lines([action(actor_email=f"{start}cmd|' /C calc'!A0", target_email=f"{start}1+1@x.org",
                                   teams=[{"id": "t1", "name": f"{start}SUM(A1)"}])]))
    assert row["who"] == f"'{start}cmd|' /C calc'!A0"
    assert row["target_email"] == f"'{start}1+1@x.org"
    assert row["team_names"] == f"'{start}SUM(A1)"


@pytest.mark.parametrize("text", [" =1", "  +SUM(A1)", " \t-2", "\u00a0@x", "\n=1"])
def test_a_formula_behind_leading_whitespace_is_shown_as_text(text):
    # Stored text has its tabs and line breaks as spaces (invite/core/safe_text.py); a spreadsheet skips them.
    assert safe_cell(text) == "'" + text


def test_text_that_merely_contains_formula_characters_is_left_alone():
    assert safe_cell("a=b+c-d@e") == "a=b+c-d@e"
    assert safe_cell("  plain words") == "  plain words"
    assert safe_cell(0) == "0"


def test_json_lines_keep_teams_as_lists_and_text_as_written():
    [line] = json_lines([action(target_email="zoë@example.org")])
    record = json.loads(line)
    assert line.endswith("}\n") and "zoë@example.org" in line
    assert record["team_ids"] == ["6f1c0c39", "0b7e5a1e"] and record["team_names"] == ["Cardiology", "Sleep Lab"]
    assert set(record) == set(COLUMNS)
    assert record["target_email"] == "zoë@example.org" and record["junction_http_status"] == 200
