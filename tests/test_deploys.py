"""Deploys and restarts: SIGTERM lets a send in flight finish and record its outcome; a send cut off anyway
stays a write-ahead row that the result page and /activity call unknown and check."""

from __future__ import annotations

import html
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from conftest import SECRET, form_tokens
from gunicorn_instance import GunicornInstance, release

from invite.sandbox import SandboxServer

SLOW = "slow@example.com"
SLOW_SECONDS = 3


@pytest.fixture
def slow_sandbox():
    with SandboxServer(port=0, slow_seconds=SLOW_SECONDS) as server:
        yield server


@pytest.fixture
def instance_env(slow_sandbox, tmp_path):
    env = {"INVITE_SANDBOX": "1", "JUNCTION_API_BASE_URL": slow_sandbox.base_url, "SECRET_KEY": SECRET,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.db'}", "WEB_CONCURRENCY": "1", "WEB_THREADS": "4",
           "JUNCTION_TIMEOUT_SECONDS": "8"}
    release(env)
    return env


def rows(env) -> list[dict]:
    engine = sa.create_engine(env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(
                "SELECT token, state, outcome_kind, target_email FROM actions ORDER BY id"))]
    finally:
        engine.dispose()


def start_slow_send(instance, sandbox):
    """Post the slow address in a thread; return once Junction has the POST (the send is in flight)."""
    session = requests.Session()
    data = {**form_tokens(session.get(instance.url("/"), timeout=10).text), "email": SLOW, "role": "no_role"}
    answer: dict = {}

    def post():
        try:
            answer["response"] = session.post(instance.url("/"), data=data, allow_redirects=False, timeout=60)
        except requests.RequestException as exc:
            answer["error"] = exc

    thread = threading.Thread(target=post)
    thread.start()
    deadline = time.monotonic() + 20
    while not any(e["method"] == "POST" for e in sandbox.state.requests_log()):
        assert time.monotonic() < deadline, "the send never reached the sandbox"
        time.sleep(0.05)
    return session, data["submission_token"], thread, answer


def test_sigterm_lets_a_send_in_flight_finish_and_record_its_outcome(instance_env, slow_sandbox, tmp_path):
    instance = GunicornInstance(instance_env, tmp_path / "web.log").start()
    _, token, thread, answer = start_slow_send(instance, slow_sandbox)
    started = time.monotonic()
    instance.proc.send_signal(signal.SIGTERM)  # what a platform does at the start of a deploy
    thread.join(60)
    assert "error" not in answer, answer
    assert answer["response"].status_code == 303
    assert answer["response"].headers["Location"] == f"/sent/{token}"
    assert instance.stop() == 0  # gunicorn's graceful shutdown, within graceful_timeout
    assert time.monotonic() - started >= SLOW_SECONDS - 1  # it waited for the send rather than cutting it
    [row] = rows(instance_env)
    assert (row["token"], row["state"], row["outcome_kind"]) == (token, "done", "invite_created")


def worker_pids(master_pid: int) -> list[int]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return [int(pid) for pid in children]


def test_a_send_cut_off_is_left_unknown_and_checked(instance_env, slow_sandbox, tmp_path):
    with GunicornInstance(instance_env, tmp_path / "web.log") as instance:
        session, token, thread, answer = start_slow_send(instance, slow_sandbox)
        [worker] = worker_pids(instance.proc.pid)
        os.kill(worker, signal.SIGKILL)  # past any grace: the platform gave up on it
        thread.join(30)
        assert "response" not in answer  # the person saw the connection drop
        [row] = rows(instance_env)
        assert (row["token"], row["state"], row["outcome_kind"]) == (token, "pending", "unknown")

        # The master starts a new worker; the trail calls the row unknown and offers the check.
        deadline = time.monotonic() + 30
        while True:
            try:
                activity = html.unescape(session.get(instance.url("/activity"), timeout=10).text)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert "Unknown" in activity and "No answer was recorded" in activity
        assert f'href="/sent/{token}">Check it in Junction' in activity

        # Once the row is older than any send can take, the result page says unknown and looks it up.
        engine = sa.create_engine(instance_env["DATABASE_URL"])
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE actions SET created_at = :t WHERE token = :k"),
                         {"t": "2026-01-01 00:00:00.000000+00:00", "k": token})
        engine.dispose()
        result = html.unescape(session.get(instance.url(f"/sent/{token}"), timeout=30).text)
        assert f"Unknown: the invitation to {SLOW} may have been sent" in result
        assert f"Junction now lists a pending invitation for {SLOW}" in result
        assert [row["state"] for row in rows(instance_env)] == ["pending"]  # nothing sent again
        assert sum(e["method"] == "POST" for e in slow_sandbox.state.requests_log()) == 1
