"""`invite access export|plan|apply`: who has which role and teams, kept in a reviewed file (issue 27).

`export` writes today's org as a file to start from; `plan FILE` reads Junction's members, invitations and
teams once (invite.services.access.read_state), checks the file (invite.core.access_file), computes the plan
(invite.core.access.compute_plan) and prints it in the words the /access page uses (invite.core.access_words).
Neither changes anything, so neither needs --as. `plan` exits as Terraform's `plan -detailed-exitcode` does:
0 nothing would change, 2 something would, 1 the file has problems or Junction could not be read (PLAN_EXITS).
`apply` is invite/cli/access_apply.py's.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from invite.activity import history
from invite.adapters.upstream import get_upstream
from invite.cli import exits
from invite.cli.configuration import ConfiguredGroup, refuse_a_throwaway_junction, unreachable_hint
from invite.cli.terminal import emit_json, json_option, say
from invite.core import access_words as words
from invite.core import rows as views
from invite.core.access import OrgState, Plan, compute_plan
from invite.core.access_file import MAX_BYTES, AccessFileError, parse_access_file, render_access_file
from invite.junction import JunctionError, UnreachableError
from invite.services.access import read_state

# `invite access plan`'s exit codes, Terraform's -detailed-exitcode: a script tells "in sync" from "drifted"
# from "could not tell". (A command line click cannot parse exits 2 as well, as every command's does.)
NO_CHANGES, FAILED, CHANGES = 0, 1, 2
PLAN_EXITS = (
    exits.ExitCode(NO_CHANGES, "no changes", "nothing would change: the org matches the file"),
    exits.ExitCode(FAILED, "error", "the file has problems (each with its line) or cannot be read, the plan could not "
                   "be saved, or Junction could not be read (unreachable, failing, rate limiting, the key rejected)"),
    exits.ExitCode(CHANGES, "changes", "something would change (listed)"),
)


@click.group("access", cls=ConfiguredGroup)
def access_group() -> None:
    """Access as code: export the org to a file, plan the changes a file asks for, apply exactly that plan."""


def _fail(outcome: str, code: int, title: str, text: str = "", *, as_json: bool, lines: list[str] | None = None,
          **data: Any) -> NoReturn:
    if as_json:
        emit_json({"outcome": outcome, "exit_code": code, "title": title, "text": text, **data})
    else:
        say(title, "error", err=True)
        for line in lines or []:
            say(f"  {line}", err=True)
        if text:
            say(f"  {text}", err=True)
    click.get_current_context().exit(code)


def _state(code_for: Any, as_json: bool) -> OrgState:
    """The org read once; a failure ends the command with `code_for(error)` and what to do next."""
    refuse_a_throwaway_junction()
    try:
        return read_state(get_upstream().client)
    except JunctionError as exc:
        message = views.failure(exc, "Nothing was planned: the org's members, invitations and teams could not be "
                                     "read")
        hint = unreachable_hint() if isinstance(exc, UnreachableError) else ""
        _fail("lookup_failed", code_for(exc), message["title"], f"{message['text']} {hint}".strip(),
              as_json=as_json, http_status=exc.http_status, junction_request_id=exc.request_id)


def _read(path: str, as_json: bool) -> tuple[bytes, str]:
    """The file's bytes (`-`: standard input) and the name it is shown by."""
    if path == "-":
        return sys.stdin.buffer.read(MAX_BYTES + 1), "<stdin>"
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_BYTES + 1), path
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        _fail("unreadable_file", FAILED, f"Nothing was planned: {path} could not be read ({reason}).",
              "Check the path; `invite access export > access.yaml` writes a file to start from.", as_json=as_json)


def _save(plan: Plan, out: str, as_json: bool) -> None:
    """The plan's JSON, written whole or not at all (a temporary file beside it, then renamed)."""
    target = Path(out)
    try:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".tmp", delete=False) as handle:
            json.dump(plan.as_json(), handle, ensure_ascii=False, indent=2)
            handle.write("\n")
        os.replace(handle.name, target)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        _fail("unsaved", FAILED, f"The plan could not be saved to {out} ({reason}).",
              "Check the path, or leave out --out.", as_json=as_json)


def print_plan(plan: Plan) -> None:
    """The plan for people: each group under its heading, one line per change with the file's line, then the
    summary."""
    for group in words.groups(plan):
        say(group.heading, "header")
        for line, change in zip(group.lines, group.changes, strict=True):
            where = f"  (line {change.line})" if change.line else ""
            say(f"  {group.sign} {line}{where}")
    say(words.summary(plan), "ok" if plan.is_empty else "warning")


@access_group.command("export")
@click.option("--toml", "as_toml", is_flag=True, help="Write TOML instead of YAML.")
def export(as_toml: bool) -> None:
    """Write today's org as an access file to start from: `invite access export > access.yaml`.

    Members, then pending invitations, each sorted by address, teams by name, each person commented with
    who invited them through this dashboard. It says `manage: [invites, members]` (removals off), and a plan
    of it right away changes nothing."""
    state = _state(exits.for_lookup, as_json=False)
    people = [m.email for m in state.members] + [i.email for i in state.invites]
    notes = {key: f"invited by {row.actor_email} on {row.created_at:%Y-%m-%d} through this dashboard"
             for key, row in history.inviters(people).items()}
    text = render_access_file(state, notes=notes, exported_at=datetime.now(UTC), toml=as_toml)
    click.echo(text, nl=False)


@access_group.command("plan", epilog="\b\nExit codes (Terraform's -detailed-exitcode):\n" + "\n".join(
    f"  {row.code}  {row.meaning}" for row in PLAN_EXITS) + "\n  (a command line that cannot be parsed exits 2 too)")
@click.argument("file", metavar="FILE")
@click.option("--out", metavar="PLAN.json", help="Save the plan as JSON, for `invite access apply PLAN.json`.")
@json_option
def plan(file: str, out: str | None, as_json: bool) -> None:
    """What would change to make the org match FILE (an access file, YAML or .toml; `-` reads standard input).

    Reads Junction's members, pending invitations and teams once, checks the file (every problem with its
    line) and lists the changes grouped and in plain words. Changes nothing: no --as needed."""
    data, name = _read(file, as_json)
    state = _state(lambda _exc: FAILED, as_json)
    try:
        wanted = parse_access_file(data, state.teams, filename=name)
    except AccessFileError as error:
        _fail("bad_file", FAILED, error.summary, "Fix the file and plan again.", as_json=as_json, lines=error.lines(),
              problems=[{"line": p.line, "message": p.message} for p in error.problems])
    result = compute_plan(wanted, state, source=name)
    if out:
        _save(result, out, as_json)
    if as_json:
        emit_json(result.as_json())
    else:
        print_plan(result)
        if out:
            say(f"Saved the plan to {out}: `invite access apply {out} --as EMAIL` makes exactly these changes, "
                "and refuses if the org moved meanwhile." if not result.is_empty else f"Saved the plan to {out}.")
    click.get_current_context().exit(NO_CHANGES if result.is_empty else CHANGES)


from invite.cli.access_apply import apply_command  # noqa: E402 - at the end: `plan` and `export` are above

access_group.add_command(apply_command)  # `invite access apply`: invite/cli/access_apply.py
