"""`flask --app app invite …` (or `invite …`): the pages' invites, lookups and export, from a terminal.

Every command calls what the pages call: invite.services.actions (write-ahead audit row under a one-time token, then
Junction), the process's Junction client and team list (invite.adapters.upstream), the outcome wording of
invite.core.outcomes and the `loc` mapping of invite.core.field_errors, the support pages' row values
(invite.core.rows) and the activity page's queries and CSV. What is ours here is parsing, printing and
exit codes (invite.cli.exits).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NoReturn

import click
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from invite.activity import queries
from invite.activity.export import csv_lines, json_lines
from invite.adapters.logs import JsonLogFormatter
from invite.adapters.storage import ACTIONS, Action, Claim
from invite.adapters.unit_of_work import FLASK
from invite.adapters.upstream import Upstream, get_upstream
from invite.cli import exits
from invite.cli.access import access_group
from invite.cli.acting import acting_option
from invite.cli.bulk import bulk_group
from invite.cli.configuration import ConfiguredGroup, refuse_a_throwaway_junction, unreachable_hint
from invite.cli.members import member_group
from invite.cli.reminders import reminders_group
from invite.cli.terminal import Column, asked, emit_json, json_option, say, stream
from invite.core import rows as views
from invite.core import tokens, vocabulary, when
from invite.core.invite_rules import ROLE_LABELS
from invite.junction import ROLES, Invite, JunctionError, Member, Team, UnreachableError
from invite.services import actions
from invite.services.invitations import canonical_uuid, find_invite, last_sent_within, teams_of
from invite.version import __version__

# A form field of the invite page (invite.core.field_errors) as this command line spells it.
FIELD_LABELS = {"email": "EMAIL", "role": "--role", "teams": "--team"}
# The outcome_kind of a send the dashboard's own send limits refused (outcome keys title, detail, retry_at).
HELD_BACK = "held_back"


class InviteGroup(ConfiguredGroup):
    """The command group; a database it cannot use ends any command with one line and exit code 4, and a
    reader that stops reading (`| head`) ends it quietly with 0, as git and gh do."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _stop_writing_to_a_closed_pipe()
            ctx.exit(exits.DONE)
        except SQLAlchemyError as exc:
            reason = type(getattr(exc, "orig", None) or exc).__name__
            click.echo(f"invite: the audit trail's database could not be used ({reason}). Check DATABASE_URL and "
                       "that `flask --app app db upgrade` has run; if a send was under way, look the address up "
                       "before sending again.", err=True)
            ctx.exit(exits.CONFIGURATION)


def _stop_writing_to_a_closed_pipe() -> None:
    # What is still buffered for stdout would fail again when Python flushes it on the way out (the
    # Python documentation's recipe for SIGPIPE): point stdout at /dev/null instead.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor behind stdout (a test's runner)
        pass


@click.group("invite", cls=InviteGroup, epilog=exits.EXPLAINED)
@click.version_option(__version__, "--version", prog_name="invite", message="%(prog)s %(version)s")
@click.option("-v", "--verbose", is_flag=True, help="Also print the app's JSON log lines (audit lines too) on stderr.")
def invite_group(verbose: bool) -> None:
    """Invite people into the Junction org, look up invitations, members and teams, export the audit trail.

    Commands that change something need --as EMAIL (or INVITE_ACTOR): the trail records that person, the
    channel "cli", the operating-system user and the host.
    """
    # The command prints its own outcome; the app's log lines (on stderr under the command line, see
    # invite.adapters.logs.configure_logging) are only wanted when asked for. Only that handler is quietened, so
    # nothing else listening (a test's log capture) loses a record.
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, JsonLogFormatter):
            handler.setLevel(logging.NOTSET if verbose else logging.ERROR)


# ------------------------------------------------------------------------------------------ reporting


@dataclass
class Report:
    """What a command ends with: printed for people, or one JSON object with --json."""

    outcome: str
    code: int
    title: str
    text: str = ""
    field_errors: dict[str, list[str]] = field(default_factory=dict)
    form_errors: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def style(self) -> str:
        if self.code == exits.DONE:
            return "ok"
        return "warning" if self.code == exits.UNKNOWN else "error"


def finish(report: Report, as_json: bool) -> NoReturn:
    if as_json:
        emit_json({"outcome": report.outcome, "exit_code": report.code, "title": report.title,
                   "text": report.text, "field_errors": report.field_errors, "form_errors": report.form_errors,
                   **report.data})
    else:
        err = report.code != exits.DONE
        say(report.title, report.style, err=err)
        if report.text:
            say(f"  {report.text}", err=err)
        for name, messages in report.field_errors.items():
            for message in messages:
                say(f"  {FIELD_LABELS.get(name, name)}: {message}", err=err)
        # Titles carry no HTTP status: where it tells support something (an unknown outcome, an error Junction
        # did not explain), it follows, as the pages' "For support" line.
        if report.data.get("http_status") and (report.code == exits.UNKNOWN or report.outcome == "rejected"):
            say(f"  For support: HTTP {report.data['http_status']}.", err=err)
        for message in report.form_errors:
            say(f"  {message}", err=err)
    click.get_current_context().exit(report.code)


def _for_terminal(text: str) -> str:
    # The pages' wording, less what only a page can do.
    return text.replace(" Your entries are kept below.", "").replace("Your entries are kept below; ", "")


def _junction() -> Upstream:
    """The process's Junction, once it is known to be the one the trail's pages show."""
    refuse_a_throwaway_junction()
    return get_upstream()


def _with_hint(text: str, unreachable: bool) -> str:
    hint = unreachable_hint() if unreachable else ""
    return f"{text} {hint}".strip()


def _lookup_failed(error: JunctionError, doing: str, outcome: str = "lookup_failed") -> Report:
    message = views.failure(error, doing)
    return Report(outcome, exits.for_lookup(error), message["title"],
                  _with_hint(message["text"], isinstance(error, UnreachableError)),
                  data={"http_status": error.http_status, "junction_request_id": error.request_id})


def _teams_text(teams: list[dict[str, str]]) -> str:
    return f" of {', '.join(team['name'] for team in teams)}" if teams else ""


def _result_title(row: Action, outcome: dict[str, Any]) -> str:
    role = ROLE_LABELS.get(row.role or "", row.role or "")
    status, email, teams = outcome.get("status"), row.target_email, _teams_text(row.teams)
    if status == "invite_created":
        return f"Sent: Junction emailed an invitation to {email} as {role}{teams}."
    if status == "invite_resent":
        return f"Sent again: {email} already had a pending invitation, so Junction sent it again, as {role}{teams}."
    if status == "already_in_org":
        return f"Already a member: {email} already belongs to the org, so no invitation was sent."
    checked = outcome.get("checked_invite") or {}
    when = (checked.get("resent_at") or checked.get("invited_at") or "")[:16].replace("T", " ")
    return (f"Sent: Junction did not confirm in time, but now lists a pending invitation for {email}, "
            f"sent {when} UTC, as {role}{teams}.")


def _action_report(row: Action) -> Report:
    """The audit row an action left, as the command's outcome and exit code."""
    outcome = row.outcome or {}
    data = {"action": row.action, "action_id": row.id, "email": row.target_email, "role": row.role,
            "teams": row.teams, "invite_id": row.invite_id or (outcome.get("checked_invite") or {}).get("id"),
            "http_status": row.http_status, "junction_request_id": row.junction_request_id}
    code = exits.for_outcome(row.outcome_kind)
    if row.outcome_kind == HELD_BACK:
        held = outcome.get("alert") or {}
        return _held_back(held.get("title", "Not sent."), held.get("text", ""), outcome.get("retry_at"), data)
    if outcome.get("kind") == "result":
        return Report(row.outcome_kind, code, _result_title(row, outcome), data=data)
    if outcome.get("kind") == "revoke":
        if code == exits.UNKNOWN and outcome.get("level") == "error":
            # Junction did not confirm, and still lists the invitation: known not revoked, Junction failing.
            code = exits.UNAVAILABLE
        return Report(row.outcome_kind, code, outcome.get("title", ""), _after_unknown(outcome.get("text", ""),
                      code, row.target_email), data=data)
    alert = outcome.get("alert") or {}
    text = _with_hint(_for_terminal(alert.get("text", "")), row.outcome_kind == "unreachable")
    return Report(row.outcome_kind, code, alert.get("title", "Unknown outcome."),
                  _after_unknown(text, code, row.target_email),
                  field_errors=outcome.get("field_errors") or {}, form_errors=outcome.get("form_errors") or [],
                  data={**data, "sent": alert.get("sent"), "retry_at": outcome.get("retry_at")})


def _after_unknown(text: str, code: int, email: str) -> str:
    if code != exits.UNKNOWN:
        return text
    look_up = f"with `invite invitations --search {email}` (or on the Invitations page)"
    if "on the Invitations page" in text:
        return text.replace("on the Invitations page", look_up, 1)
    return f"{text} Look it up {look_up} before trying again.".strip()


def _held_back(title: str, detail: str, retry_at: str | None, data: dict[str, Any]) -> Report:
    """The dashboard's own send limits said not now: exit 5, with when it can go."""
    text = detail
    if retry_at:
        try:
            shown_at = f"{when.utc(datetime.fromisoformat(retry_at)):%Y-%m-%d %H:%M:%S} UTC"
        except (TypeError, ValueError):
            shown_at = str(retry_at)
        text = f"{detail} Can be sent again after {shown_at}.".strip()
    return Report(HELD_BACK, exits.UNAVAILABLE, title, text, data={**data, "retry_at": retry_at})


def _perform(act: Callable[[], Claim], email: str, doing: str, as_json: bool) -> NoReturn:
    """Run the action and report its row. Ctrl-C while Junction is being asked leaves the row written
    before the call (outcome unknown), exactly as a web request that died would."""
    try:
        row = act().action
    except KeyboardInterrupt:
        finish(Report("unknown", exits.UNKNOWN,
                      f"Interrupted: Junction may or may not have {doing} the invitation for {email}.",
                      f"The trail records it as unknown (invite activity --target {email}). Look the address "
                      f"up with `invite invitations --search {email}` before trying again.",
                      data={"email": email, "interrupted": True}), as_json)
    finish(_action_report(row), as_json)


# ------------------------------------------------------------------------------------------ parameters


class Duration(click.ParamType):
    """30m, 12h, 7d, 2w."""

    name = "DURATION"
    _PATTERN = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$")
    _UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

    def convert(self, value: Any, param, ctx) -> timedelta:
        if isinstance(value, timedelta):
            return value
        match = self._PATTERN.match(str(value))
        if not match:
            self.fail(f"{value!r} is not a duration like 30m, 12h, 7d or 2w.", param, ctx)
        return timedelta(**{self._UNITS[match[2]]: int(match[1])})


class Day(click.ParamType):
    """A UTC day: YYYY-MM-DD, or a duration back from now (7d)."""

    name = "DATE"

    def convert(self, value: Any, param, ctx) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            pass
        try:
            return (datetime.now(UTC) - Duration().convert(value, param, ctx)).date()
        except click.BadParameter:
            self.fail(f"{value!r} is neither a date (YYYY-MM-DD) nor a time ago (7d, 12h).", param, ctx)


def _resolve_teams(values: tuple[str, ...], as_json: bool) -> list[dict[str, str]]:
    """--team values (a name or an id) as the audit row and the send keep them; unknown ones refuse the send,
    as the form refuses teams missing from the org's list."""
    if not values:
        return []
    try:
        teams = _junction().teams.get().value
    except JunctionError as exc:
        finish(_lookup_failed(exc, "Nothing was sent: the org's team list could not be loaded"), as_json)
    by_id = {team.id.lower(): team for team in teams}
    chosen: dict[str, Team] = {}
    problems = []
    for value in values:
        wanted = value.strip()
        team = by_id.get(canonical_uuid(wanted) or wanted.lower())
        named = [t for t in teams if t.name.casefold() == wanted.casefold()] if team is None else [team]
        if len(named) == 1:
            chosen.setdefault(named[0].id, named[0])
        elif named:
            ids = ", ".join(f"{t.id} ({t.region})" for t in named)
            problems.append(f"“{wanted}” names {len(named)} teams: {ids}. Give the id instead.")
        else:
            near = [t.name for t in teams if wanted.casefold() in t.name.casefold()][:5]
            hint = f"Teams whose name contains it: {', '.join(near)}." if near else \
                "`invite teams --search …` lists them."
            problems.append(f"The org has no team named “{wanted}” (or with that id). {hint}")
    if problems:
        finish(Report("unknown_team", exits.NOT_DONE, "Not sent: some teams are not in the org's team list.",
                      field_errors={"teams": problems}), as_json)
    return [{"id": team.id, "name": team.name} for team in chosen.values()]


# ------------------------------------------------------------------------------------------ send, resend, revoke


@invite_group.command("send")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True, help="The role in the org.")
@click.option("--team", "team_values", multiple=True, metavar="NAME_OR_ID",
              help="A team, by name or id (repeat for several).")
@click.option("--no-team-anyway", is_flag=True, help="Invite a team admin of no team (they will see nothing).")
@json_option
@acting_option
def send(email: str, role: str, team_values: tuple[str, ...], no_team_anyway: bool, as_json: bool,
         actor: actions.Actor) -> None:
    """Invite EMAIL (or send a pending invitation again, as Junction does for a known address)."""
    teams = _resolve_teams(team_values, as_json)
    if role == "team_admin" and not teams and not no_team_anyway:
        # The invite form's guidance, with the same way past it.
        finish(Report("no_team", exits.NOT_DONE, "Not sent: a team admin with no team cannot see anything in Junction.",
                      "Pick the teams they should manage with --team, or add --no-team-anyway.",
                      field_errors={"teams": ["A team admin needs at least one team."]}), as_json)
    upstream = _junction()
    token = _new_token(actor)
    email = email.strip()
    _perform(lambda: actions.send_invite(FLASK, upstream.client, token, actor, limits=upstream.limits, email=email,
                                         role=role, teams=teams),
             email, "sent", as_json)


def _new_token(actor: actions.Actor) -> str:
    return tokens.issue(current_app.secret_key, "cli", actor.email)


def _pending_invite(target: str, nothing_done: str, as_json: bool, *, none_is_done: bool = False) -> Invite:
    """The pending invitation an address or an invitation id names, as Junction lists it now; otherwise the
    command ends saying why nothing was done (exit 1, or 0 with none_is_done: a revoke of nothing)."""
    client = _junction().client
    invite_id = canonical_uuid(target)
    try:
        invite = find_invite(client, invite_id, "") if invite_id else client.find_pending_invite(target)
    except JunctionError as exc:
        finish(_lookup_failed(exc, f"{nothing_done}: the invitation could not be looked up"), as_json)
    if invite is None and none_is_done:
        finish(Report("already_gone", exits.DONE,
                      f"{nothing_done}: Junction lists no pending invitation for {target}.",
                      "It has been revoked or accepted already (or was never sent). `invite members --search …` "
                      "finds members."), as_json)
    if invite is None:
        finish(Report("no_pending_invitation", exits.NOT_DONE,
                      f"{nothing_done}: Junction lists no pending invitation for {target}.",
                      "It may have been accepted or revoked. `invite members --search …` finds members; "
                      "`invite send` invites anew."), as_json)
    return invite


@invite_group.command("resend")
@click.argument("target", metavar="EMAIL|INVITE_ID")
@click.option("--force", is_flag=True, help="Send again even inside the cooldown after the last send.")
@json_option
@acting_option
def resend(target: str, force: bool, as_json: bool, actor: actions.Actor) -> None:
    """Send the pending invitation for EMAIL (or INVITE_ID) again, with the role and teams Junction holds for it."""
    upstream = _junction()
    invite = _pending_invite(target.strip(), "Nothing was sent", as_json)
    cooldown = current_app.extensions["settings"].resend_cooldown_minutes
    if not force and last_sent_within(invite, cooldown):
        last = invite.resent_at or invite.invited_at
        finish(Report("within_cooldown", exits.NOT_DONE,
                      f"Nothing was sent: {invite.email} was sent an invitation {when.ago(last)} "
                      f"({last.astimezone(UTC):%Y-%m-%d %H:%M} UTC).",
                      f"Invitations sent in the last {cooldown:g} minutes are usually still on their way or in a "
                      "spam folder. Add --force to send it again anyway.",
                      data={"email": invite.email, "invite_id": invite.id, "last_sent_at": last.isoformat()}),
               as_json)
    token = _new_token(actor)  # the server's send limits (invite.services.actions) hold whatever --force says
    _perform(lambda: actions.resend_invite(FLASK, upstream.client, token, actor, invite, upstream.team_names(),
                                           limits=upstream.limits),
             invite.email, "resent", as_json)


def _describe(invite: Invite, names: dict[str, str]) -> str:
    row = views.invite_row(invite, names)
    teams = ", ".join(row.teams) or "no team"
    return (f"{row.email} ({row.role_label}; {teams}; last sent {row.last_sent:%Y-%m-%d %H:%M} UTC; "
            f"id {row.id})")


@invite_group.command("revoke")
@click.argument("target", metavar="EMAIL|INVITE_ID")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@acting_option
def revoke(target: str, yes: bool, as_json: bool, actor: actions.Actor) -> None:
    """Revoke the pending invitation for EMAIL, or the one with INVITE_ID (asks first unless --yes).

    None pending (revoked or accepted already) is what was asked for: it exits 0."""
    upstream = _junction()
    invite = _pending_invite(target.strip(), "Nothing to revoke", as_json, none_is_done=True)
    names = upstream.team_names()
    if not yes and not asked(f"Revoke the invitation for {_describe(invite, names)}?"):
        finish(Report("declined", exits.NOT_DONE, "Nothing was revoked.",
                      "Add --yes to revoke without being asked.", data={"invite_id": invite.id}), as_json)
    token = _new_token(actor)
    _perform(lambda: actions.revoke_invite(FLASK, upstream.client, token, actor, invite_id=invite.id,
                                           email=invite.email, role=invite.role, teams=teams_of(invite, names)),
             invite.email, "revoked", as_json)


# ------------------------------------------------------------------------------------------ lists


def _time(moment: datetime | None) -> str:
    return f"{when.utc(moment):%Y-%m-%d %H:%M}" if moment else ""


def _iso(moment: datetime | None) -> str | None:
    return when.utc(moment).isoformat() if moment else None


def _named_teams(team_ids: Iterable[str], names: dict[str, str]) -> list[dict[str, str | None]]:
    return [{"id": team_id, "name": names.get(team_id)} for team_id in team_ids]


def _listing(rows: Iterable[Any], doing: str, **how: Any) -> None:
    """Stream a list to the end; a failure part-way is reported on stderr with its exit code."""
    try:
        stream(rows, **how)
    except JunctionError as exc:
        message = views.failure(exc, doing, paged=False)
        say(message["title"], "error", err=True)
        say(f"  {_with_hint(message['text'], isinstance(exc, UnreachableError))}", err=True)
        if exc.http_status:
            say(f"  For support: HTTP {exc.http_status}.", err=True)
        click.get_current_context().exit(exits.for_lookup(exc))


@invite_group.command("invitations")
@click.option("--search", default="", help="Only invitations whose address contains TEXT (Junction's search).",
              metavar="TEXT")
@click.option("--older-than", type=Duration(), help="Only invitations last sent longer ago than this (7d, 12h).")
@json_option
def invitations(search: str, older_than: timedelta | None, as_json: bool) -> None:
    """Pending invitations: every page, printed as it arrives."""
    upstream = _junction()
    names = upstream.team_names()
    found: Iterable[Invite] = upstream.client.iter_invites(search_query=search.strip() or None)
    if older_than is not None:
        cutoff = datetime.now(UTC) - older_than
        found = (invite for invite in found if (invite.resent_at or invite.invited_at) < cutoff)

    def to_json(invite: Invite) -> dict[str, Any]:
        # Who in the company sent and last resent it, from the trail, as the invitations page says (Junction
        # records "management key"); one query per invitation keeps the stream a stream.
        sent, resent = queries.senders([invite]).get(invite.id, (None, None))
        return {"id": invite.id, "email": invite.email, "role": invite.role,
                "teams": _named_teams(invite.team_ids, names), "invited_at": _iso(invite.invited_at),
                "resent_at": _iso(invite.resent_at), "created_by": views.creator_label(invite.creator),
                "sent_by": sent.actor_email if sent else None, "last_resent_by": resent.actor_email if resent else None}

    def to_cells(invite: Invite) -> list[str]:
        row = views.invite_row(invite, names)
        return [row.email, row.role_label, ", ".join(row.teams), _time(row.last_sent), row.id]

    _listing(found, "Could not load the invitations", as_json=as_json, to_json=to_json, to_cells=to_cells,
             noun="invitations", columns=[Column("EMAIL", 32), Column("ROLE", 10), Column("TEAMS", 28),
                                          Column("LAST SENT (UTC)", 16), Column("ID", None)])


@invite_group.command("members")
@click.option("--search", default="", help="Only members whose name or address contains TEXT.", metavar="TEXT")
@json_option
def members(search: str, as_json: bool) -> None:
    """Members of the org: every page, printed as it arrives."""
    upstream = _junction()
    names = upstream.team_names()

    def to_json(member: Member) -> dict[str, Any]:
        return {"id": member.id, "name": member.name, "email": member.email, "role": member.role,
                "teams": _named_teams(member.team_ids, names), "member_since": _iso(member.created_on)}

    def to_cells(member: Member) -> list[str]:
        row = views.member_row(member, names, "")
        return [row.name, row.email, row.role_label, f"{row.member_since:%Y-%m-%d}", ", ".join(row.teams)]

    _listing(upstream.client.iter_members(search_query=search.strip() or None), "Could not load the members",
             as_json=as_json, to_json=to_json, to_cells=to_cells, noun="members",
             columns=[Column("NAME", 24), Column("EMAIL", 32), Column("ROLE", 10), Column("SINCE", 10),
                      Column("TEAMS", None)])


@invite_group.command("teams")
@click.option("--search", default="", help="Only teams whose name contains TEXT (Junction's search).",
              metavar="TEXT")
@json_option
def teams(search: str, as_json: bool) -> None:
    """The org's teams (names and ids, for --team): every page, printed as it arrives."""

    def to_json(team: Team) -> dict[str, Any]:
        return {"id": team.id, "name": team.name, "region": team.region, "created_on": _iso(team.created_on)}

    _listing(_junction().client.iter_teams(search_query=search.strip() or None), "Could not load the teams",
             as_json=as_json, to_json=to_json, to_cells=lambda t: [t.name, t.region, t.id], noun="teams",
             columns=[Column("NAME", 32), Column("REGION", 6), Column("ID", None)])


# ------------------------------------------------------------------------------------------ activity


@invite_group.command("activity")
@click.option("--who", metavar="TEXT", help="Only actions by someone whose email contains TEXT.")
@click.option("--target", metavar="TEXT", help="Only actions on an address containing TEXT.")
@click.option("--action", type=click.Choice([*ACTIONS, *vocabulary.ACTION_GROUPS]),
              help="Only this action (reminder_switches: reminders switched off or on, paused or resumed).")
@click.option("--outcome", type=click.Choice(list(dict.fromkeys([*vocabulary.GROUPS, *vocabulary.OUTCOMES]))),
              help="Only this outcome, or group of outcomes.")
@click.option("--channel", type=click.Choice(list(vocabulary.CHANNEL_WORDS)),
              help="Only actions from the pages (web), the command line (cli) or the reminders themselves.")
@click.option("--since", type=Day(), help="From this UTC day on (YYYY-MM-DD, or 7d for a week ago).")
@click.option("--until", type=Day(), help="Up to and including this UTC day.")
@click.option("--format", "output_format", type=click.Choice(["csv", "jsonl"]),
              help="csv (the default): the activity page's export (safe to open in a spreadsheet); jsonl: the "
                   "same as --json.")
@json_option
def activity(who: str | None, target: str | None, action: str | None, outcome: str | None, channel: str | None,
             since: date | None, until: date | None, output_format: str | None, as_json: bool) -> None:
    """The audit trail, oldest first, streamed: the activity page's CSV export, or JSON Lines with --json.

    An action whose answer never came (a crash, Ctrl-C, a timeout) is listed with the outcome "unknown".
    """
    if as_json and output_format == "csv":
        raise click.BadParameter("--json prints JSON Lines: leave out --format csv.", param_hint="--format")
    if as_json:
        output_format = "jsonl"
    if since and until and until < since:
        raise click.BadParameter("--until must be on or after --since.", param_hint="--until")
    query = queries.filtered(who=who, target=target, action=action, outcome=outcome, date_from=since,
                             date_to=until, channel=channel)
    render = json_lines if output_format == "jsonl" else csv_lines
    for chunk in render(queries.each_row(query)):
        click.echo(chunk, nl=False, color=False)


# ------------------------------------------------------------------------------------------ bulk
# `invite bulk FILE`, `invite bulk status|wait|retry-unknown JOB`: invite/cli/bulk.py, on the bulk page's
# functions (invite.bulk.jobs), with the same --as, exit codes and terminal rules as the commands above.

invite_group.add_command(bulk_group)
invite_group.add_command(member_group)  # invite/cli/members.py
invite_group.add_command(reminders_group)  # invite/cli/reminders.py
invite_group.add_command(access_group)  # invite/cli/access.py
