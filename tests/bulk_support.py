"""Helpers for the bulk tests: a real worker process, waiting on a job, reading the sandbox's POSTs."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

from invite import ROOT

_TOKEN = re.compile(r'name="token"[^>]*value="([0-9a-f]{32})"|value="([0-9a-f]{32})"[^>]*name="token"')
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]*)"')


def queue_name() -> str:
    return f"test-bulk-{uuid.uuid4().hex[:10]}"


class Worker:
    """`python -m invite.bulk.worker` as the Procfile runs it, with the test app's environment."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen([sys.executable, "-m", "invite.bulk.worker"], env=self.env, cwd=ROOT,
                                        stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def remove_queue_files(name: str) -> None:
    for path in (ROOT / "instance").glob(f"{name}.huey.db*"):
        path.unlink(missing_ok=True)


def preview_and_confirm(client, text: str, *, default_role: str | None = None, resend: bool = False) -> int:
    """Paste a list, preview it, press the confirm button; the job's id. Without `default_role`, the page's own."""
    page = client.get("/bulk").get_data(as_text=True)
    csrf = _CSRF.search(page).group(1)
    chosen = {"default_role": default_role} if default_role else {}
    preview = client.post("/bulk/preview", data={"csrf_token": csrf, "text": text, **chosen})
    assert preview.status_code == 200, preview.get_data(as_text=True)[:2000]
    body = preview.get_data(as_text=True)
    token = next(g for g in _TOKEN.search(body).groups() if g)
    answer = client.post("/bulk/confirm", data={"csrf_token": _CSRF.search(body).group(1), "token": token,
                                                "resend": "1" if resend else "0"})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]
    return int(answer.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def wait_for(client, job_id: int, states=("done",), timeout: float = 60.0, worker: Worker | None = None) -> dict:
    deadline = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < deadline:
        status = client.get(f"/bulk/{job_id}.json").get_json()
        if status["state"] in states:
            return status
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {status.get('state')} after {timeout} s: {status}\n"
                         + (worker.log()[-4000:] if worker else ""))


def posted_addresses(sandbox) -> Counter:
    """How many invite POSTs the sandbox received per address (case-insensitive), from its own log."""
    return Counter(entry["json"]["email"].casefold() for entry in sandbox.state.requests_log()
                   if entry["method"] == "POST" and entry["path"].endswith("/invite") and entry.get("json"))


@contextlib.contextmanager
def running_bulk(sandbox, tmp_path: Path, *, database_url: str | None = None, workers: int = 1,
                 worker_env: dict[str, str] | None = None, **overrides: str):
    """The app (migrated) with its test client, and `workers` worker processes on the same database and queue."""
    from tests.conftest import app_env, make_app

    name = queue_name()
    env = app_env(sandbox, database_url or f"sqlite:///{tmp_path / 'invite.db'}", BULK_QUEUE_NAME=name,
                  **overrides)
    app = make_app(env)
    started = [Worker({**env, **(worker_env or {})}, tmp_path / f"worker{i}.log").start() for i in range(workers)]
    try:
        yield app, app.test_client(), started
    finally:
        for worker in started:
            worker.stop()
        app.extensions["bulk_queue"].huey.flush()  # Redis keys live on after the test otherwise
        app.extensions["upstream"].client.close()
        remove_queue_files(name)
