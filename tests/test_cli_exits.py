"""The exit-code table (invite.cli.exits.TABLE), one real command per row, and what the real command does with
no configuration, a closed pipe, a rejected key, a throwaway sandbox and AUTH_MODE=dev: `flask --app app
invite …` and `python -m invite.cli …` (the `invite` script's main) in subprocesses, against a sandbox on
loopback and a real database (tests/test_cli_process.py has the operator's environment)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from test_cli_process import ACTOR, FLASK, ROOT, SCRIPT, audit_rows, command_env, run, start

from invite.cli import exits

# A row's code: the command that ends with it, the environment it changes, and words its message has.
SCENARIOS = {
    exits.DONE: (["send", "new@example.com", "--role", "org_admin"], {},
                 "Sent: Junction emailed an invitation to new@example.com"),
    exits.NOT_DONE: (["send", "bad-address", "--role", "org_admin"], {}, "EMAIL: value is not a valid email address"),
    exits.USAGE: (["send", "new@example.com", "--role", "owner"], {}, "'owner' is not one of"),
    exits.UNKNOWN: (["send", "oddstatus@example.com", "--role", "org_admin"], {},
                    "`invite invitations --search oddstatus@example.com`"),
    exits.CONFIGURATION: (["send", "new@example.com", "--role", "org_admin"],
                          {"JUNCTION_MANAGEMENT_KEY": "mg_not_the_sandbox_key"},
                          "Junction rejected the dashboard's Management Key"),
    exits.UNAVAILABLE: (["send", "status429@example.com", "--role", "org_admin"], {},
                        "Wait 30 seconds, then send again."),
}


@pytest.fixture
def env(sandbox, tmp_path):
    from conftest import app_env, make_app

    url = f"sqlite:///{tmp_path / 'invite.db'}"
    make_app(app_env(sandbox, url))
    return command_env(sandbox, url, INVITE_ACTOR=ACTOR)


def test_every_code_in_the_table_has_a_scenario_and_a_line_in_help_and_the_docs():
    assert set(SCENARIOS) == {row.code for row in exits.TABLE}
    assert len({row.code for row in exits.TABLE}) == len(exits.TABLE)
    docs = exits.markdown_table().splitlines()
    assert docs[:2] == ["| code | meaning |", "| --- | --- |"]
    for row in exits.TABLE:
        assert f"  {row.code}  {row.meaning}" in exits.EXPLAINED.splitlines()
        assert f"| {row.code} | {row.meaning} |" in docs


@pytest.mark.parametrize("row", exits.TABLE, ids=lambda row: f"{row.code}-{row.name}")
def test_each_row_of_the_table_is_what_a_real_command_exits_with(env, row):
    args, overrides, words = SCENARIOS[row.code]
    result = run({**env, **overrides}, *args, command=SCRIPT if row.code % 2 else FLASK)
    assert result.returncode == row.code, (result.stdout, result.stderr)
    assert words in (result.stdout if row.code == exits.DONE else result.stderr)
    assert "Traceback" not in result.stderr


def test_help_shows_the_table(env):
    shown = run(env, "--help", command=SCRIPT)
    assert shown.returncode == exits.DONE
    assert [line.strip() for line in exits.EXPLAINED.splitlines()[2:]] == [
        line.strip() for line in shown.stdout.split("Exit codes:\n", 1)[1].splitlines()]


# ------------------------------------------------------------------------------------------ no configuration


BARE = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}


@pytest.mark.parametrize("command", [FLASK, SCRIPT], ids=["flask", "script"])
def test_help_version_and_usage_errors_need_no_configuration(command, tmp_path):
    def bare(*args: str) -> subprocess.CompletedProcess:
        # From an empty directory: no .env or .flaskenv to fill the configuration in.
        return elsewhere(BARE, tmp_path, *args, command=command)

    helped = bare("--help")
    assert helped.returncode == exits.DONE, helped.stderr
    assert "Exit codes:" in helped.stdout and helped.stderr == ""
    assert bare("send", "--help").returncode == exits.DONE
    version = bare("--version")
    assert version.returncode == exits.DONE and version.stdout.startswith("invite ")
    missing = bare("send", "new@example.com")
    assert missing.returncode == exits.USAGE and "Missing option '--role'" in missing.stderr
    nameless = bare("revoke", "new@example.com", "--yes")
    assert nameless.returncode == exits.USAGE and "--as EMAIL" in nameless.stderr
    assert "configuration error" not in missing.stderr + nameless.stderr

    ran = bare("teams")
    assert ran.returncode == exits.CONFIGURATION and ran.stdout == ""
    assert ran.stderr.startswith("configuration error: JUNCTION_MANAGEMENT_KEY")


# ------------------------------------------------------------------------------------------ output


def test_a_reader_that_stops_reading_ends_the_command_quietly_with_0(env):
    for command in (FLASK, SCRIPT):
        reading, writing = os.pipe()
        os.close(reading)  # like `| head -1` once it has its line: every write finds the pipe closed
        try:
            listing = start(env, "invitations", command=command, stdout=writing)
        finally:
            os.close(writing)
        _, err = listing.communicate(timeout=120)
        assert (listing.returncode, err) == (exits.DONE, ""), command


def test_a_list_refused_on_its_first_page_prints_nothing_on_stdout(env):
    for args in (["teams"], ["members"], ["invitations"]):
        refused = run({**env, "JUNCTION_MANAGEMENT_KEY": "mg_not_the_sandbox_key"}, *args)
        assert refused.returncode == exits.CONFIGURATION, refused.stderr
        assert refused.stdout == ""
        assert "Junction rejected the dashboard's Management Key" in refused.stderr


def test_auth_mode_dev_says_nothing_on_the_command_line_without_v(sandbox, tmp_path):
    from conftest import app_env, make_app

    url = f"sqlite:///{tmp_path / 'invite.db'}"
    make_app(app_env(sandbox, url))
    env = {k: v for k, v in command_env(sandbox, url).items() if not k.startswith(("AUTH_", "ADMIN_"))}
    env["AUTH_MODE"] = "dev"
    for command in (FLASK, SCRIPT):
        listed = run(env, "teams", "--search", "Cardio", command=command)
        assert listed.returncode == exits.DONE, listed.stderr
        assert listed.stderr == ""


# ------------------------------------------------------------------------------------------ which Junction


def elsewhere(env: dict[str, str], cwd, *args: str, command: list[str]) -> subprocess.CompletedProcess:
    """The command run from `cwd`, away from any .flaskenv a bin/dev running in this checkout left."""
    command = [c for c in command if c not in ("--app", "app")]
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True,  # noqa: S603
                          env={**env, "PYTHONPATH": str(ROOT), "FLASK_APP": str(ROOT / "app.py")},
                          stdin=subprocess.DEVNULL, timeout=120)


def test_a_throwaway_sandbox_beside_a_lasting_trail_is_refused(env, tmp_path):
    throwaway = {k: v for k, v in env.items() if k != "JUNCTION_API_BASE_URL"}
    for command in (FLASK, SCRIPT):
        sent = elsewhere(throwaway, tmp_path, "send", "new@example.com", "--role", "org_admin", command=command)
        assert sent.returncode == exits.CONFIGURATION
        assert sent.stdout == ""
        [line] = sent.stderr.splitlines()
        assert "throwaway sandbox" in line and "bin/dev" in line and "JUNCTION_API_BASE_URL" in line
    assert audit_rows(env["DATABASE_URL"]) == []
    trail = elsewhere(throwaway, tmp_path, "activity", "--json", command=SCRIPT)  # the trail alone needs no Junction
    assert (trail.returncode, trail.stdout) == (exits.DONE, "")


def test_the_environment_files_fill_in_what_the_environment_does_not_set(env, sandbox, tmp_path):
    # A team only this sandbox has: a command that used any other Junction would not list it.
    with sandbox.state.lock:
        sandbox.state.teams = [{**sandbox.state.teams[0], "name": "Cardiology of this sandbox only"}]
    (tmp_path / ".flaskenv").write_text(f'JUNCTION_API_BASE_URL="{sandbox.base_url}"\n', encoding="utf-8")
    (tmp_path / "app.py").symlink_to(ROOT / "app.py")
    without = {k: v for k, v in env.items() if k != "JUNCTION_API_BASE_URL"}
    for command in (FLASK, [sys.executable, "-m", "invite.cli"]):
        listed = subprocess.run([*command, "teams", "--search", "Cardio"], cwd=tmp_path,  # noqa: S603
                                env={**without, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, timeout=120)
        assert listed.returncode == exits.DONE, listed.stderr
        assert "Cardiology of this sandbox only" in listed.stdout


def test_an_unreachable_sandbox_asks_whether_bin_dev_is_running(env):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    sent = run({**env, "JUNCTION_API_BASE_URL": closed}, "send", "new@example.com", "--role", "org_admin")
    assert sent.returncode == exits.UNAVAILABLE
    assert f"Is bin/dev running? Nothing answers at {closed}" in sent.stderr


def test_the_docs_table_is_printed_by_the_module(env):
    printed = subprocess.run([sys.executable, "-m", "invite.cli.exits"], cwd=ROOT, capture_output=True,  # noqa: S603
                             text=True, timeout=60, env=env)
    assert printed.returncode == 0 and printed.stdout == exits.markdown_table()



# Where the docs show the table, this line comes right before it (docs/command-line.md, once it has it).
DOCS_MARKER = "<!-- exit codes: generated by `python -m invite.cli.exits` from invite/cli/exits.py -->"


def test_every_exit_table_in_the_docs_is_the_generated_one():
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        for shown in text.split(DOCS_MARKER)[1:]:
            table = shown.lstrip("\n").split("\n\n", 1)[0] + "\n"
            assert table == exits.markdown_table(), path
