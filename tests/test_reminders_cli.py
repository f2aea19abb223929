"""`invite reminders plan|run|pause|resume` as an operator runs them: the real command in a subprocess, against a
sandbox on loopback and a real (migrated) SQLite database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from conftest import app_env, make_app
from test_cli_process import ACTOR, command_env, run

from invite.cli import exits
from tests.bulk_support import posted_addresses

ON = {"INVITE_REMIND_AFTER": "3d", "INVITE_REMIND_HOURS": "00-24", "INVITE_REMIND_DAYS": "mon-sun"}


@pytest.fixture
def database(sandbox, tmp_path):
    url = f"sqlite:///{tmp_path / 'invite.db'}"
    make_app(app_env(sandbox, url)).extensions["upstream"].client.close()
    return url


def test_plan_lists_what_the_next_check_sends_and_why_others_wait(sandbox, database):
    sandbox.state.seed_invite("due@example.org", datetime.now(UTC) - timedelta(days=4))
    sandbox.state.seed_invite("soon@example.org", datetime.now(UTC) - timedelta(days=1))
    env = command_env(sandbox, database, **ON)
    result = run(env, "reminders", "plan", "--json")
    assert result.returncode == exits.DONE, result.stderr
    record = json.loads(result.stdout)
    by_email = {item["email"]: item for item in record["invitations"]}
    assert record["due"] == 1 and by_email["due@example.org"]["state"] == "due"
    assert by_email["soon@example.org"]["state"] == "later"
    assert by_email["soon@example.org"]["words"] == "reminded 0 of 2 times; next reminder in 47 hours"
    assert by_email["kofi.mensah@acmehealth.com"]["stale"]
    text = run(env, "reminders", "plan")
    assert "The next check would remind 1 invitation." in text.stdout
    assert "due@example.org: reminded 0 of 2 times; next reminder due now" in text.stdout
    assert posted_addresses(sandbox) == {}  # a plan sends nothing


def test_run_sends_what_is_due_once_and_off_says_so(sandbox, database):
    sandbox.state.seed_invite("due@example.org", datetime.now(UTC) - timedelta(days=4))
    off = run(command_env(sandbox, database), "reminders", "run")
    assert off.returncode == exits.NOT_DONE and "INVITE_REMIND_AFTER is not set" in off.stderr
    env = command_env(sandbox, database, **ON)
    first = run(env, "reminders", "run", "--json")
    assert first.returncode == exits.DONE, first.stderr
    assert json.loads(first.stdout)["outcomes"] == {"invite_resent": 1}
    again = run(env, "reminders", "run")
    assert again.returncode == exits.DONE and "1 due" not in again.stdout
    assert posted_addresses(sandbox) == {"due@example.org": 1}


def test_pause_and_resume_need_a_name_and_are_recorded(sandbox, database):
    sandbox.state.seed_invite("due@example.org", datetime.now(UTC) - timedelta(days=4))
    env = command_env(sandbox, database, **ON)
    nameless = run(env, "reminders", "pause")
    assert nameless.returncode == exits.USAGE
    paused = run(env, "reminders", "pause", "--as", ACTOR)
    assert paused.returncode == exits.DONE and f"recorded as {ACTOR}" in paused.stdout
    plan = json.loads(run(env, "reminders", "plan", "--json").stdout)
    assert plan["paused"]["by"] == ACTOR
    assert run(env, "reminders", "run", "--json").returncode == exits.DONE
    assert posted_addresses(sandbox) == {}
    assert run(env, "reminders", "resume", "--as", ACTOR).returncode == exits.DONE
    assert json.loads(run(env, "reminders", "run", "--json").stdout)["outcomes"] == {"invite_resent": 1}
