"""The sandbox's injected faults (500, held answer, connection reset; before or after acting) and its
request log on disk, over real HTTP and through `python -m invite.sandbox`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from invite.sandbox import DEMO_KEY, DEMO_ORG_ID, SandboxServer
from invite.sandbox.faults import FaultPlan, RequestLogFile, read_request_log

REPO = Path(__file__).resolve().parents[1]
# A held answer outlasts the client's timeout; every other answer must arrive within it, on a machine busy
# with the rest of the suite too (0.15 s was not enough there).
HOLD = 1.5
CLIENT_TIMEOUT = 0.75


def invite_url(server: SandboxServer) -> str:
    return f"{server.base_url}/v1/org/{DEMO_ORG_ID}/invite"


def outcome(send) -> str:
    """What a client saw: the status, "timeout" or "reset"."""
    try:
        return str(send().status_code)
    except requests.ReadTimeout:
        return "timeout"
    except requests.ConnectionError as exc:
        return "reset" if "reset" in str(exc).lower() else f"connection error: {exc}"


def wait_for_lines(path: Path, count: int, timeout: float = 5) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = read_request_log(path)
        if len(lines) >= count:
            return lines
        time.sleep(0.02)
    raise AssertionError(f"{path} has {len(read_request_log(path))} lines, expected {count}")


# ------------------------------------------------------------------------------------ the schedule


def test_the_same_seed_gives_the_same_schedule_and_rates_are_honoured():
    def schedule(seed: int) -> list:
        plan = FaultPlan(rate_500=0.05, rate_hold=0.02, rate_reset=0.01, seed=seed, phase="mixed")
        return [plan.draw() for _ in range(5000)]

    first, again, other = schedule(7), schedule(7), schedule(8)
    assert first == again
    assert first != other
    kinds = Counter(f.kind for f in first if f is not None)
    assert 200 <= kinds["500"] <= 300 and 60 <= kinds["hold"] <= 140 and 25 <= kinds["reset"] <= 75, kinds
    phases = Counter(f.phase for f in first if f is not None)
    assert phases["before"] > 100 and phases["after"] > 100


@pytest.mark.parametrize(
    "options",
    [{"rate_500": 1.5}, {"rate_500": 0.6, "rate_hold": 0.6}, {"rate_reset": -0.1}, {"phase": "during"},
     {"hold_seconds": -1}],
)
def test_impossible_plans_are_refused(options):
    with pytest.raises(ValueError):
        FaultPlan(**options)


def test_a_seeded_sandbox_fails_the_same_requests_every_run():
    def run() -> list[str]:
        plan = FaultPlan(rate_500=0.2, rate_hold=0.1, rate_reset=0.1, seed=42, hold_seconds=HOLD)
        with SandboxServer(faults=plan) as server, requests.Session() as session:
            session.headers["X-Management-Key"] = DEMO_KEY
            url = f"{server.base_url}/v1/org/{DEMO_ORG_ID}/team"
            # One request at a time, each on a fresh connection: arrival order is request order.
            return [outcome(lambda: session.get(url, timeout=CLIENT_TIMEOUT, headers={"Connection": "close"}))
                    for _ in range(24)]

    first = run()
    assert first == run()
    assert {"200", "500", "timeout", "reset"} <= set(first), first
    assert set(first) <= {"200", "500", "timeout", "reset"}, first


# ------------------------------------------------------------------------- before or after acting


@pytest.mark.parametrize(
    ("kind", "phase", "client_sees", "created", "handler_status", "sent"),
    [
        ("500", "after", "500", True, 200, 500),
        ("500", "before", "500", False, None, 500),
        ("reset", "after", "reset", True, 200, "reset"),
        ("reset", "before", "reset", False, None, "reset"),
        ("hold", "after", "timeout", True, 200, 200),
        ("hold", "before", "timeout", True, 200, 200),  # queued, then handled after the client gave up
    ],
)
def test_each_fault_before_or_after_acting_is_seen_by_the_client_and_logged(
    tmp_path, kind, phase, client_sees, created, handler_status, sent
):
    rates = {"rate_500": 0.0, "rate_hold": 0.0, "rate_reset": 0.0, f"rate_{kind}": 1.0}
    plan = FaultPlan(**rates, hold_seconds=HOLD, phase=phase, seed=1)
    log_path = tmp_path / "requests.jsonl"
    email = f"{kind}-{phase}@example.org"
    with SandboxServer(faults=plan, request_log=RequestLogFile(log_path)) as server:
        seen = outcome(lambda: requests.post(invite_url(server), json={"email": email, "role": "no_role"},
                                             headers={"X-Management-Key": DEMO_KEY}, timeout=CLIENT_TIMEOUT))
        [line] = wait_for_lines(log_path, 1)
        assert seen == client_sees
        assert (server.state.find_invite_by_email(email) is not None) == created
        [entry] = server.state.requests_log()
        assert entry["fault"] == {"kind": kind, "phase": phase, "handler_status": handler_status, "sent": sent}
    assert line["method"] == "POST" and line["json"] == {"email": email, "role": "no_role"}
    assert (line["fault"], line["phase"], line["status"], line["sent"]) == (kind, phase, handler_status, sent)
    assert line["answer"] == ({"status": "invite_created"} if created else None)


def test_without_faults_nothing_is_marked(tmp_path):
    log_path = tmp_path / "requests.jsonl"
    with SandboxServer(request_log=RequestLogFile(log_path)) as server:
        response = requests.post(invite_url(server), json={"email": "calm@example.org"},
                                 headers={"X-Management-Key": DEMO_KEY}, timeout=5)
        assert response.json() == {"status": "invite_created"}
        assert "fault" not in server.state.requests_log()[0]
    [line] = read_request_log(log_path)
    assert (line["status"], line["sent"], line["fault"], line["answer"]) == (200, 200, None,
                                                                             {"status": "invite_created"})
    assert line["received"] <= line["ts"]  # both ISO 8601 in UTC: arrival, then the line after the handler


# ------------------------------------------------------------------------------------ request log


def test_the_request_log_survives_restarts_and_never_holds_the_key(tmp_path):
    log_path = tmp_path / "logs" / "requests.jsonl"
    boots = []
    for round_ in range(2):
        log = RequestLogFile(log_path)
        boots.append(log.boot)
        with SandboxServer(request_log=log) as server:
            requests.get(f"{server.base_url}/v1/org/{DEMO_ORG_ID}/invite", params={"search_query": DEMO_KEY},
                         headers={"X-Management-Key": DEMO_KEY}, timeout=5)
            requests.post(invite_url(server), json={"email": f"round{round_}@example.org", "note": DEMO_KEY},
                          timeout=5)  # no key: 403, logged all the same
    lines = read_request_log(log_path)
    assert [(line["boot"], line["seq"], line["method"], line["status"]) for line in lines] == [
        (boots[0], 1, "GET", 200), (boots[0], 2, "POST", 403), (boots[1], 1, "GET", 200), (boots[1], 2, "POST", 403)
    ]
    assert boots[0] != boots[1]
    assert DEMO_KEY not in log_path.read_text()
    assert lines[0]["query"] == {"search_query": ["[redacted]"]}


def test_a_line_cut_off_by_a_killed_sandbox_is_skipped(tmp_path):
    path = tmp_path / "requests.jsonl"
    path.write_text('{"method": "GET", "seq": 1}\n{"method": "PO')
    assert read_request_log(path) == [{"method": "GET", "seq": 1}]
    assert read_request_log(tmp_path / "absent.jsonl") == []


# ------------------------------------------------------------------------------ the command line


def start_sandbox(*args: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "invite.sandbox", "--port", "0", *args], cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert process.stdout is not None
    for _ in range(50):
        line = process.stdout.readline()
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            return process, found.group(1)
    process.kill()
    raise AssertionError("the sandbox did not say where it listens")


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_command_line_faults_and_a_request_log_kept_across_a_restart(tmp_path):
    log_path = tmp_path / "requests.jsonl"
    process, base_url = start_sandbox("--quiet", "--fault-rate-500", "1", "--fault-seed", "3",
                                      "--request-log", str(log_path))
    try:
        failed = requests.get(f"{base_url}/v1/org/{DEMO_ORG_ID}", headers={"X-Management-Key": DEMO_KEY}, timeout=5)
    finally:
        stop(process)
    process, base_url = start_sandbox("--quiet", "--request-log", str(log_path))
    try:
        answered = requests.get(f"{base_url}/v1/org/{DEMO_ORG_ID}", headers={"X-Management-Key": DEMO_KEY},
                                timeout=5)
    finally:
        stop(process)
    assert (failed.status_code, failed.text) == (500, "Internal Server Error")
    assert answered.status_code == 200
    first, second = read_request_log(log_path)
    assert (first["fault"], first["phase"], first["sent"]) == ("500", "after", 500)
    assert (second["fault"], second["sent"]) == (None, 200)
    assert first["boot"] != second["boot"]


def test_command_line_refuses_rates_that_cannot_be():
    result = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "invite.sandbox", "--fault-rate-500", "0.7", "--fault-rate-reset", "0.7"],
        cwd=REPO, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert "add up to at most 1" in result.stderr
