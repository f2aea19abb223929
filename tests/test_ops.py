"""Health endpoints, security headers, request ids, JSON logs, and running under gunicorn for real."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from conftest import app_env, form_tokens, make_app

from invite.adapters.logs import JsonLogFormatter
from invite.sandbox import DEMO_KEY

ROOT = Path(__file__).resolve().parents[1]


def test_healthz_never_calls_junction(client, sandbox):
    before = len(sandbox.state.requests_log())
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert len(sandbox.state.requests_log()) == before


def test_readyz_checks_junction_and_caches_the_answer(client, sandbox):
    assert client.get("/readyz").get_json() == {"status": "ready"}
    calls = len(sandbox.state.requests_log())
    assert client.get("/readyz").status_code == 200
    assert len(sandbox.state.requests_log()) == calls  # cached briefly


def test_readyz_reports_a_rejected_key_without_the_key(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'r.db'}", JUNCTION_MANAGEMENT_KEY="mg_rejected_99"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable" and body["error_kind"] == "AuthenticationError"
    assert "mg_rejected_99" not in response.get_data(as_text=True)


def test_security_headers_on_every_page(client):
    for path in ["/", "/healthz", "/nowhere"]:
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_secure_behind_an_https_proxy(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'p.db'}", PROXY_FIX_HOPS="1"))
    plain = app.test_client().get("/").headers["Set-Cookie"]
    proxied = app.test_client().get("/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert "Secure" not in plain
    assert "Secure" in proxied.headers["Set-Cookie"] and "HttpOnly" in proxied.headers["Set-Cookie"]
    assert proxied.headers["Strict-Transport-Security"].startswith("max-age=")


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"}).headers["X-Request-Id"]
    assert len(made) == 32 and " " not in made


def test_one_json_log_line_per_request_with_request_id(client):
    lines = []

    class Capture(logging.Handler):
        def emit(self, record):
            lines.append(JsonLogFormatter().format(record))

    handler = Capture()
    logger = logging.getLogger("invite.request")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        client.get("/healthz", headers={"X-Request-Id": "req-42"})
    finally:
        logger.removeHandler(handler)
    [line] = lines
    entry = json.loads(line)
    assert entry["request_id"] == "req-42" and entry["status"] == 200 and entry["path"] == "/healthz"
    assert isinstance(entry["duration_ms"], float)


def test_junction_time_is_split_out_in_server_timing_and_the_log_line(client, caplog):
    caplog.set_level(logging.INFO, logger="invite.request")
    assert client.get("/").headers["Server-Timing"].count("junction;") == 1  # teams and org, loaded once
    cached = client.get("/", headers={"X-Request-Id": "req-cached"})
    assert "junction" not in cached.headers["Server-Timing"]  # both cached now: no call, no metric
    sent = client.post("/", data={**form_tokens(cached.get_data(as_text=True)), "email": "timed@example.org",
                                  "role": "no_role"}, headers={"X-Request-Id": "req-sent"})
    timing = re.fullmatch(r'app;dur=([0-9.]+), junction;dur=([0-9.]+);desc="Junction, 1 call"',
                          sent.headers["Server-Timing"])
    assert timing and 0 < float(timing[2]) <= float(timing[1])
    entries = {r.fields["request_id"]: r.fields for r in caplog.records if r.name == "invite.request"}
    assert entries["req-cached"]["junction_calls"] == 0 and entries["req-cached"]["junction_ms"] == 0
    assert entries["req-sent"]["junction_calls"] == 1 and entries["req-sent"]["junction_ms"] == float(timing[2])


def test_unexpected_error_is_a_friendly_page_without_trace(app, client, monkeypatch):
    from invite.invites import routes

    def boom():
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(routes, "_load_teams", boom)
    response = client.get("/")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "Something went wrong" in text and "Traceback" not in text and "internal detail" not in text
    assert response.headers["X-Request-Id"] in text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn_serving(tmp_path, **extra_env: str) -> Iterator[tuple[int, list[str]]]:
    """The sandboxed app migrated and served by gunicorn exactly as the Procfile runs it, on a free port.

    Yields (port, output): output gets gunicorn's whole stdout/stderr once it has stopped.
    """
    port = free_port()
    env = {**os.environ, "INVITE_SANDBOX": "1", "PORT": str(port), "HOST": "127.0.0.1",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}", "SECRET_KEY": "gunicorn-test-secret-key", **extra_env}
    env.pop("JUNCTION_API_BASE_URL", None)
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=60)
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "app:app", "--config", "gunicorn.conf.py"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass  # still booting
            assert time.monotonic() < deadline and proc.poll() is None, "gunicorn did not come up"
            time.sleep(0.2)
        yield port, output
    finally:
        proc.terminate()
        output.append(proc.communicate(timeout=30)[0])


def test_gunicorn_serves_the_app_as_the_procfile_runs_it(tmp_path):
    with gunicorn_serving(tmp_path) as (port, captured):
        page = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status_code == 200 and "Sandbox mode" in page.text and "Acme Health" in page.text
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10).json() == {"status": "ready"}
    output = captured[0]
    assert DEMO_KEY not in output
    # The app's lines are all JSON: none printed a second time by Flask's plain-text handler.
    assert not [line for line in output.splitlines() if " in " in line and "INFO in" in line], output
    request_lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(entry.get("path") == "/readyz" and entry.get("status") == 200 for entry in request_lines)


def test_gunicorn_refuses_to_start_without_configuration(tmp_path):
    env = {"PATH": os.environ["PATH"], "PORT": str(free_port()), "HOST": "127.0.0.1"}
    proc = subprocess.run([sys.executable, "-m", "gunicorn", "app:app", "--config", "gunicorn.conf.py"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "configuration error: JUNCTION_MANAGEMENT_KEY (or JUNCTION_MANAGEMENT_KEY_FILE) is required" in proc.stderr
    assert "configuration error: JUNCTION_ORG_ID is required" in proc.stderr


def test_a_log_line_writes_values_json_cannot_as_text():
    """The formatter's encoder is built once per process (issue 12); it still falls back to str()."""
    from datetime import UTC, datetime

    record = logging.LogRecord("invite.request", logging.INFO, __file__, 1, "GET %s", ("/",), None)
    record.fields = {"when": datetime(2026, 11, 30, tzinfo=UTC), "path": "/"}
    entry = json.loads(JsonLogFormatter().format(record))
    assert entry["when"] == "2026-11-30 00:00:00+00:00" and entry["msg"] == "GET /" and "\n" not in entry["msg"]
