"""`invite access export` and `invite access plan` as an operator runs them: a real subprocess, the sandbox over
HTTP on loopback and a real database. The round trip (export, then plan of the exported file changes nothing),
the plan's exit codes 0/2/1 (Terraform's -detailed-exitcode), --json, --out, and a plan that reads each of
Junction's lists once and changes nothing."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import pytest
from conftest import app_env, make_app
from test_cli_process import ACTOR, command_env, run

from invite.cli.access import CHANGES, FAILED, NO_CHANGES, PLAN_EXITS
from invite.core.access import Plan


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path / 'invite.db'}"


@pytest.fixture
def env(sandbox, database_url):
    environment = command_env(sandbox, database_url)
    make_app(app_env(sandbox, database_url))
    return environment


def exported(env, tmp_path, *args: str, name: str = "access.yaml"):
    result = run(env, "access", "export", *args)
    assert result.returncode == 0, result.stderr
    path = tmp_path / name
    path.write_text(result.stdout, encoding="utf-8")
    return path


def junction_calls(sandbox) -> list[tuple[str, str, bool]]:
    """(method, the path's last part, whether the request asked for a page after the first)."""
    return [(r["method"], r["path"].rsplit("/", 1)[-1], "next_cursor" in (r["query"] or {}))
            for r in sandbox.state.requests_log()]


def test_export_then_plan_says_nothing_would_change(env, sandbox, tmp_path):
    sent = run(env, "send", "new.hire@example.com", "--role", "team_admin", "--team", "Cardiology", "--as", ACTOR)
    assert sent.returncode == 0, sent.stderr
    path = exported(env, tmp_path)
    text = path.read_text()
    assert "manage: [invites, members]" in text and "removals" in text.split("manage:")[0]
    assert ("  - email: new.hire@example.com  # pending since 20" in text
            and f"invited by {ACTOR} on " in text and "through this dashboard" in text)
    dana = "  - email: dana.whitfield@acmehealth.com  # Dana Whitfield, member since 2026-01-05\n    role: org_admin\n"
    assert dana in text
    members = text.index("# Members (")
    pending = text.index("# Pending invitations (")
    assert members < text.index("dana.whitfield@") < pending < text.index("new.hire@")

    before = len(sandbox.state.requests_log())
    planned = run(env, "access", "plan", str(path))
    assert planned.returncode == NO_CHANGES, planned.stdout + planned.stderr
    people = len(sandbox.state.find_members()) + len(sandbox.state.find_invites())
    assert planned.stdout == f"No changes. {people} already match.\n"
    # One walk of each list, and nothing else: a plan changes nothing.
    calls = junction_calls(sandbox)[before:]
    assert sorted(last for _, last, later_page in calls if not later_page) == ["invite", "member", "team"]
    assert {method for method, _, _ in calls} == {"GET"}


def test_a_toml_export_plans_nothing_too(env, tmp_path):
    path = exported(env, tmp_path, "--toml", name="access.toml")
    assert '[[people]]  # Dana Whitfield, member since 2026-01-05\nemail = "dana.whitfield@acmehealth.com"' in \
        path.read_text()
    planned = run(env, "access", "plan", str(path))
    assert planned.returncode == NO_CHANGES and planned.stdout.startswith("No changes."), planned.stderr


def _edited(path, *pairs: tuple[str, str]):
    text = path.read_text()
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    edited = path.with_name("edited.yaml")
    edited.write_text(text)
    return edited


def test_a_plan_with_changes_exits_2_lists_them_and_saves_exactly_that(env, sandbox, tmp_path):
    path = _edited(
        exported(env, tmp_path),
        ("  - email: dana.whitfield@acmehealth.com  # Dana Whitfield, member since 2026-01-05\n    role: org_admin\n",
         "  - email: dana.whitfield@acmehealth.com\n    role: team_admin\n    teams: [cardiology]\n"),
        ("  - email: jordan.blake@acmehealth.com  # Jordan Blake, member since 2026-06-02\n    role: no_role\n", ""),
        ("people:\n", "people:\n  - email: ben.new@example.com\n    role: no_role\n"),
    )
    before = len(sandbox.state.requests_log())
    result = run(env, "access", "plan", str(path), "--out", str(tmp_path / "plan.json"))
    assert result.returncode == CHANGES, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "To invite (1)",
        f"  + Invite ben.new@example.com as No role  (line {path.read_text().splitlines().index('people:') + 2})",
        "To change (1)",
        "  ~ Change Dana Whitfield <dana.whitfield@acmehealth.com>: Org admin → Team admin of Cardiology  "
        f"(line {path.read_text().splitlines().index('  - email: dana.whitfield@acmehealth.com') + 1})",
    ]
    assert "Not in the file, left alone (the file does not manage removals) (1)" in lines
    assert "  = Jordan Blake <jordan.blake@acmehealth.com> (No role): not in the file, left alone" in lines
    assert lines[-2].startswith("2 changes: 1 to invite, 1 to change. ") and lines[-2].endswith(
        "; 1 not in the file, left alone.")
    assert lines[-1].startswith(f"Saved the plan to {tmp_path / 'plan.json'}: `invite access apply ")
    assert {method for method, _, _ in junction_calls(sandbox)[before:]} == {"GET"}

    saved = json.loads((tmp_path / "plan.json").read_text())
    plan = Plan.from_json(saved)
    assert plan.file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest() and len(plan.fingerprint) == 64
    assert [(c.kind, c.email) for c in plan.changes] == [("invite", "ben.new@example.com"),
                                                         ("update", "dana.whitfield@acmehealth.com")]
    assert plan.source == str(path)

    again = run(env, "access", "plan", str(path), "--json")
    assert again.returncode == CHANGES
    data = json.loads(again.stdout)
    assert {k: v for k, v in data.items() if k not in ("id", "created_at")} == \
        {k: v for k, v in saved.items() if k not in ("id", "created_at")}


def test_removals_are_planned_only_when_the_file_manages_them(env, tmp_path):
    path = _edited(
        exported(env, tmp_path),
        ("manage: [invites, members]", "manage: [invites, members, removals]"),
        ("  - email: jordan.blake@acmehealth.com  # Jordan Blake, member since 2026-06-02\n    role: no_role\n", ""),
    )
    result = run(env, "access", "plan", str(path))
    assert result.returncode == CHANGES
    assert "To remove from the org (not in the file) (1)\n  - Remove Jordan Blake <jordan.blake@acmehealth.com> " \
           "(No role) from the org\n" in result.stdout
    assert "left alone" not in result.stdout


def test_a_file_with_problems_exits_1_with_every_problem_and_its_line(env, sandbox, tmp_path):
    path = tmp_path / "access.yaml"
    path.write_text("people:\n  - email: bob@\n    role: no_role\n  - email: ada@example.com\n    role: team_admin\n"
                    "    teams: [Cardiolgy]\n  - email: ADA@example.com\n    role: boss\n")
    result = run(env, "access", "plan", str(path), "--out", str(tmp_path / "plan.json"))
    assert result.returncode == FAILED and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path} has 4 problems; nothing was planned.",
        f"  {path}:2: “bob@” is not an email address (write it like name@example.com).",
        f"  {path}:6: The org has no team named “Cardiolgy”. Did you mean Cardiology?",
        f"  {path}:7: ADA@example.com is already in the file at line 4 (addresses are compared without case): keep "
        "one entry per person.",
        f"  {path}:8: “boss” is not a role: write org_admin, team_admin or no_role.",
        "  Fix the file and plan again.",
    ]
    assert not (tmp_path / "plan.json").exists()
    as_json = run(env, "access", "plan", str(path), "--json")
    data = json.loads(as_json.stdout)
    assert as_json.returncode == FAILED and (data["outcome"], data["exit_code"]) == ("bad_file", FAILED)
    assert [p["line"] for p in data["problems"]] == [2, 6, 7, 8]


def test_standard_input_and_unreadable_yaml(env):
    import subprocess

    from test_cli_process import FLASK, ROOT

    result = subprocess.run([*FLASK, "access", "plan", "-"], cwd=ROOT, env=env,  # noqa: S603
                            capture_output=True, text=True, timeout=120,
                            input="people:\n  - email: a@example.com\n   role: no_role\n")
    assert result.returncode == FAILED
    assert result.stderr.splitlines()[1].startswith("  <stdin>:3: This is not valid YAML (")


def test_a_missing_file_exits_1_and_a_bad_command_line_2(env):
    missing = run(env, "access", "plan", "no-such-access.yaml")
    assert missing.returncode == FAILED
    assert "Nothing was planned: no-such-access.yaml could not be read (No such file or directory)." in missing.stderr
    usage = run(env, "access", "plan")
    assert usage.returncode == 2 and "Missing argument 'FILE'" in usage.stderr
    unknown = run(env, "access", "plan", "access.yaml", "--detailed")
    assert unknown.returncode == 2 and "No such option" in unknown.stderr


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_junction_unreachable_or_refusing_the_key_exits_1(sandbox, database_url, tmp_path):
    make_app(app_env(sandbox, database_url))
    path = tmp_path / "access.yaml"
    path.write_text("people: []\n")
    down = command_env(sandbox, database_url, JUNCTION_API_BASE_URL=f"http://127.0.0.1:{_closed_port()}")
    result = run(down, "access", "plan", str(path))
    assert result.returncode == FAILED and result.stdout == ""
    assert result.stderr.startswith("Nothing was planned: the org's members, invitations and teams could not be read: "
                                    "the dashboard could not connect to Junction.")
    rejected = command_env(sandbox, database_url, JUNCTION_MANAGEMENT_KEY="mg_not_the_key")
    result = run(rejected, "access", "plan", str(path), "--json")
    data = json.loads(result.stdout)
    assert result.returncode == FAILED and (data["outcome"], data["exit_code"]) == ("lookup_failed", FAILED)
    assert "Management Key" in data["title"] and "mg_not_the_key" not in result.stdout + result.stderr
    # export is a lookup like `invite members`: the command line's own exit codes (4: the key).
    assert run(rejected, "access", "export").returncode == 4


def test_the_docs_table_of_plan_exit_codes_says_what_the_code_says():
    text = (Path(__file__).resolve().parents[1] / "docs" / "access.md").read_text()
    table = text[text.index("### Exit codes"):text.index("## Tests")]
    rows = [line for line in table.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert rows == [f"| {row.code} | {row.meaning} |" for row in PLAN_EXITS]
