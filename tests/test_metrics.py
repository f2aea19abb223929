"""/metrics: what it counts, who may scrape it, and that it adds up gunicorn's workers for real."""

from __future__ import annotations

import http.client
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
import requests
from conftest import SECRET, app_env, form_tokens, make_app
from gunicorn_instance import ROOT, GunicornInstance, release
from prometheus_client.parser import text_string_to_metric_families
from test_ops import free_port

from invite.adapters.metrics import exported_series
from invite.config import ConfigError, load_settings
from invite.sandbox import DEMO_KEY, DEMO_ORG_ID

TOKEN = "scrape-token-0123456789"


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def metrics_app(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'm.db'}", METRICS_BEARER_TOKEN=TOKEN))
    yield app
    app.extensions["upstream"].client.close()


def scrape(client, **kwargs) -> str:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    assert response.content_type.lower().count("charset") == 1, response.content_type
    return response.get_data(as_text=True)


def test_a_send_is_counted_by_route_operation_outcome_and_action(metrics_app):
    client = metrics_app.test_client()
    before = scrape(client)
    page = client.get("/").get_data(as_text=True)
    sent = client.post("/", data={**form_tokens(page), "email": "Counted.Person@example.org", "role": "no_role"})
    assert sent.status_code == 303
    client.get(sent.headers["Location"])
    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("invite_junction_calls_total", operation="create_or_resend_invite", outcome="created") == 1
    assert grew("invite_junction_call_duration_seconds_count", operation="create_or_resend_invite") == 1
    assert grew("invite_audit_actions_started_total", action="send") == 1
    assert grew("invite_audit_actions_total", action="send", outcome="invite_created") == 1
    assert grew("invite_http_request_duration_seconds_count", route="/", method="POST", status="303") == 1
    # The result page is counted under its URL rule, never its token.
    assert grew("invite_http_request_duration_seconds_count", route="/sent/<token>", method="GET",
                status="200") == 1
    assert value(after, "invite_team_cache_loaded_timestamp_seconds", cache="teams") > 1.7e9
    assert "Counted.Person" not in after and "counted.person" not in after and "@" not in after
    assert not re.search(r"/sent/[A-Za-z0-9_-]{20,}", after)


def test_a_client_cannot_make_new_series_with_methods_or_paths(metrics_app):
    client = metrics_app.test_client()
    for method in ("FOOA", "FOOB", "PROPFIND"):
        for path in ("/", "/no/such/page/1", "/activity"):
            client.open(path, method=method)
    client.get("/no/such/page/2")
    text = scrape(client)
    assert "FOOA" not in text and "FOOB" not in text and "PROPFIND" not in text
    rules = {rule.rule for rule in metrics_app.url_map.iter_rules()} | {"unmatched"}
    seen = [dict(labels) for (name, labels) in samples(text) if name == "invite_http_request_duration_seconds_count"]
    # The registry is the process's: tests run earlier in this process may have served routes their own apps
    # added. The paths this test asked for never become labels, and its odd requests' labels are rules.
    assert not {labels["route"] for labels in seen} & {"/no/such/page/1", "/no/such/page/2"}
    assert {labels["route"] for labels in seen if labels["method"] == "other"} <= rules
    assert {labels["method"] for labels in seen} <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
                                                     "other"}
    # Nine odd requests, one series per status they got, all under "other".
    other = [labels for labels in seen if labels["method"] == "other"]
    assert other and len(other) <= 3, other
    assert sum(value(text, "invite_http_request_duration_seconds_count", **labels) for labels in other) == 9


def test_failures_are_counted_by_outcome(metrics_app):
    client = metrics_app.test_client()
    before = scrape(client)
    page = client.get("/").get_data(as_text=True)
    client.post("/", data={**form_tokens(page), "email": "status429@example.com", "role": "no_role"})
    page = client.get("/").get_data(as_text=True)
    client.post("/", data={**form_tokens(page), "email": "status409@example.com", "role": "no_role"})
    after = scrape(client)
    for outcome in ("rate_limited", "conflict"):
        assert (value(after, "invite_junction_calls_total", operation="create_or_resend_invite", outcome=outcome)
                - value(before, "invite_junction_calls_total", operation="create_or_resend_invite",
                        outcome=outcome)) == 1


def test_metrics_refused_from_elsewhere_without_the_token(metrics_app):
    client = metrics_app.test_client()
    elsewhere = {"environ_base": {"REMOTE_ADDR": "203.0.113.7"}}
    refused = client.get("/metrics", **elsewhere)
    assert refused.status_code == 403 and "METRICS_ALLOWED_CIDRS" in refused.get_data(as_text=True)
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token-at-all"}, **elsewhere)
    assert wrong.status_code == 403
    assert scrape(client, headers={"Authorization": f"Bearer {TOKEN}"}, **elsewhere)


def test_forwarded_for_does_not_make_an_outsider_local(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'p.db'}", PROXY_FIX_HOPS="1"))
    response = app.test_client().get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"},
                                     environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert response.status_code == 403


def test_metrics_settings_are_checked():
    base = {"INVITE_SANDBOX": "1"}
    settings = load_settings(base)
    assert [str(n) for n in settings.metrics_allowed_cidrs] == ["127.0.0.0/8", "::1/128"]
    assert settings.metrics_bearer_token is None
    assert load_settings({**base, "METRICS_ALLOWED_CIDRS": "none"}).metrics_allowed_cidrs == ()
    with pytest.raises(ConfigError) as info:
        load_settings({**base, "METRICS_ALLOWED_CIDRS": "10.0.0.1/8, nonsense", "METRICS_BEARER_TOKEN": "short"})
    problems = info.value.problems
    assert len(problems) == 3
    assert sum("METRICS_ALLOWED_CIDRS" in p for p in problems) == 2
    assert any("METRICS_BEARER_TOKEN" in p and "short" not in p for p in problems)


def test_every_exported_series_has_the_app_prefix():
    assert exported_series() and all(name.startswith("invite_") for name in exported_series())


def test_metrics_add_up_across_two_gunicorn_workers(sandbox, tmp_path):
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    env = {"INVITE_SANDBOX": "1", "JUNCTION_API_BASE_URL": sandbox.base_url, "SECRET_KEY": SECRET,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}", "WEB_CONCURRENCY": "2", "WEB_THREADS": "4",
           "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    release(env)
    with GunicornInstance(env, tmp_path / "gunicorn.log") as web:
        made = 0
        failed: list[BaseException] = []
        lock = threading.Lock()

        def hit():
            nonlocal made
            # A new connection each time, so the kernel hands them to either worker. Every request is waited
            # for: one given up on may still be answered, and counted, after the count below was taken.
            try:
                status = requests.get(web.url("/healthz"), headers={"Connection": "close"}, timeout=60).status_code
            except requests.RequestException as exc:
                with lock:
                    failed.append(exc)
                return
            with lock:
                if status == 200:
                    made += 1
                else:
                    failed.append(AssertionError(f"/healthz answered {status}"))

        def workers_seen() -> set[str]:
            return {p.stem.rsplit("_", 1)[1] for p in Path(metrics_dir).glob("histogram_*.db")}

        deadline = time.monotonic() + 60  # the second worker may still be booting
        while time.monotonic() < deadline:  # rounds of 8 concurrent requests until both workers served some
            threads = [threading.Thread(target=hit) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not failed, failed
            if len(workers_seen()) >= 2:
                break
            time.sleep(0.2)
        assert len(workers_seen()) == 2, "both workers should have answered"
        assert requests.get(web.url("/"), timeout=60).status_code == 200  # loads the team list
        text = requests.get(web.url("/metrics"), timeout=60).text
        counted = value(text, "invite_http_request_duration_seconds_count", route="/healthz", method="GET",
                        status="200")
        # Every request counted once, whichever worker took it and whichever answers the scrape (plus the
        # readiness poll that found the instance up).
        assert counted == made + web.healthz_answered, (made, counted)
        twice = requests.get(web.url("/metrics"), timeout=60).text
        assert value(twice, "invite_http_request_duration_seconds_count", route="/healthz", method="GET",
                     status="200") == counted
        assert value(text, "invite_team_cache_loaded_timestamp_seconds", cache="teams") > 1.7e9

        # A worker killed outright: its counts stay in the sum, its live gauge goes (gunicorn's child_exit).
        dead = next(pid for pid in workers_seen()
                    if (metrics_dir / f"gauge_livemin_{pid}.db").exists())
        os.kill(int(dead), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (metrics_dir / f"gauge_livemin_{dead}.db").exists():
            assert time.monotonic() < deadline, "child_exit did not mark the dead worker"
            time.sleep(0.1)
        after = requests.get(web.url("/metrics"), timeout=60).text
        assert value(after, "invite_http_request_duration_seconds_count", route="/healthz", method="GET",
                     status="200") == counted


# ------------------------------------------------------------------ /metrics as the Procfile runs it

def procfile_web_command() -> list[str]:
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    return shlex.split(line.removeprefix("web:"))


def _server_side_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of one loopback TCP connection (/proc/net/tcp, ports in hex)."""
    want = (f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}")
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if (fields[1], fields[2]) == want:
            return fields[9]
    return None


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(child) for child in (task / "children").read_text().split()}
    return found


def _serving_worker(master_pid: int, server_port: int, conn: http.client.HTTPConnection) -> int:
    """Which gunicorn worker holds the server's end of `conn` (it answers every request sent over it)."""
    inode = _server_side_inode(server_port, conn.sock.getsockname()[1])
    assert inode is not None
    for worker in _children(master_pid):
        for fd in Path(f"/proc/{worker}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return worker
            except FileNotFoundError:
                continue  # closed while we looked
    raise AssertionError("no worker holds this connection")


def _invite_over(conn: http.client.HTTPConnection, email: str) -> None:
    """The form fetched and posted over one kept-alive connection, so one worker serves both."""
    conn.request("GET", "/")
    page = conn.getresponse()
    body = page.read().decode()
    assert page.status == 200, body
    cookie = page.getheader("Set-Cookie").split(";", 1)[0]
    form = urllib.parse.urlencode({**form_tokens(body), "email": email, "role": "no_role"})
    conn.request("POST", "/", body=form, headers={"Cookie": cookie,
                                                  "Content-Type": "application/x-www-form-urlencoded"})
    sent = conn.getresponse()
    sent.read()
    assert sent.status == 303, sent.status


def test_metrics_add_up_both_workers_started_as_the_procfile_says(sandbox, tmp_path):
    """The Procfile's web: line as written, with only the README's settings: no PROMETHEUS_MULTIPROC_DIR
    (gunicorn.conf.py makes its own), WEB_CONCURRENCY left at its default of two workers."""
    port = free_port()
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "HOST": "127.0.0.1",
           "PORT": str(port), "INVITE_SANDBOX": "1", "JUNCTION_API_BASE_URL": sandbox.base_url,
           "JUNCTION_MANAGEMENT_KEY": DEMO_KEY, "JUNCTION_ORG_ID": DEMO_ORG_ID, "SECRET_KEY": SECRET,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'procfile.db'}", "AUTH_MODE": "dev"}
    release(env)
    log = (tmp_path / "gunicorn.log").open("w")
    proc = subprocess.Popen(procfile_web_command(), cwd=ROOT, env=env, stdout=log,  # noqa: S603
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while len(_children(proc.pid)) < 2 or not _answers(base + "/healthz"):
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.2)
        # One kept-alive connection held by each worker: new connections until both workers hold one.
        by_worker: dict[int, http.client.HTTPConnection] = {}
        opened = []
        while len(by_worker) < 2:
            assert time.monotonic() < deadline, "the second worker never took a connection"
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            opened.append(conn)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            by_worker.setdefault(_serving_worker(proc.pid, port, conn), conn)
        for number, conn in enumerate(by_worker.values()):
            _invite_over(conn, f"procfile.{number}@example.org")
        for conn in opened:
            conn.close()

        scraped = requests.get(base + "/metrics", timeout=10)
        assert scraped.status_code == 200
        text = scraped.text
        # Both workers' invites in one scrape, whichever worker answered it.
        assert value(text, "invite_audit_actions_total", action="send", outcome="invite_created") == 2, text
        assert value(text, "invite_junction_calls_total", operation="create_or_resend_invite",
                     outcome="created") == 2, text
        assert scraped.headers["Content-Type"].lower().count("charset") == 1, scraped.headers["Content-Type"]
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False
