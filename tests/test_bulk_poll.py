"""A running job's page and its poll at size: the rows a page at a time (attention first, filtered by the
database), and a poll that carries only the rows changed since its cursor (issue 25, finding 2).

No worker runs here: the rows are moved as a worker would move them, straight in the database, so each
test says exactly which rows changed when."""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import product

import pytest

from invite.adapters.storage import db, utcnow
from invite.adapters.unit_of_work import FLASK
from invite.bulk import in_app, jobs, progress
from invite.bulk.models import QUEUED, ROW_CANCELLED, ROW_DONE, SENDING, SKIPPED, BulkRow
from invite.services.actions import Actor
from tests.bulk_support import running_bulk

WHO = Actor("dev@localhost", "admin")


@pytest.fixture
def bulk(sandbox, tmp_path):
    with running_bulk(sandbox, tmp_path, workers=0) as (app, client, _workers):
        yield app, client


def running_job(app, rows: int, skipped: int = 0) -> int:
    """A confirmed job of `rows` rows (and `skipped` rows the preview skipped), none sent yet."""
    with app.app_context():
        draft = [jobs.DraftRow(position=i + 2, email=f"poll.{i:04d}@example.com", role="no_role", teams=[],
                               verdict="ready", message=None, sendable=True) for i in range(rows)]
        draft += [jobs.DraftRow(position=rows + i + 2, email=f"bad.{i}@", role="no_role", teams=[],
                                verdict="invalid_email", message="Not an address.", sendable=False)
                  for i in range(skipped)]
        job = jobs.create_draft(FLASK, draft, WHO)
        confirmed, started = jobs.confirm_job(FLASK, job.token, WHO, waker=in_app.waker())
        assert started
        return confirmed.id


def move(app, job_id: int, position: int, **values) -> int:
    """Change one row as the worker would; its id."""
    with app.app_context():
        row = db.session.scalar(db.select(BulkRow).where(BulkRow.job_id == job_id, BulkRow.position == position))
        for name, value in values.items():
            setattr(row, name, value)
        db.session.commit()
        return row.id


def test_a_poll_after_a_cursor_carries_only_the_rows_changed_since(bulk, monkeypatch):
    app, client = bulk
    job_id = running_job(app, 8, skipped=1)
    now = utcnow()
    monkeypatch.setattr(progress, "utcnow", lambda: now)  # the server's clock, for the cursors it hands out
    finished_before = move(app, job_id, 2, state=ROW_DONE, outcome_kind="invite_created", attempts=1,
                           finished_at=now - timedelta(seconds=30))
    cursor = progress.encode_cursor(now - timedelta(seconds=10))
    finished_after = move(app, job_id, 3, state=ROW_DONE, outcome_kind="validation_error", attempts=1,
                          finished_at=now - timedelta(seconds=5), message="Junction refused it.")
    sending = move(app, job_id, 4, state=SENDING, attempts=1)
    to_retry = move(app, job_id, 5, state=QUEUED, attempts=1)  # a refused connection: back in the queue
    cancelled = move(app, job_id, 6, state=ROW_CANCELLED, finished_at=now - timedelta(seconds=3))
    just_now = move(app, job_id, 7, state=ROW_DONE, outcome_kind="invite_created", attempts=1, finished_at=now)

    changed = client.get(f"/bulk/{job_id}.json?since={cursor}").get_json()
    by_id = {row["id"]: row for row in changed["rows"]}
    # Finished (or cancelled) after the cursor, or in flight now: nothing else. Not the row finished before
    # it, not the rows still waiting untouched, not the skipped one; and not yet the row that finished this
    # very moment (its transaction may be one of those still committing): the next poll carries it.
    assert set(by_id) == {finished_after, sending, to_retry, cancelled}
    assert by_id[finished_after]["outcome"] == "Not sent: Junction rejected a value"
    assert by_id[finished_after]["tone"] == "failed" and by_id[finished_after]["message"] == "Junction refused it."
    assert (by_id[sending]["outcome"], by_id[to_retry]["outcome"]) == ("Sending", "Waiting to retry")
    assert changed["counts"]["sent"] == 2 and changed["counts"]["waiting"] == 4  # the figures are always whole
    assert progress.decode_cursor(changed["cursor"]) == now - progress.CURSOR_LAG

    # Five seconds on, a poll with that cursor: the row that finished then, the one sent since, the one
    # still set aside; none of those it carried before.
    move(app, job_id, 4, state=ROW_DONE, outcome_kind="invite_created", finished_at=now + timedelta(seconds=1))
    monkeypatch.setattr(progress, "utcnow", lambda: now + timedelta(seconds=5))
    again = client.get(f"/bulk/{job_id}.json?since={changed['cursor']}").get_json()
    assert {row["id"] for row in again["rows"]} == {just_now, sending, to_retry}
    assert {row["id"]: row["outcome"] for row in again["rows"]}[sending] == "Invitation sent"
    assert finished_before not in {row["id"] for row in again["rows"]}

    # Without a cursor (or with one that is not), every row but the skipped ones: what the page shows.
    assert len(client.get(f"/bulk/{job_id}.json").get_json()["rows"]) == 8
    assert len(client.get(f"/bulk/{job_id}.json?since=yesterday").get_json()["rows"]) == 8


def test_the_job_page_shows_a_hundred_rows_at_a_time_those_needing_attention_first(bulk):
    app, client = bulk
    job_id = running_job(app, 250)
    now = utcnow()
    move(app, job_id, 240, state=ROW_DONE, outcome_kind="validation_error", attempts=1, finished_at=now)
    move(app, job_id, 200, state=ROW_DONE, outcome_kind="unknown", attempts=1, finished_at=now)
    move(app, job_id, 3, state=ROW_DONE, outcome_kind="invite_created", attempts=1, finished_at=now)

    def rows_of(path: str) -> list[int]:
        body = client.get(path).get_data(as_text=True)
        return [int(n) for n in re.findall(r'<td data-label="Row">(\d+)</td>', body)]

    first = rows_of(f"/bulk/{job_id}")
    assert len(first) == progress.PER_PAGE
    assert first[:4] == [240, 200, 2, 3]  # not sent, unknown, then the list's order
    page = client.get(f"/bulk/{job_id}").get_data(as_text=True)
    assert f'href="/bulk/{job_id}?page=2#rows"' in page and "1 to 100 of 250" in page
    assert page.count("<tr data-row-id=") == progress.PER_PAGE
    assert 'data-cursor="' in page
    assert rows_of(f"/bulk/{job_id}?page=2") == list(range(100, 200))
    assert rows_of(f"/bulk/{job_id}?page=3") == list(range(201, 240)) + list(range(241, 252))
    assert rows_of(f"/bulk/{job_id}?show=not_sent") == [240]
    assert rows_of(f"/bulk/{job_id}?show=waiting&page=2")[:1] == [103]  # 247 waiting: the second hundred
    assert rows_of(f"/bulk/{job_id}?page=99") == rows_of(f"/bulk/{job_id}?page=3")  # past the end: the last


def test_the_databases_count_groups_are_the_jobs_own(bulk):
    """progress.group_of (SQL, for filtering and ordering) says what jobs.count_group (Python) says, for
    every row state and every outcome kind the vocabulary has, and one it does not."""
    from invite.core import vocabulary

    app, _client = bulk
    known = {kind for kinds in vocabulary.KINDS_BY_GROUP.values() for kind in kinds}
    kinds = sorted(known | set(jobs.SENT_KINDS) | set(jobs.NOT_SENT_KINDS)
                   | {"already_in_org", "held_back", "unknown", "something_new", None}, key=str)
    states = (QUEUED, SENDING, ROW_DONE, SKIPPED, ROW_CANCELLED)
    combos = list(product(states, kinds))
    job_id = running_job(app, len(combos))
    with app.app_context():
        rows = list(db.session.scalars(db.select(BulkRow).where(BulkRow.job_id == job_id).order_by(BulkRow.position)))
        for row, (state, kind) in zip(rows, combos, strict=True):
            row.state, row.outcome_kind = state, kind
        db.session.commit()
        found = dict(db.session.execute(db.select(BulkRow.position, progress.group_of())
                                        .where(BulkRow.job_id == job_id)).all())
        for row, (state, kind) in zip(rows, combos, strict=True):
            assert found[row.position] == jobs.count_group(state, kind), (state, kind)
