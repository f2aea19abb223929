"""`invite reminders plan|run|pause|resume`: the reminders of pending invitations from a terminal (issue 26).

The same service as the worker's periodic check (invite.services.reminders: the policy of invite.core.reminders,
resends through invite.services.actions on the channel "reminder", as the reminders themselves). What is ours here
is parsing, printing and exit codes (invite.cli.exits); pause and resume need --as / INVITE_ACTOR, since a person
decides them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NoReturn

import click
from flask import current_app

from invite.adapters.unit_of_work import FLASK
from invite.adapters.upstream import get_upstream
from invite.cli import exits
from invite.cli.acting import acting_option
from invite.cli.terminal import emit_json, json_option, say
from invite.core import reminders as rules
from invite.core import rows as views
from invite.core import vocabulary
from invite.core.actor import Actor
from invite.core.reminders import DUE, LATER, ReminderPolicy
from invite.junction import JunctionError
from invite.services import reminders

# Worst first: the exit code of a check is that of its worst reminder.
_WORST_FIRST = (exits.UNKNOWN, exits.CONFIGURATION, exits.UNAVAILABLE, exits.NOT_DONE, exits.DONE)


def _finish(outcome: str, code: int, title: str, text: str = "", *, as_json: bool, **data: Any) -> NoReturn:
    if as_json:
        emit_json({"outcome": outcome, "exit_code": code, "title": title, "text": text, **data})
    else:
        err = code != exits.DONE
        say(title, "ok" if code == exits.DONE else "error", err=err)
        if text:
            say(f"  {text}", err=err)
    click.get_current_context().exit(code)


def _policy() -> ReminderPolicy:
    policy: ReminderPolicy = current_app.extensions["settings"].reminders
    return policy


def _item(planned: reminders.Planned, now: datetime) -> dict[str, Any]:
    decision = planned.decision
    return {"email": planned.invite.email, "invite_id": planned.invite.id, "state": decision.state,
            "due_at": decision.due_at.isoformat() if decision.due_at else None, "reason": decision.reason,
            "reminders_sent": decision.reminders_sent, "max_reminders": decision.max_reminders,
            "last_sent": decision.last_sent.isoformat(), "stale": decision.stale,
            "words": rules.words(decision, now)}


@click.group("reminders")
def reminders_group() -> None:
    """Reminders of pending invitations: what the next check sends, a check now, pause and resume them all."""


@reminders_group.command("plan")
@json_option
def plan(as_json: bool) -> None:
    """What the next check would send, and when every other pending invitation is due (or why never)."""
    policy = _policy()
    now = datetime.now(UTC)
    try:
        planned = reminders.plan(FLASK, get_upstream().client, policy, now)
    except JunctionError as exc:
        message = views.failure(exc, "The pending invitations could not be listed")
        _finish("lookup_failed", exits.for_lookup(exc), message["title"], message["text"], as_json=as_json)
    paused = reminders.paused_by(FLASK)
    order = {DUE: 0, LATER: 1}
    planned.sort(key=lambda p: (order.get(p.decision.state, 2), p.decision.due_at or now, p.invite.email.lower()))
    items = [_item(p, now) for p in planned]
    due = [item for item in items if item["state"] == DUE]
    if as_json:
        emit_json({"outcome": "planned", "exit_code": exits.DONE, "on": policy.on,
                   "paused": {"by": paused.by, "at": paused.at.isoformat()} if paused else None,
                   "policy": rules.describe_policy(policy), "due": len(due), "invitations": items})
        return
    say(rules.describe_policy(policy))
    if paused is not None:
        say(f"All reminders are paused (by {paused.by}, {paused.at:%Y-%m-%d %H:%M} UTC): "
            "`invite reminders resume` turns them on again.", "warning")
    say(f"The next check would remind {len(due)} invitation{'s' if len(due) != 1 else ''}.")
    for item in items:
        say(f"  {item['email']}: {item['words']}")


@reminders_group.command("run")
@json_option
def run(as_json: bool) -> None:
    """One check now, within the same rules as the worker's: the send limits, the hours, the maximum."""
    policy = _policy()
    if not policy.on:
        _finish("off", exits.NOT_DONE, rules.describe_policy(policy), "Nothing was sent.", as_json=as_json)
    upstream = get_upstream()
    settings = current_app.extensions["settings"]
    in_doubt_after = reminders.in_doubt_after(settings.timeout_seconds)
    result = reminders.run_check(FLASK, upstream.client, current_app.secret_key, upstream.limits, policy,
                                 upstream.team_names(), in_doubt_after=in_doubt_after)
    if result.error is not None:
        _finish("check_failed", exits.UNAVAILABLE, "Not checked: the pending invitations could not be listed.",
                f"{result.error} Nothing was sent; try again later.", as_json=as_json)
    codes = {exits.for_outcome(kind) for kind in result.outcomes if kind != "under_way_elsewhere"}
    code = next(c for c in _WORST_FIRST if c in codes or c == exits.DONE)
    sent = {vocabulary.label(kind, "resend") if kind != "under_way_elsewhere" else "under way in another worker": n
            for kind, n in result.outcomes.items()}
    if as_json:
        _finish("checked", code, f"Checked {len(result.planned)} pending invitations.", as_json=True,
                due=result.due, settled=result.settled, outcomes=dict(result.outcomes))
    say(f"Checked {len(result.planned)} pending invitations: {result.due} due.",
        "ok" if code == exits.DONE else "error")
    for label, count in sent.items():
        say(f"  {label}: {count}")
    if result.settled:
        say(f"  Settled {result.settled} reminder(s) a stopped worker left under way.")
    click.get_current_context().exit(code)


def _switch_all(paused: bool, actor: Actor, as_json: bool) -> NoReturn:
    recorded = reminders.set_paused(FLASK, paused, actor)
    word = "Paused" if paused else "Resumed"
    text = ("No reminder goes out until `invite reminders resume`." if paused else
            "Reminders go out again at the next check.")
    title = f"{word} all reminders (recorded as {actor.email})."
    if not recorded:  # as a second click on the page: nothing changed, so nothing is recorded
        title = f"All reminders already were {'paused' if paused else 'running'}: nothing changed, nothing recorded."
    _finish("paused" if paused else "resumed", exits.DONE, title, text, as_json=as_json, recorded=recorded)


@reminders_group.command("pause")
@json_option
@acting_option
def pause(actor: Actor, as_json: bool) -> None:
    """Pause every reminder (recorded with who and when) until `invite reminders resume`."""
    _switch_all(True, actor, as_json)


@reminders_group.command("resume")
@json_option
@acting_option
def resume(actor: Actor, as_json: bool) -> None:
    """Resume the reminders after a pause (recorded with who and when)."""
    _switch_all(False, actor, as_json)
