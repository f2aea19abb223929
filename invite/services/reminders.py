"""Reminding pending invitations (issue 26): one check reads List Invites once, asks the policy
(invite.core.reminders) about each invitation and resends what is due through invite.services.actions, on
the channel "reminder", as the reminders themselves. The write-ahead row, the send limits and the check of
an answer that never came are the core's, as for every channel.

Exactly once: the token of a reminder is made from the invitation's id and how many reminder attempts the
trail holds for it, read in the same query as the sends the policy counts. Two workers (or a worker started
again) looking at the same trail make the same token and claim the same row: one sends, the other finds it.
A worker that looks after the row was written counts it as a send (under way counts), so nothing is due. A
row left under way by a worker killed mid-call is settled from List Invites, like a bulk row in doubt, and
never posted again.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from invite.adapters import metrics
from invite.adapters import reminder_switches as switches
from invite.adapters.storage import MAILED, PENDING, Action
from invite.adapters.unit_of_work import UnitOfWork
from invite.core import reminders as policy_rules
from invite.core import tokens
from invite.core.actor import Actor
from invite.core.reminders import DUE, Decision, History, ReminderPolicy, Switch
from invite.core.send_limits import SendLimits
from invite.junction import Invite, JunctionClient, JunctionError, OutcomeUnknownError
from invite.services import actions

log = logging.getLogger("invite.reminders")
# Switches and pauses are decisions people make: one line each on the audit log, beside the actions'.
audit_log = logging.getLogger("invite.audit")

CHANNEL = "reminder"
ACTOR_EMAIL = "reminders"
# Outcomes after which the reminder counts as sent: the same as the send limits count.
SENT = MAILED


def in_doubt_after(timeout_seconds: float) -> timedelta:
    """How long a reminder may stay under way before it is taken for a dead worker's: longer than the call
    (one deadline, retries included) and the check after it can last."""
    return timedelta(seconds=3 * timeout_seconds + 10)


def actor(policy: ReminderPolicy) -> Actor:
    """The reminders themselves, naming the setting that turned them on."""
    after = policy_rules.duration_text(policy.after) if policy.after else "unset"
    return Actor(email=ACTOR_EMAIL, role=f"INVITE_REMIND_AFTER={after}", channel=CHANNEL)


@dataclass(frozen=True)
class Trail:
    """What the trail holds for one invitation: the policy's History and the reminder attempts made."""

    history: History
    attempts: int = 0


@dataclass(frozen=True)
class Planned:
    invite: Invite
    decision: Decision


@dataclass
class CheckResult:
    planned: list[Planned] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)  # outcome kind -> reminders
    settled: int = 0
    error: str | None = None  # Junction could not be read: nothing was sent

    @property
    def due(self) -> int:
        return sum(1 for item in self.planned if item.decision.state == DUE)


def _trails(uow: UnitOfWork, invites: Iterable[Invite], off: Mapping[str, Switch]) -> dict[str, Trail]:
    """One query: every send or resend of these addresses, and every reminder of these invitations."""
    invites = list(invites)
    by_email: dict[str, list[Invite]] = {}
    for invite in invites:
        by_email.setdefault(invite.email.strip().lower(), []).append(invite)
    last: dict[str, datetime] = {}
    sent: Counter[str] = Counter()
    attempts: Counter[str] = Counter()
    emails = list(by_email)
    for start in range(0, len(emails), 500):  # keeps each IN list short
        chunk = emails[start:start + 500]
        rows = uow.session.execute(
            select(func.lower(Action.target_email), Action.created_at, Action.outcome_kind, Action.channel,
                   Action.invite_id)
            .where(func.lower(Action.target_email).in_(chunk), Action.action.in_(("send", "resend"))))
        for email, created_at, kind, channel, invite_id in rows:
            created = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
            mailed = kind in SENT
            if mailed and (email not in last or created > last[email]):
                last[email] = created
            if channel == CHANNEL and invite_id:
                attempts[invite_id] += 1
                if mailed:
                    sent[invite_id] += 1
    uow.commit()  # end the read: the next look sees other writers
    paused = off.get(switches.ALL)
    return {invite.id: Trail(History(reminders_sent=sent[invite.id], last_sent=last.get(invite.email.strip().lower()),
                                     switched_off=off.get(invite.id), paused=paused), attempts[invite.id])
            for invite in invites}


def plan(uow: UnitOfWork, client: JunctionClient, policy: ReminderPolicy, now: datetime | None = None) -> list[Planned]:
    """Every pending invitation (List Invites, read once) and what the policy decides for it now.

    Raises JunctionError when Junction could not be read."""
    now = now or datetime.now(UTC)
    invites = list(client.iter_invites())
    trails = _trails(uow, invites, switches.current(uow))
    return [Planned(invite, policy_rules.decide(policy, invite, trails[invite.id].history, now)) for invite in invites]


def decisions(uow: UnitOfWork, invites: Iterable[Invite], policy: ReminderPolicy,
              now: datetime | None = None) -> dict[str, Decision]:
    """What the policy decides now for each of these invitations (a page of the list): invite id -> Decision."""
    now = now or datetime.now(UTC)
    invites = list(invites)
    trails = _trails(uow, invites, switches.current(uow, (invite.id for invite in invites)))
    return {invite.id: policy_rules.decide(policy, invite, trails[invite.id].history, now) for invite in invites}


def token_for(secret: str, invite: Invite, attempt: int) -> str:
    """The token of the `attempt`-th reminder attempt (from 0) of this invitation: the same in every worker."""
    return tokens.issue(secret, CHANNEL, ACTOR_EMAIL, invite.id, str(attempt),
                        nonce=f"reminder\x1f{invite.id}\x1f{attempt}")


def remind(uow: UnitOfWork, client: JunctionClient, secret: str, limits: SendLimits, policy: ReminderPolicy,
           invite: Invite,
           team_names: Mapping[str, str], attempt: int) -> Action | None:
    """Resend one invitation as a reminder; the recorded Action, or None when another worker has it under way."""
    claim = actions.resend_invite(uow, client, token_for(secret, invite, attempt), actor(policy), invite, team_names,
                                  limits=limits)
    if not claim.is_new:
        return None if claim.action.state == PENDING else claim.action
    metrics.count_reminder(claim.action.outcome_kind)
    if claim.action.outcome_kind not in SENT:
        log.warning("reminder of %s not sent: %s", invite.email, claim.action.outcome_kind,
                    extra={"fields": {"invite_id": invite.id, "outcome": claim.action.outcome_kind,
                                      "action_id": claim.action.id}})
    return claim.action


def remind_next(uow: UnitOfWork, client: JunctionClient, secret: str, limits: SendLimits, policy: ReminderPolicy,
                invite: Invite,
                team_names: Mapping[str, str]) -> Action | None:
    """remind() with the attempt number the trail gives now."""
    trail = _trails(uow, [invite], {})[invite.id]
    return remind(uow, client, secret, limits, policy, invite, team_names, trail.attempts)


def settle_in_doubt(uow: UnitOfWork, client: JunctionClient, older_than: timedelta, now: datetime | None = None) -> int:
    """Reminders left under way longer than any live call lasts (a worker killed mid-call): settled from
    List Invites, never posted again."""
    cutoff = (now or datetime.now(UTC)) - older_than
    rows = list(uow.session.scalars(select(Action).where(Action.channel == CHANNEL, Action.state == PENDING,
                                                        Action.created_at < cutoff)))
    uow.commit()
    for row in rows:
        gone = OutcomeUnknownError("The worker stopped while this reminder was being sent.")
        actions.settle_unanswered(uow, client, row, gone, row.created_at)
        metrics.count_reminder(row.outcome_kind)
    if rows:
        log.info("reminders: settled %d left in flight", len(rows), extra={"fields": {"settled": len(rows)}})
    return len(rows)


def run_check(uow: UnitOfWork, client: JunctionClient, secret: str, limits: SendLimits, policy: ReminderPolicy,
              team_names: Mapping[str, str], *, in_doubt_after: timedelta, now: datetime | None = None) -> CheckResult:
    """One check: settle what a dead worker left, read List Invites once, send every reminder due."""
    result = CheckResult()
    if not policy.on:
        return result
    try:
        result.settled = settle_in_doubt(uow, client, in_doubt_after, now)
        invites = list(client.iter_invites())
    except JunctionError as exc:
        result.error = str(exc)
        metrics.count_reminder("check_failed")
        log.warning("reminders: check failed: %s", exc, extra={"fields": {"outcome": "check_failed"}})
        return result
    moment = now or datetime.now(UTC)
    trails = _trails(uow, invites, switches.current(uow))
    for invite in invites:
        decision = policy_rules.decide(policy, invite, trails[invite.id].history, moment)
        result.planned.append(Planned(invite, decision))
    metrics.set_reminders_due(result.due)
    for item in result.planned:
        if item.decision.state != DUE:
            continue
        row = remind(uow, client, secret, limits, policy, item.invite, team_names, trails[item.invite.id].attempts)
        result.outcomes[row.outcome_kind if row is not None else "under_way_elsewhere"] += 1
    log.info("reminders check: %d pending, %d due, sent %s", len(result.planned), result.due, dict(result.outcomes),
             extra={"fields": {"pending": len(result.planned), "due": result.due, "reminders": dict(result.outcomes),
                               "settled": result.settled}})
    return result


def _trail_token(form_token: str | None) -> str:
    """The key of a decision's row in the audit trail: from the form's server-issued token when there is one, so a
    form posted twice is recorded once whatever else happened in between; else a fresh one (the command line).
    Never a token some other page could look an action up by."""
    if form_token:
        return "switch-" + hashlib.sha256(form_token.encode()).hexdigest()[:48]
    return "switch-" + secrets.token_hex(24)


def set_switch(uow: UnitOfWork, invite_id: str, off: bool, who: Actor, email: str | None = None,
               form_token: str | None = None) -> bool:
    """Reminders off (or on again) for one invitation, recorded with who and when, in the audit trail too.
    False when nothing changed (they already were so, or the form was posted before): nothing is recorded."""
    action = "reminders_off" if off else "reminders_on"
    row = switches.record(uow, invite_id, off, who, token=_trail_token(form_token), action=action, email=email)
    if row is None:
        return False
    audit_log.info("reminders %s for %s by %s", "switched off" if off else "switched on", email or invite_id,
                   who.email, extra={"fields": {"audit": "reminder_switch", "invite_id": invite_id, "off": off,
                                                "actor_email": who.email, "channel": who.channel}})
    return True


def set_paused(uow: UnitOfWork, paused: bool, who: Actor, form_token: str | None = None) -> bool:
    """Pause (or resume) every reminder, recorded with who and when, in the audit trail too. False when nothing
    changed (they already were so, or the form was posted before): nothing is recorded."""
    action = "reminders_pause" if paused else "reminders_resume"
    row = switches.record(uow, switches.ALL, paused, who, token=_trail_token(form_token), action=action)
    if row is None:
        return False
    audit_log.info("reminders %s by %s", "paused" if paused else "resumed", who.email,
                   extra={"fields": {"audit": "reminder_pause", "paused": paused, "actor_email": who.email,
                                     "channel": who.channel}})
    return True


def switch_trail(uow: UnitOfWork, limit: int = 20) -> list[switches.ReminderSwitch]:
    """The latest switches and pauses, newest first: who, when, what."""
    return switches.trail(uow, limit)


def paused_by(uow: UnitOfWork) -> Switch | None:
    return switches.current(uow).get(switches.ALL)
