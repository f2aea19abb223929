"""Pacing and control of a running bulk job: 429 pauses the whole job, pause/resume/cancel, a refused key
stops it, an unreachable Junction is retried with backoff. Real worker process, sandbox over HTTP."""

from __future__ import annotations

import threading
import time

from flask import Response

from invite.sandbox import SandboxServer, scripts
from tests.bulk_support import _CSRF, posted_addresses, preview_and_confirm, running_bulk, wait_for


def _post(client, job_id: int, what: str) -> None:
    page = client.get(f"/bulk/{job_id}").get_data(as_text=True)
    answer = client.post(f"/bulk/{job_id}/{what}", data={"csrf_token": _CSRF.search(page).group(1)})
    assert answer.status_code == 303


def test_a_429_pauses_the_whole_job_for_retry_after_then_it_goes_on(sandbox, tmp_path, monkeypatch):
    posts: list[tuple[float, str]] = []
    original = scripts.scripted_response
    # The second try's answer waits until the test has seen the job held back: on a loaded machine the poll
    # could otherwise come only after the pause and the two short rows behind it were over.
    seen_held_back = threading.Event()

    def once_rate_limited(email: str) -> Response | None:
        # Junction limits the first try of this address, with a short Retry-After, then lets it through.
        posts.append((time.monotonic(), email))
        tries = sum(1 for _, e in posts if e == email)
        if email == "status429@example.com" and tries == 1:
            return Response('{"detail":"Too many requests"}', status=429, mimetype="application/json",
                            headers={"Retry-After": "2"})
        if email == "status429@example.com" and tries == 2:
            seen_held_back.wait(60)
        return original(email) if email != "status429@example.com" else None

    monkeypatch.setattr(scripts, "scripted_response", once_rate_limited)
    with running_bulk(sandbox, tmp_path, BULK_CONCURRENCY="1") as (app, client, workers):
        job_id = preview_and_confirm(client, "status429@example.com\nafter.one@example.com\nafter.two@example.com\n")
        try:
            paused = wait_for(client, job_id, states=("running",), worker=workers[0])
            deadline = time.monotonic() + 60
            while not paused["paused_until"] and time.monotonic() < deadline:
                time.sleep(0.1)
                paused = client.get(f"/bulk/{job_id}.json").get_json()
        finally:
            seen_held_back.set()
        assert paused["paused_until"], "the job never showed it was held back"
        status = wait_for(client, job_id, worker=workers[0])
    assert status["counts"]["sent"] == 3
    limited_at = posts[0][0]
    # Nothing at all was sent while Junction's Retry-After ran.
    assert posts[0][1] == "status429@example.com"
    assert all(at - limited_at >= 1.8 for at, _ in posts[1:]), posts
    assert posted_addresses(sandbox)["status429@example.com"] == 2


def test_pause_resume_and_cancel(slow_sandbox, tmp_path):
    addresses = [f"person{i:02d}@example.com" for i in range(30)]
    with running_bulk(slow_sandbox, tmp_path, BULK_CONCURRENCY="2") as (app, client, workers):
        job_id = preview_and_confirm(client, "\n".join(addresses))
        while client.get(f"/bulk/{job_id}.json").get_json()["finished"] < 4:
            time.sleep(0.1)
        _post(client, job_id, "pause")
        paused = wait_for(client, job_id, states=("paused",))
        time.sleep(1.0)  # rows in flight finish
        sent_while_paused = sum(posted_addresses(slow_sandbox).values())
        time.sleep(1.0)
        assert sum(posted_addresses(slow_sandbox).values()) == sent_while_paused
        assert "Paused by dev@localhost" in client.get(f"/bulk/{job_id}").get_data(as_text=True)
        assert paused["counts"]["waiting"] > 0

        _post(client, job_id, "resume")
        while client.get(f"/bulk/{job_id}.json").get_json()["finished"] < sent_while_paused + 4:
            time.sleep(0.1)
        _post(client, job_id, "cancel")
        cancelled = wait_for(client, job_id, states=("cancelled",))
        time.sleep(1.0)  # rows in flight finish and are recorded
        final = client.get(f"/bulk/{job_id}.json").get_json()
    posts = posted_addresses(slow_sandbox)
    assert set(posts.values()) == {1}
    assert final["counts"]["cancelled"] > 0 and final["counts"]["waiting"] == 0
    assert final["counts"]["sent"] == len(posts)
    assert final["counts"]["sent"] + final["counts"]["cancelled"] == 30
    assert cancelled["state"] == "cancelled"


def test_a_refused_key_stops_the_job_and_resume_finishes_it(sandbox, tmp_path):
    wrong = {"JUNCTION_MANAGEMENT_KEY": "mg_not_the_sandbox_key_0000"}
    with running_bulk(sandbox, tmp_path, worker_env=wrong) as (app, client, workers):
        job_id = preview_and_confirm(client, "first@example.com\nsecond@example.com\n")
        stopped = wait_for(client, job_id, states=("stopped",), worker=workers[0])
        assert "the key was refused" in stopped["message"]
        assert stopped["counts"]["waiting"] == 2
        page = client.get(f"/bulk/{job_id}").get_data(as_text=True)
        assert "JUNCTION_MANAGEMENT_KEY" in page and "Resume" in page
        assert sum(posted_addresses(sandbox).values()) >= 1
        # The key is fixed: the worker restarts with the right one and the admin resumes.
        workers[0].stop()
        workers[0].env.pop("JUNCTION_MANAGEMENT_KEY")
        workers[0].env["JUNCTION_MANAGEMENT_KEY"] = app.extensions["settings"].management_key
        workers[0].start()
        _post(client, job_id, "resume")
        done = wait_for(client, job_id, worker=workers[0])
    assert done["counts"]["sent"] == 2


def test_an_unreachable_junction_is_retried_with_backoff_then_reported_not_sent(sandbox, tmp_path):
    closed = SandboxServer(port=0).start()
    dead_url = closed.base_url
    closed.stop()  # nothing listens there now: connection refused, so certainly not sent
    with running_bulk(sandbox, tmp_path, worker_env={"JUNCTION_API_BASE_URL": dead_url}) as (app, client, workers):
        job_id = preview_and_confirm(client, "nobody.home@example.com\n")
        started = time.monotonic()
        done = wait_for(client, job_id, worker=workers[0], timeout=60)
        took = time.monotonic() - started
        rows = client.get(f"/bulk/{job_id}.csv").get_data(as_text=True)
        trail = client.get(f"/activity?job={job_id}&outcome=unreachable").get_data(as_text=True)
    assert done["counts"]["not_sent"] == 1
    assert "Not sent: Junction unreachable" in rows
    assert took >= 1 + 2 + 4 - 0.5  # three retries, backing off
    assert trail.count("nobody.home@example.com") == 4  # the first try and three retries, each audited
