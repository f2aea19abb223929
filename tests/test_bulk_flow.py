"""Bulk invites end to end: pages through Flask's test client, a real worker process, the sandbox over HTTP.

The worker is `python -m invite.bulk.worker` in a subprocess on the same database (SQLite here; the
PostgreSQL + Redis runs are in test_bulk_durability.py). Every assertion about what Junction received
reads the sandbox's own request log.
"""

from __future__ import annotations

import csv
import io

import pytest

from tests.bulk_support import Worker, posted_addresses, preview_and_confirm, queue_name, remove_queue_files, wait_for
from tests.conftest import app_env, make_app


@pytest.fixture
def bulk(sandbox, tmp_path):
    name = queue_name()
    env = app_env(sandbox, f"sqlite:///{tmp_path / 'invite.db'}", BULK_QUEUE_NAME=name, BULK_CONCURRENCY="4")
    app = make_app(env)
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        yield app, app.test_client(), worker
    finally:
        worker.stop()
        app.extensions["upstream"].client.close()
        remove_queue_files(name)


def test_a_pasted_list_is_previewed_sent_once_and_reported(bulk, sandbox):
    app, client, worker = bulk
    text = "email,role,teams\nnew.one@example.com,team_admin,Cardiology\nnew.two@example.com,,\nnot-an-address,,\n"
    job_id = preview_and_confirm(client, text)
    status = wait_for(client, job_id, worker=worker)
    assert status["counts"]["sent"] == 2
    assert status["counts"]["skipped"] == 1
    assert posted_addresses(sandbox) == {"new.one@example.com": 1, "new.two@example.com": 1}
    page = client.get(f"/bulk/{job_id}").get_data(as_text=True)
    assert "Invitation sent" in page and "Done" in page
