"""The real command, as an operator runs it: `.venv/bin/flask --app app invite …` (and `python -m invite.cli`, what
the `invite` console script runs) in a subprocess, against a sandbox on loopback and a real database."""

from __future__ import annotations

import getpass
import json
import os
import pty
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import TIMES_OUT_ON_SLOW, app_env, form_tokens, make_app

from invite.cli import exits
from invite.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parent.parent
FLASK = [str(Path(sys.executable).parent / "flask"), "--app", "app", "invite"]
SCRIPT = [sys.executable, "-m", "invite.cli"]
ACTOR = "ops.person@acme.test"
KOFI = "kofi.mensah@acmehealth.com"


def command_env(sandbox: SandboxServer, database_url: str, **overrides: str) -> dict[str, str]:
    """The operator's environment: this machine's, with the app's variables pointing at the test's sandbox."""
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("INVITE_", "JUNCTION_", "AUTH_", "ADMIN_", "SUPPORT_")) and k not in (
                "DATABASE_URL", "NO_COLOR", "FLASK_RUN_FROM_CLI")}
    env = {**keep, **app_env(sandbox, database_url), "AUTH_MODE": "header",
           "AUTH_TRUSTED_PROXIES": "127.0.0.1/32", "ADMIN_EMAILS": ACTOR, "PYTHONUNBUFFERED": "1"}
    env.update(overrides)
    return env


def start(env: dict[str, str], *args: str, command: list[str] = FLASK, **popen) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own command with test arguments
        [*command, *args], cwd=ROOT, env=env, stdout=popen.pop("stdout", subprocess.PIPE), stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, text=True, **popen)


def run(env: dict[str, str], *args: str, command: list[str] = FLASK) -> subprocess.CompletedProcess:
    return subprocess.run([*command, *args], cwd=ROOT, env=env, capture_output=True, text=True,  # noqa: S603
                          stdin=subprocess.DEVNULL, timeout=120)


@pytest.fixture
def env(sandbox, tmp_path):
    url = f"sqlite:///{tmp_path / 'invite.db'}"
    environment = command_env(sandbox, url, JUNCTION_TIMEOUT_SECONDS=TIMES_OUT_ON_SLOW)  # slow@ goes unanswered
    make_app(app_env(sandbox, url))  # migrated, as the Procfile's release step does
    return environment


def audit_rows(database_url: str) -> list[dict]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM actions ORDER BY id"))]
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------------------ outcomes


SEND_OUTCOMES = [
    ("new.person@example.com", exits.DONE, "invite_created", "Sent: Junction emailed an invitation"),
    ("dana.whitfield@acmehealth.com", exits.DONE, "already_in_org", "Already a member"),
    (KOFI, exits.DONE, "invite_resent", "Sent again"),
    ("slow@example.com", exits.DONE, "confirmed_pending", "Junction did not confirm in time, but now lists"),
    ("bad-address", exits.NOT_DONE, "validation_error", "  EMAIL: value is not a valid email address"),
    ("status409@example.com", exits.NOT_DONE, "conflict", "refused this invitation as a conflict"),
    ("status429@example.com", exits.UNAVAILABLE, "rate_limited", "Wait 30 seconds, then send again."),
    # A 5xx may have acted: Junction's list checked after it shows nothing, which leaves it unknown (probably
    # not sent) in words, in the trail and in the exit code alike.
    ("status500@example.com", exits.UNKNOWN, "unknown", "Unknown: may have been sent."),
    ("status502@example.com", exits.UNKNOWN, "unknown", "For support: HTTP 502."),
    # An answer that cannot be read: Junction may still be acting, so the list proves nothing yet.
    ("oddstatus@example.com", exits.UNKNOWN, "unknown", "`invite invitations --search oddstatus@example.com`"),
]


def test_every_send_outcome_ends_with_its_exit_code_and_its_audit_row(env):
    # Started together: each run is mostly Python starting up.
    running = {email: start(env, "send", email, "--role", "org_admin", "--as", ACTOR)
               for email, *_ in SEND_OUTCOMES}
    for email, code, _, words in SEND_OUTCOMES:
        out, err = running[email].communicate(timeout=120)
        assert running[email].returncode == code, (email, out, err)
        assert words in (out if code == exits.DONE else err), (email, out, err)
    recorded = {row["target_email"]: row for row in audit_rows(env["DATABASE_URL"])}
    for email, _, kind, _ in SEND_OUTCOMES:
        assert recorded[email]["outcome_kind"] == kind, email
        assert (recorded[email]["channel"], recorded[email]["actor_email"]) == ("cli", ACTOR)


def test_a_rejected_key_or_a_bad_configuration_exits_4(sandbox, env):
    rejected = run({**env, "JUNCTION_MANAGEMENT_KEY": "mg_not_the_sandbox_key"},
                   "send", "new@example.com", "--role", "org_admin", "--as", ACTOR)
    assert rejected.returncode == exits.CONFIGURATION, rejected.stderr
    assert "Not sent: Junction rejected the dashboard's Management Key." in rejected.stderr
    assert "mg_not_the_sandbox_key" not in rejected.stdout + rejected.stderr

    for command in (FLASK, SCRIPT):
        broken = run({**env, "JUNCTION_TIMEOUT_SECONDS": "soon"}, "teams", command=command)
        assert broken.returncode == exits.CONFIGURATION, broken.stderr
        assert broken.stderr.splitlines() == [
            "configuration error: JUNCTION_TIMEOUT_SECONDS must be a number (got 'soon')."]


def test_an_unreachable_junction_exits_5(env):
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    down = {**env, "JUNCTION_API_BASE_URL": closed}
    sent = start(down, "send", "new@example.com", "--role", "org_admin", "--as", ACTOR)
    listed = start(down, "invitations")
    _, err = sent.communicate(timeout=120)
    assert sent.returncode == exits.UNAVAILABLE and "could not connect to Junction" in err
    _, err = listed.communicate(timeout=120)
    assert listed.returncode == exits.UNAVAILABLE
    assert "Could not load the invitations: the dashboard could not connect to Junction." in err


def test_no_as_refuses_in_one_line_and_a_bad_command_line_exits_2(sandbox, env):
    refused = start(env, "revoke", KOFI, "--yes")
    usage = start(env, "send", "new@example.com", "--as", ACTOR)
    out, err = refused.communicate(timeout=120)
    assert refused.returncode == exits.USAGE and out == ""
    assert err == "invite: refusing to act without a name for the audit trail: pass --as EMAIL or set INVITE_ACTOR.\n"
    _, err = usage.communicate(timeout=120)
    assert usage.returncode == exits.USAGE and "Missing option '--role'" in err
    assert sandbox.state.find_invite_by_email(KOFI) is not None
    assert [e for e in sandbox.state.requests_log() if e["method"] != "GET"] == []


def test_json_shapes_of_an_action_and_of_a_list(env):
    sent = start({**env, "INVITE_ACTOR": ACTOR}, "send", "bad-address", "--role", "team_admin", "--team",
                 "Cardiology", "--json")
    listed = start(env, "invitations", "--search", "acmehealth.eu", "--json")
    out, err = sent.communicate(timeout=120)
    assert sent.returncode == exits.NOT_DONE, err
    answer = json.loads(out)
    assert set(answer) == {"outcome", "exit_code", "title", "text", "field_errors", "form_errors", "action",
                           "action_id", "email", "role", "teams", "invite_id", "http_status",
                           "junction_request_id", "sent", "retry_at"}
    assert (answer["outcome"], answer["exit_code"], answer["http_status"]) == ("validation_error", 1, 422)
    assert list(answer["field_errors"]) == ["email"]
    out, _ = listed.communicate(timeout=120)
    records = [json.loads(line) for line in out.splitlines()]
    assert {r["email"] for r in records} == {"anna.berg@acmehealth.eu", "claire.dubois@acmehealth.eu",
                                             "Helena.Sousa@AcmeHealth.eu"}


# ------------------------------------------------------------------------------------------ Ctrl-C


def test_ctrl_c_during_a_send_leaves_the_write_ahead_row_reported_unknown(tmp_path):
    with SandboxServer(port=0, slow_seconds=30) as slow_sandbox:
        url = f"sqlite:///{tmp_path / 'invite.db'}"
        make_app(app_env(slow_sandbox, url))
        env = command_env(slow_sandbox, url, JUNCTION_TIMEOUT_SECONDS="60")
        # As from a terminal: SIGINT handled by default, even when this suite runs as a background job (which
        # a non-interactive shell starts with SIGINT ignored, and children inherit that).
        sending = start(env, "send", "slow@example.com", "--role", "org_admin", "--as", ACTOR,
                        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 60
        while not any(e["method"] == "POST" for e in slow_sandbox.state.requests_log()):
            assert time.monotonic() < deadline and sending.poll() is None, sending.communicate()
            time.sleep(0.05)
        sending.send_signal(signal.SIGINT)  # what Ctrl-C sends
        out, err = sending.communicate(timeout=60)
        assert sending.returncode == exits.UNKNOWN, err
        assert "Interrupted: Junction may or may not have sent the invitation for slow@example.com." in err
        assert "Traceback" not in err

        trail = run(env, "activity", "--format", "jsonl", "--target", "slow@")
    assert trail.returncode == exits.DONE
    [row] = [json.loads(line) for line in trail.stdout.splitlines()]
    assert (row["action"], row["outcome"], row["junction_http_status"], row["channel"]) == (
        "send", "unknown", None, "cli")


# ------------------------------------------------------------------------------------------ the audit row


def test_the_audit_row_names_the_person_the_os_user_and_the_host(sandbox, database_url):
    app = make_app(app_env(sandbox, database_url, AUTH_MODE="header", AUTH_TRUSTED_PROXIES="127.0.0.1/32",
                           ADMIN_EMAILS=f"{ACTOR},web.admin@acme.test"))
    env = command_env(sandbox, database_url, INVITE_ACTOR="Ops.Person@Acme.TEST")
    result = run(env, "-v", "send", "new@example.com", "--role", "org_admin")
    assert result.returncode == exits.DONE, result.stderr
    # stdout is the command's; the app's JSON log lines (-v: all of them) go to stderr.
    assert result.stdout == "Sent: Junction emailed an invitation to new@example.com as Org admin.\n"
    audit = [json.loads(line) for line in result.stderr.splitlines() if '"invite.audit"' in line]
    assert [(a["audit"], a["channel"], a["actor_email"], a["outcome"]) for a in audit] == [
        ("started", "cli", ACTOR, "unknown"), ("completed", "cli", ACTOR, "invite_created")]

    web = app.test_client()
    headers = {"X-Forwarded-Email": "web.admin@acme.test"}
    page = web.get("/", headers=headers).get_data(as_text=True)
    posted = web.post("/", headers=headers, data={**form_tokens(page), "email": "web@example.com",
                                                  "role": "org_admin"})
    assert posted.status_code == 303

    cli_row, web_row = audit_rows(database_url)
    assert (cli_row["actor_email"], cli_row["actor_role"], cli_row["channel"]) == (ACTOR, "admin", "cli")
    assert (cli_row["os_user"], cli_row["host"]) == (getpass.getuser(), socket.gethostname())
    assert cli_row["outcome_kind"] == "invite_created" and cli_row["client_addr"] is None
    assert (web_row["actor_email"], web_row["channel"], web_row["os_user"], web_row["host"]) == (
        "web.admin@acme.test", "web", None, None)
    app.extensions["upstream"].client.close()


# ------------------------------------------------------------------------------------------ terminal


def _on_a_terminal(env: dict[str, str], *args: str) -> str:
    leader, follower = pty.openpty()
    try:
        process = start(env, *args, stdout=follower)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=120)
    finally:
        os.close(leader)
    return b"".join(chunks).decode()


def test_colour_on_a_terminal_but_not_with_no_color_nor_in_a_pipe(env):
    assert "\x1b[1mNAME" in _on_a_terminal(env, "teams", "--search", "Cardio")
    plain = _on_a_terminal({**env, "NO_COLOR": "1"}, "teams", "--search", "Cardio")
    assert "NAME" in plain and "\x1b[" not in plain
    piped = run(env, "teams", "--search", "Cardio", command=SCRIPT)
    assert piped.returncode == 0 and piped.stdout.startswith("NAME") and "\x1b[" not in piped.stdout
