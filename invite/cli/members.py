"""`invite member show|set|remove EMAIL`: a member's role and teams, changed or removed from a terminal (issue 24).

The same core as the member pages: invite.services.actions.update_member / remove_member (write-ahead row under a
one-time "cli" token, the guards against what Junction lists now, an answer that never came settled by
reading the member again) and the wording of invite.core.member_outcomes. What is ours here is parsing,
printing and exit codes (invite.cli.exits); --as / INVITE_ACTOR names who acts.
"""

from __future__ import annotations

from typing import Any, NoReturn

import click
from flask import current_app

from invite.activity import history
from invite.adapters.storage import Action
from invite.adapters.unit_of_work import FLASK
from invite.adapters.upstream import get_upstream
from invite.cli import exits
from invite.cli.acting import acting_option
from invite.cli.terminal import asked, emit_json, interactive, json_option, say
from invite.core import member_outcomes as words
from invite.core import rows as views
from invite.core import tokens, vocabulary, when
from invite.junction import ROLES, JunctionError, Member, Team
from invite.services import actions
from invite.services.invitations import canonical_uuid

# The member kinds' exit codes; every other kind is the send's and revoke's (invite.cli.exits).
_EXIT_BY_KIND = {
    "member_changed": exits.DONE,
    "member_removed": exits.DONE,
    "member_gone": exits.NOT_DONE,
    "changed_meanwhile": exits.NOT_DONE,
    "last_admin": exits.NOT_DONE,
    "not_found": exits.NOT_DONE,  # Junction's 404 for a member it still lists
    "check_failed": exits.UNAVAILABLE,
}
FIELD_LABELS = {"role": "--role", "teams": "--team"}


def _exit_code(kind: str) -> int:
    return _EXIT_BY_KIND.get(kind, exits.for_outcome(kind))


def _finish(outcome: str, code: int, title: str, text: str = "", *, as_json: bool,
            field_errors: dict[str, list[str]] | None = None, form_errors: list[str] | None = None,
            **data: Any) -> NoReturn:
    if as_json:
        emit_json({"outcome": outcome, "exit_code": code, "title": title, "text": text,
                   "field_errors": field_errors or {}, "form_errors": form_errors or [], **data})
    else:
        err = code != exits.DONE
        style = "ok" if code == exits.DONE else "warning" if code == exits.UNKNOWN else "error"
        say(title, style, err=err)
        if text:
            say(f"  {text}", err=err)
        for name, messages in (field_errors or {}).items():
            for message in messages:
                say(f"  {FIELD_LABELS.get(name, name)}: {message}", err=err)
        for message in form_errors or []:
            say(f"  {message}", err=err)
    click.get_current_context().exit(code)


def _find(target: str, as_json: bool) -> Member:
    client = get_upstream().client
    try:
        member_id = canonical_uuid(target)
        member = client.get_member(member_id) if member_id else client.find_member_by_email(target)
    except JunctionError as exc:
        message = views.failure(exc, "Nothing was changed: the member could not be looked up")
        _finish("lookup_failed", exits.for_lookup(exc), message["title"], message["text"], as_json=as_json,
                http_status=exc.http_status, junction_request_id=exc.request_id)
    if member is None:
        _finish("not_a_member", exits.NOT_DONE, f"Junction lists no member {target}.",
                "`invite members --search …` lists members; `invite invitations --search …` pending invitations.",
                as_json=as_json)
    return member


def _teams(as_json: bool) -> list[Team]:
    try:
        return list(get_upstream().teams.get().value)
    except JunctionError as exc:
        message = views.failure(exc, "Nothing was changed: the org's team list could not be loaded")
        _finish("lookup_failed", exits.for_lookup(exc), message["title"], message["text"], as_json=as_json)


def _snapshot(member: Member, names: dict[str, str]) -> dict[str, Any]:
    return words.snapshot_of(member, names)


def _member_json(member: Member, names: dict[str, str]) -> dict[str, Any]:
    invited = history.invited_by(member.email)
    return {"id": member.id, "name": member.name, "email": member.email, "role": member.role,
            "teams": [{"id": t, "name": names.get(t)} for t in member.team_ids],
            "member_since": when.utc(member.created_on).isoformat(),
            "invited_by": invited.actor_email if invited else None,
            "invited_at": when.utc(invited.created_at).isoformat() if invited else None}


def _report(row: Action, as_json: bool) -> NoReturn:
    outcome = row.outcome or {}
    _finish(row.outcome_kind, _exit_code(row.outcome_kind), outcome.get("title") or
            vocabulary.label(row.outcome_kind, row.action), outcome.get("text", ""), as_json=as_json,
            field_errors=outcome.get("field_errors") or {}, form_errors=outcome.get("form_errors") or [],
            action=row.action, action_id=row.id, email=row.target_email, member_id=outcome.get("member_id"),
            before=outcome.get("before"), after=outcome.get("after"), now=outcome.get("now"),
            words=vocabulary.label(row.outcome_kind, row.action), http_status=row.http_status,
            junction_request_id=row.junction_request_id)


def _perform(act: Any, member: Member, doing: str, as_json: bool) -> NoReturn:
    try:
        row = act().action
    except KeyboardInterrupt:
        _finish("unknown", exits.UNKNOWN, f"Interrupted: Junction may or may not have {doing} {member.email}.",
                f"The trail records it as unknown. `invite member show {member.email}` shows them now.",
                as_json=as_json, email=member.email, interrupted=True)
    _report(row, as_json)


def _token(actor: actions.Actor) -> str:
    return tokens.issue(current_app.secret_key, "cli", actor.email)


@click.group("member")
def member_group() -> None:
    """One member of the org: show them, change their role and teams, remove them."""


@member_group.command("show")
@click.argument("target", metavar="EMAIL|MEMBER_ID")
@json_option
def show(target: str, as_json: bool) -> None:
    """A member's role, teams, joined date, who invited them through this dashboard, and their history."""
    member = _find(target.strip(), as_json)
    names = get_upstream().team_names()
    data = _member_json(member, names)
    rows = history.history(member.email)
    data["history"] = [{"at": when.utc(r.created_at).isoformat(), "action": r.action, "by": r.actor_email,
                        "outcome": r.outcome_kind, "words": vocabulary.label(r.outcome_kind, r.action)} for r in rows]
    if as_json:
        emit_json(data)
        return
    row = views.member_row(member, names, "")
    say(f"{member.name} <{member.email}>", "ok")
    say(f"  Role:       {row.role_label}")
    say(f"  Teams:      {', '.join(row.teams) or 'None'}")
    say(f"  Joined:     {row.member_since:%Y-%m-%d %H:%M} UTC")
    say(f"  Invited by: {data['invited_by'] or 'not through this dashboard'}")
    say(f"  Id:         {member.id}")
    for entry in data["history"]:
        say(f"  {entry['at'][:16].replace('T', ' ')}  {entry['action']:<14} {entry['by']}: {entry['words']}")


@member_group.command("set")
@click.argument("target", metavar="EMAIL|MEMBER_ID")
@click.option("--role", type=click.Choice(ROLES), required=True, help="The new role in the org.")
@click.option("--team", "team_values", multiple=True, metavar="NAME_OR_ID",
              help="A team, by name or id (repeat for several); a Team admin needs at least one.")
@json_option
@acting_option
def set_role(target: str, role: str, team_values: tuple[str, ...], as_json: bool, actor: actions.Actor) -> None:
    """Change a member's role and teams to --role and the --team values (the teams replace theirs)."""
    if role == "team_admin" and not team_values:
        _finish("no_team", exits.NOT_DONE, "Not changed: a Team admin needs at least one team.",
                "Pick the teams they should manage with --team.", as_json=as_json,
                field_errors={"teams": ["A Team admin needs at least one team."]})
    if role != "team_admin" and team_values:
        _finish("teams_without_team_admin", exits.NOT_DONE, "Not changed: only a Team admin has teams.",
                "Leave out --team, or use --role team_admin.", as_json=as_json)
    member = _find(target.strip(), as_json)
    teams = _teams(as_json) if team_values else []
    chosen, problems = [], []
    for value in team_values:
        wanted = value.strip()
        found = [t for t in teams if t.id == (canonical_uuid(wanted) or "") or t.name.casefold() == wanted.casefold()]
        if len(found) == 1:
            if found[0].id not in {c["id"] for c in chosen}:
                chosen.append({"id": found[0].id, "name": found[0].name})
        elif found:
            problems.append(f"“{wanted}” names {len(found)} teams; give the id instead.")
        else:
            problems.append(f"The org has no team named “{wanted}” (or with that id). `invite teams --search …` "
                            "lists them.")
    if problems:
        _finish("unknown_team", exits.NOT_DONE, "Not changed: some teams are not in the org's team list.",
                as_json=as_json, field_errors={"teams": problems})
    names = get_upstream().team_names()
    before = _snapshot(member, names)
    if words.same(before, words.snapshot(role, chosen)):
        _finish("nothing_to_change", exits.DONE, f"Nothing to change: {member.name} is already "
                f"{words.describe(before)}.", as_json=as_json, email=member.email, member_id=member.id)
    token = _token(actor)
    upstream = get_upstream()
    _perform(lambda: actions.update_member(FLASK, upstream.client, token, actor, member_id=member.id,
                                           email=member.email,
                                           name=member.name, before=before, role=role, teams=chosen),
             member, "changed", as_json)


@member_group.command("remove")
@click.argument("target", metavar="EMAIL|MEMBER_ID")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (required without a terminal).")
@json_option
@acting_option
def remove(target: str, yes: bool, as_json: bool, actor: actions.Actor) -> None:
    """Remove a member from the org: they lose their role and every team at once (asks first unless --yes)."""
    member = _find(target.strip(), as_json)
    names = get_upstream().team_names()
    before = _snapshot(member, names)
    if not yes:
        if not interactive(click.get_text_stream("stdin")):
            _finish("declined", exits.NOT_DONE, "Nothing was removed: no terminal to ask on.",
                    "Add --yes to remove without being asked.", as_json=as_json, email=member.email,
                    member_id=member.id)
        own = " This is your own membership." if member.email.casefold() == actor.email.casefold() else ""
        if not asked(f"Remove {member.name} <{member.email}> ({words.describe(before)}) from the org? They lose "
                     f"access at once.{own}"):
            _finish("declined", exits.NOT_DONE, "Nothing was removed.", "Add --yes to remove without being asked.",
                    as_json=as_json, email=member.email, member_id=member.id)
    token = _token(actor)
    upstream = get_upstream()
    _perform(lambda: actions.remove_member(FLASK, upstream.client, token, actor, member_id=member.id,
                                           email=member.email, name=member.name, before=before),
             member, "removed", as_json)
