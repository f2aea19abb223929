"""bench/soak.py's check of the audit trail against the sandbox's request log finds what it must."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from soak import compare  # noqa: E402

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SLACK = timedelta(seconds=0.5)
INVITE = "/v1/org/o/invite"


def row(row_id, *, email="a@example.org", action="send", start=0.0, end=1.0, kind="invite_created", invite_id=None):
    return {"id": row_id, "token": f"t{row_id}", "created_at": T0 + timedelta(seconds=start),
            "completed_at": T0 + timedelta(seconds=end) if end is not None else None,
            "state": "done" if end is not None else "pending", "actor_email": "p@x", "action": action,
            "target_email": email, "invite_id": invite_id, "outcome_kind": kind, "http_status": 200}


def post(at, *, email="a@example.org", status=200, answer="invite_created", fault=None, phase=None):
    when = (T0 + timedelta(seconds=at)).isoformat()
    return {"received": when, "ts": when, "boot": "b", "method": "POST", "path": INVITE, "json": {"email": email},
            "status": status, "answer": {"status": answer} if status == 200 else None, "fault": fault,
            "phase": phase, "sent": status}


def test_a_clean_run_matches_every_request_to_its_row():
    result = compare([row(1), row(2, email="b@example.org", start=2, end=3, kind="invite_resent")],
                     [post(0.5), post(2.5, email="B@example.org", answer="invite_resent")], SLACK)
    assert (result["matched"], result["lost"], result["double_sends"], result["mismatches"]) == (2, [], [], [])


def test_lost_double_and_mismatched_requests_are_reported():
    rows = [row(1), row(2, email="c@example.org", start=5, end=6, kind="invite_created")]
    lines = [
        post(0.5), post(0.7),  # a second POST inside the first row's window: a double send
        post(3.0),  # nothing under way for a@ at 3 s: lost
        post(5.5, email="c@example.org", status=None, fault="500", phase="before"),  # not acted, said created
    ]
    result = compare(rows, lines, SLACK)
    assert len(result["double_sends"]) == 1 and len(result["lost"]) == 1 and len(result["mismatches"]) == 1


def test_unknown_and_unfinished_rows_always_fit_and_a_claimed_send_needs_a_request():
    rows = [row(1, kind="unknown"), row(2, email="d@example.org", end=None),
            row(3, email="e@example.org", kind="invite_created")]
    result = compare(rows, [post(0.5, status=None, fault="reset", phase="before"),
                            post(0.5, email="d@example.org")], SLACK)
    assert result["mismatches"] == [] and result["rows_never_completed"] == 1
    assert [r["id"] for r in result["phantom_sends"]] == ["3"]
