"""`invite member show|set|remove` as an operator runs it: a real subprocess, a sandbox on loopback and a real
database; exit codes, --json, --as required for changes, a removal asked on a terminal and refused without."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import time
import uuid

import pytest
from conftest import app_env, make_app
from test_cli_process import ACTOR, FLASK, ROOT, audit_rows, command_env, run

from invite.cli import exits


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path / 'invite.db'}"


@pytest.fixture
def env(sandbox, database_url):
    environment = command_env(sandbox, database_url)
    make_app(app_env(sandbox, database_url))
    return environment


def member(sandbox, name: str) -> dict:
    return next(m for m in sandbox.state.members if m["name"] == name)


def changes(sandbox) -> int:
    return sum(1 for r in sandbox.state.requests_log() if r["method"] in ("PATCH", "DELETE"))


def as_json(result: subprocess.CompletedProcess) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_show_prints_the_member_and_their_json(env, sandbox):
    shown = run(env, "member", "show", "PRIYA.NATARAJAN@acmehealth.com")
    assert shown.returncode == exits.DONE, shown.stderr
    assert "Priya Natarajan <priya.natarajan@acmehealth.com>" in shown.stdout
    assert "Teams:      Cardiology, Remote Patient Monitoring" in shown.stdout
    data = as_json(run(env, "member", "show", member(sandbox, "Priya Natarajan")["id"], "--json"))
    assert (data["email"], data["role"], data["invited_by"]) == ("priya.natarajan@acmehealth.com", "team_admin", None)
    missing = run(env, "member", "show", "nobody@acmehealth.com")
    assert missing.returncode == exits.NOT_DONE and "Junction lists no member nobody@acmehealth.com" in missing.stderr


def test_a_change_needs_a_name_for_the_trail(env, sandbox):
    result = run(env, "member", "set", "sam.oconnor@acmehealth.com", "--role", "org_admin")
    assert result.returncode == exits.USAGE and "--as EMAIL" in result.stderr
    assert changes(sandbox) == 0


def test_set_changes_role_and_teams_and_records_both(env, sandbox, database_url):
    result = run(env, "member", "set", "sam.oconnor@acmehealth.com", "--role", "team_admin", "--team", "Cardiology",
                 "--team", "Sleep Clinic", "--as", ACTOR, "--json")
    data = as_json(result)
    assert result.returncode == exits.DONE, result.stderr
    assert (data["outcome"], data["words"]) == ("member_changed", "Role and teams changed")
    assert data["before"] == {"role": "no_role", "teams": []}
    assert sorted(t["name"] for t in data["after"]["teams"]) == ["Cardiology", "Sleep Clinic"]
    [row] = audit_rows(database_url)
    assert (row["action"], row["channel"], row["actor_email"], row["role"]) == ("update_member", "cli", ACTOR,
                                                                                 "team_admin")
    assert sandbox.state.get_member(uuid.UUID(member(sandbox, "Sam O'Connor")["id"]))["role"] == "team_admin"


def test_a_team_admin_needs_a_team_on_the_command_line_too(env, sandbox):
    result = run(env, "member", "set", "sam.oconnor@acmehealth.com", "--role", "team_admin", "--as", ACTOR)
    assert result.returncode == exits.NOT_DONE and "a Team admin needs at least one team" in result.stderr
    assert changes(sandbox) == 0


def test_the_last_org_admin_is_refused_with_exit_1(env, sandbox):
    sandbox.state.update_member(uuid.UUID(member(sandbox, "Marcus Oyelaran")["id"]), "no_role", None)
    result = run(env, "member", "remove", "dana.whitfield@acmehealth.com", "--yes", "--as", ACTOR)
    assert result.returncode == exits.NOT_DONE
    assert "Not removed: Dana Whitfield is the org's last Org admin." in result.stderr
    assert changes(sandbox) == 0


def test_faults_end_in_their_exit_codes(env, sandbox):
    for email, code, kind in (("status429@example.com", exits.UNAVAILABLE, "rate_limited"),
                              ("status500@example.com", exits.UNKNOWN, "unknown"),
                              ("lost@example.com", exits.DONE, "member_removed")):
        sandbox.state.add_member("Scripted", email)
        result = run(env, "member", "remove", email, "--yes", "--as", ACTOR, "--json")
        assert (result.returncode, as_json(result)["outcome"]) == (code, kind), result.stdout


def test_remove_without_yes_refuses_without_a_terminal(env, sandbox):
    result = run(env, "member", "remove", "jordan.blake@acmehealth.com", "--as", ACTOR)
    assert result.returncode == exits.NOT_DONE
    assert "Nothing was removed: no terminal to ask on." in result.stderr
    assert changes(sandbox) == 0


def _answering(env: dict[str, str], answer: str, *args: str) -> tuple[int, str]:
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen([*FLASK, *args], cwd=ROOT, env=env, stdin=follower, stdout=follower,  # noqa: S603
                                   stderr=follower)
        os.close(follower)
        seen = b""
        deadline = time.monotonic() + 60
        while b"[y/N]" not in seen and time.monotonic() < deadline:
            seen += os.read(leader, 4096)
        os.write(leader, answer.encode() + b"\n")
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        return process.wait(timeout=60), seen.decode()
    finally:
        os.close(leader)


def test_remove_asks_on_a_terminal(env, sandbox):
    code, shown = _answering(env, "n", "member", "remove", "jordan.blake@acmehealth.com", "--as", ACTOR)
    assert code == exits.NOT_DONE and "Remove Jordan Blake <jordan.blake@acmehealth.com> (No role)" in shown
    assert changes(sandbox) == 0
    code, shown = _answering(env, "y", "member", "remove", "jordan.blake@acmehealth.com", "--as", ACTOR)
    assert code == exits.DONE and "Removed Jordan Blake (jordan.blake@acmehealth.com) from the org." in shown
    assert changes(sandbox) == 1
