"""When a pending invitation is reminded, and why one never will be (issue 26).

A pure judgement: one invitation as Junction lists it, what the trail knows of it, the policy and the
moment (an injected clock). Nothing here reads a clock, a database or Junction, so every case (working
hours, weekdays, zones and their clock changes, the maximum, a resend from Junction's own dashboard) is a
test of one call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from invite.core.when import utc
from invite.junction.models import Invite

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_HOURS = re.compile(r"^\s*(\d{1,2})\s*-\s*(\d{1,2})\s*$")


@dataclass(frozen=True)
class ReminderPolicy:
    """The settings INVITE_REMIND_*; `after` None means reminders are off."""

    after: timedelta | None = None
    max_reminders: int = 2
    hours: tuple[int, int] = (9, 17)  # local hours [start, end): 09-17 sends from 09:00 to 16:59
    days: frozenset[int] = frozenset(range(5))  # Monday is 0
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    check_every: timedelta = timedelta(minutes=15)
    stale_after: timedelta = timedelta(days=30)

    @property
    def on(self) -> bool:
        return self.after is not None and self.max_reminders > 0


@dataclass(frozen=True)
class Switch:
    """A recorded switch (reminders off for one invitation, or all paused): who, when, from where."""

    by: str
    at: datetime


@dataclass(frozen=True)
class History:
    """What the trail knows of one invitation's address."""

    reminders_sent: int = 0  # reminders that may have gone out (sent, confirmed or unknown)
    last_sent: datetime | None = None  # the latest send or resend on any channel that may have gone out
    switched_off: Switch | None = None
    paused: Switch | None = None


DUE = "due"
LATER = "later"
NEVER = "never"


@dataclass(frozen=True)
class Decision:
    state: str  # DUE, LATER or NEVER
    reminders_sent: int
    max_reminders: int
    last_sent: datetime
    due_at: datetime | None = None  # DUE: when it fell due; LATER: when it will
    reason: str | None = None  # NEVER (or paused): why, in words
    stale: bool = False

    @property
    def number(self) -> int:
        """Which reminder a send now would be (1 for the first)."""
        return self.reminders_sent + 1


# ------------------------------------------------------------------------------------------ settings


def parse_duration(text: str) -> timedelta:
    """`10m`, `36h`, `3d`, `2w`, `30s`: a positive duration. ValueError otherwise."""
    match = _DURATION.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration: a positive number and a unit, e.g. 3d, 36h, 10m")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()])


def parse_hours(text: str) -> tuple[int, int]:
    """`09-17` (from 09:00 up to 17:00), `00-24` (all day). ValueError otherwise."""
    match = _HOURS.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a span of hours such as 09-17")
    start, end = int(match.group(1)), int(match.group(2))
    if not 0 <= start < end <= 24:
        raise ValueError(f"{text!r}: the hours must be from 00 to 24, the first before the second")
    return start, end


def parse_days(text: str) -> frozenset[int]:
    """`mon-fri`, `mon,wed,fri`, `sat-sun`, `fri-mon` (across the week's end). ValueError otherwise."""
    days: set[int] = set()
    for part in (piece.strip().lower() for piece in text.split(",")):
        ends = [end.strip()[:3] for end in part.split("-")]
        if not part or len(ends) > 2 or any(end not in DAY_NAMES for end in ends):
            raise ValueError(f"{text!r} is not a list of weekdays such as mon-fri or mon,wed,fri")
        first, last = DAY_NAMES.index(ends[0]), DAY_NAMES.index(ends[-1])
        days.update((first + step) % 7 for step in range((last - first) % 7 + 1))
    return frozenset(days)


def parse_zone(text: str) -> ZoneInfo:
    try:
        return ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{text!r} is not a time zone name such as UTC or Europe/Berlin") from None


def describe_window(policy: ReminderPolicy) -> str:
    """The sending window in words: "mon-fri 09:00-17:00 UTC", "every day at any hour Europe/Berlin"."""
    days = sorted(policy.days)
    if len(days) == 7:
        day_words = "every day"
    elif days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        day_words = f"{DAY_NAMES[days[0]]}-{DAY_NAMES[days[-1]]}"
    else:
        day_words = ",".join(DAY_NAMES[d] for d in days)
    start, end = policy.hours
    hour_words = "at any hour" if (start, end) == (0, 24) else f"{start:02d}:00-{end:02d}:00"
    return f"{day_words} {hour_words} {policy.zone.key}"


def duration_text(span: timedelta) -> str:
    """A duration as the settings write it: 3d, 36h, 10m."""
    seconds = int(span.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


def duration_words(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("week", 7 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


# ------------------------------------------------------------------------------------------ judgement


def next_window(policy: ReminderPolicy, moment: datetime) -> datetime:
    """The earliest moment at or after `moment` (UTC) inside the sending hours and days, in UTC.

    Every comparison is made in UTC: two datetimes in one ZoneInfo compare by their wall clocks, which is
    wrong across a clock change."""
    moment = utc(moment)
    local_day = moment.astimezone(policy.zone).date()
    start_hour, end_hour = policy.hours
    for step in range(8):
        day = local_day + timedelta(days=step)
        if day.weekday() not in policy.days:
            continue
        opens = datetime.combine(day, time(start_hour), tzinfo=policy.zone).astimezone(UTC)
        closes = (datetime.combine(day + timedelta(days=1), time(0), tzinfo=policy.zone) if end_hour == 24
                  else datetime.combine(day, time(end_hour), tzinfo=policy.zone)).astimezone(UTC)
        if moment < closes:
            return max(moment, opens)
    raise ValueError("no sending day in the policy")  # parse_days never yields an empty set


def last_send(invite: Invite, history: History) -> datetime:
    """The latest send we know of: Junction's invited_at and resent_at (a resend from its own dashboard
    counts) and every send on the trail, whichever channel."""
    known = [invite.invited_at, invite.resent_at, history.last_sent]
    return max(utc(moment) for moment in known if moment is not None)


def decide(policy: ReminderPolicy, invite: Invite, history: History, now: datetime) -> Decision:
    now = utc(now)
    sent = history.reminders_sent
    last = last_send(invite, history)
    stale_at = utc(invite.invited_at) + policy.stale_after

    def never(reason: str, *, stale: bool = False) -> Decision:
        return Decision(NEVER, sent, policy.max_reminders, last, reason=reason, stale=stale)

    spent = sent >= policy.max_reminders
    if policy.after is None:
        return never("reminders are off (INVITE_REMIND_AFTER is not set)", stale=now >= stale_at)
    if policy.max_reminders == 0:
        return never("reminders are off (INVITE_REMIND_MAX is 0)", stale=now >= stale_at)
    if spent:
        return never(f"reminded {sent} of {policy.max_reminders} times", stale=now >= stale_at)
    if history.switched_off is not None:
        return never(f"switched off by {history.switched_off.by}", stale=now >= stale_at)
    if now >= stale_at:
        return never(f"stale: invited more than {duration_words(policy.stale_after)} ago", stale=True)
    due_at = next_window(policy, max(last + policy.after, now))
    if due_at >= stale_at:
        return never(f"stale before its next reminder could go ({duration_words(policy.stale_after)} "
                     "after the invitation)")
    earliest = last + policy.after
    if history.paused is not None:
        return Decision(LATER, sent, policy.max_reminders, last, due_at=None,
                        reason=f"paused by {history.paused.by}")
    if due_at <= now:
        return Decision(DUE, sent, policy.max_reminders, last, due_at=next_window(policy, earliest))
    return Decision(LATER, sent, policy.max_reminders, last, due_at=due_at)


def words(decision: Decision, now: datetime) -> str:
    """What /invitations and `invite reminders plan` say of one invitation."""
    counted = f"reminded {decision.reminders_sent} of {decision.max_reminders} times"
    if decision.state == NEVER:
        return f"will not be reminded: {decision.reason}"
    if decision.reason:  # paused
        return f"{counted}; {decision.reason}"
    if decision.state == DUE:
        return f"{counted}; next reminder due now"
    assert decision.due_at is not None
    return f"{counted}; next reminder in {_until(decision.due_at - utc(now))}"


def _until(span: timedelta) -> str:
    minutes = max(1, int(span.total_seconds() // 60))
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} hours"
    return f"{hours // 24} days"


def describe_policy(policy: ReminderPolicy) -> str:
    """The policy in one sentence, as /reminders and `invite reminders plan` both say it."""
    if not policy.on:
        return "Reminders are off: INVITE_REMIND_AFTER is not set (or INVITE_REMIND_MAX is 0)."
    assert policy.after is not None
    return (f"A pending invitation is reminded {duration_words(policy.after)} after the last send, at most "
            f"{policy.max_reminders} times, {describe_window(policy)}, checked every "
            f"{duration_words(policy.check_every)}. Older than {duration_words(policy.stale_after)}, it is stale "
            "and no longer reminded.")
