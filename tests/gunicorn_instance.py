"""The dashboard under gunicorn exactly as the Procfile runs it, on a free loopback port, for tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from test_ops import free_port

ROOT = Path(__file__).resolve().parents[1]
RELEASE = [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"]


def release(env: dict[str, str]) -> subprocess.CompletedProcess:
    """The Procfile's release command (migrations), run once."""
    return subprocess.run(RELEASE, cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True,  # noqa: S603
                          text=True, timeout=90)


class GunicornInstance:
    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port), **env}
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.healthz_answered = 0  # the readiness polls the app answered (a poll never gives up on an answer)

    def start(self) -> GunicornInstance:
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gunicorn", "app:app", "--config", "gunicorn.conf.py"],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                # Once sent, a poll waits for its answer until the deadline: gunicorn's socket accepts connections
                # before a worker has booted, and a poll given up on is still answered (and counted in /metrics,
                # tests/test_metrics.py) when a worker gets to it.
                answer = requests.get(self.url("/healthz"), timeout=(5, max(1.0, deadline - time.monotonic())))
                if answer.status_code == 200:
                    self.healthz_answered += 1
                    return self
            except requests.ConnectionError:
                pass  # still booting: nothing listens yet
            except requests.ReadTimeout:
                raise AssertionError(f"gunicorn did not answer in time: {self.output()}") from None
            assert self.proc.poll() is None, f"gunicorn exited: {self.output()}"
            assert time.monotonic() < deadline, f"gunicorn did not come up: {self.output()}"
            time.sleep(0.2)

    def url(self, path: str) -> str:
        return self.base_url + path

    def output(self) -> str:
        return self.log_path.read_text()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._log.close()

    def __enter__(self) -> GunicornInstance:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.stop()
