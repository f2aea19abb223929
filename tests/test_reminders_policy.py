"""The reminders' policy (invite/core/reminders.py) with an injected clock: working hours, weekdays, zones and
their clock changes, the maximum, a resend from Junction's own dashboard, the switches; and the settings that
make the policy, checked at start-up one line per problem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from invite.config import ConfigError, load_settings
from invite.core import reminders
from invite.core.reminders import DUE, LATER, NEVER, History, ReminderPolicy, Switch, decide
from invite.junction.models import Creator, Invite
from tests.test_config import good_env


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def invite(invited: str, resent: str | None = None) -> Invite:
    return Invite(id="0b0c0d0e-0000-4000-8000-000000000001", email="late@example.org", role="no_role", team_ids=(),
                  invited_at=at(invited), resent_at=at(resent) if resent else None, creator=Creator("management_key"))


POLICY = ReminderPolicy(after=timedelta(days=3))  # 09-17 UTC, mon-fri, at most 2, stale after 30 days
# 2026-12-07 is a Monday.


def test_reminders_are_off_unless_remind_after_is_set():
    decision = decide(ReminderPolicy(), invite("2026-12-01T10:00:00"), History(), at("2026-12-07T10:00:00"))
    assert decision.state == NEVER and "INVITE_REMIND_AFTER" in decision.reason
    none = decide(ReminderPolicy(after=timedelta(days=3), max_reminders=0), invite("2026-12-01T10:00:00"), History(),
                  at("2026-12-07T10:00:00"))
    assert none.reason == "reminders are off (INVITE_REMIND_MAX is 0)"


def test_due_once_remind_after_has_passed_inside_working_hours():
    item = invite("2026-12-02T10:00:00")  # a Wednesday
    assert decide(POLICY, item, History(), at("2026-12-04T09:59:00")).state == LATER
    decision = decide(POLICY, item, History(), at("2026-12-07T10:00:00"))
    assert decision.state == DUE and decision.number == 1


def test_outside_working_hours_it_waits_for_the_next_opening():
    item = invite("2026-12-01T16:30:00")  # Tuesday; due Friday 16:30, window open until 17:00
    decision = decide(POLICY, item, History(), at("2026-12-04T17:05:00"))
    assert decision.state == LATER and decision.due_at == at("2026-12-07T09:00:00")  # Monday 09:00
    assert reminders.words(decision, at("2026-12-04T17:05:00")) == "reminded 0 of 2 times; next reminder in 2 days"


def test_weekends_are_skipped_and_other_days_can_be_chosen():
    item = invite("2026-12-02T12:00:00")  # due Saturday 12:00
    saturday = at("2026-12-05T12:00:00")
    assert decide(POLICY, item, History(), saturday).due_at == at("2026-12-07T09:00:00")
    weekend = ReminderPolicy(after=timedelta(days=3), days=reminders.parse_days("sat-sun"))
    assert decide(weekend, item, History(), saturday).state == DUE


def test_working_hours_are_read_in_the_zone_across_a_clock_change():
    berlin = ReminderPolicy(after=timedelta(hours=36), zone=ZoneInfo("Europe/Berlin"))
    # 2026-03-29 (Sunday): Berlin moves from UTC+1 to UTC+2. Due Sunday; Monday 09:00 Berlin is 07:00 UTC.
    item = invite("2026-03-27T20:00:00")
    decision = decide(berlin, item, History(), at("2026-03-29T08:00:00"))
    assert decision.due_at == at("2026-03-30T07:00:00")
    # The Friday before the change, 09:00 Berlin was 08:00 UTC.
    friday = decide(berlin, invite("2026-03-24T20:00:00"), History(), at("2026-03-27T07:30:00"))
    assert friday.due_at == at("2026-03-27T08:00:00")
    assert decide(berlin, invite("2026-03-24T20:00:00"), History(), at("2026-03-27T08:00:00")).state == DUE


def test_the_maximum_stops_reminders_and_says_so():
    item = invite("2026-12-01T10:00:00")
    decision = decide(POLICY, item, History(reminders_sent=2, last_sent=at("2026-12-02T10:00:00")),
                      at("2026-12-10T10:00:00"))
    assert decision.state == NEVER and decision.reason == "reminded 2 of 2 times"
    assert reminders.words(decision, at("2026-12-10T10:00:00")) == "will not be reminded: reminded 2 of 2 times"


def test_a_resend_from_junctions_own_dashboard_counts_as_the_last_send():
    item = invite("2026-11-20T10:00:00", resent="2026-12-07T08:00:00")
    decision = decide(POLICY, item, History(), at("2026-12-08T10:00:00"))
    assert decision.state == LATER and decision.due_at == at("2026-12-10T09:00:00")


def test_a_send_on_our_trail_counts_as_the_last_send():
    item = invite("2026-11-20T10:00:00")
    decision = decide(POLICY, item, History(last_sent=at("2026-12-07T11:00:00")), at("2026-12-08T10:00:00"))
    assert decision.due_at == at("2026-12-10T11:00:00")


def test_switched_off_paused_and_stale():
    item = invite("2026-12-01T10:00:00")
    now = at("2026-12-07T10:00:00")
    off = decide(POLICY, item, History(switched_off=Switch("ada@acme.test", now)), now)
    assert off.state == NEVER and off.reason == "switched off by ada@acme.test"
    paused = decide(POLICY, item, History(paused=Switch("bob@acme.test", now)), now)
    assert paused.state == LATER and paused.reason == "paused by bob@acme.test"
    old = decide(POLICY, invite("2026-10-01T10:00:00"), History(), now)
    assert old.state == NEVER and old.stale and old.reason.startswith("stale")
    spent_and_old = decide(POLICY, invite("2026-10-01T10:00:00"), History(reminders_sent=2), now)
    assert spent_and_old.stale and spent_and_old.reason == "reminded 2 of 2 times"


@pytest.mark.parametrize(("text", "seconds"), [("3d", 259200), ("36h", 129600), ("10m", 600), ("2w", 1209600)])
def test_durations(text, seconds):
    assert reminders.parse_duration(text) == timedelta(seconds=seconds)


def test_days_and_hours():
    assert reminders.parse_days("mon-fri") == frozenset(range(5))
    assert reminders.parse_days("fri-mon") == frozenset({4, 5, 6, 0})
    assert reminders.parse_days("mon,wed") == frozenset({0, 2})
    assert reminders.parse_hours("00-24") == (0, 24)


def test_settings_default_and_each_problem_is_one_line():
    policy = load_settings(good_env()).reminders
    assert not policy.on and policy.max_reminders == 2 and policy.hours == (9, 17)
    assert policy.check_every == timedelta(minutes=15) and policy.stale_after == timedelta(days=30)
    set_up = load_settings(good_env(INVITE_REMIND_AFTER="36h", INVITE_REMIND_TZ="Europe/Berlin",
                                    INVITE_REMIND_DAYS="mon,wed", INVITE_REMIND_MAX="3")).reminders
    assert set_up.on and set_up.after == timedelta(hours=36) and set_up.zone.key == "Europe/Berlin"
    assert set_up.days == frozenset({0, 2}) and set_up.max_reminders == 3
    with pytest.raises(ConfigError) as info:
        load_settings(good_env(INVITE_REMIND_AFTER="soon", INVITE_REMIND_HOURS="17-09", INVITE_REMIND_DAYS="funday",
                               INVITE_REMIND_TZ="Mars/Olympus", INVITE_REMIND_MAX="x",
                               INVITE_REMINDERS_CHECK_EVERY="10s", INVITE_STALE_AFTER="0d"))
    lines = info.value.problems
    for name in ("INVITE_REMIND_AFTER", "INVITE_REMIND_HOURS", "INVITE_REMIND_DAYS", "INVITE_REMIND_TZ",
                 "INVITE_REMIND_MAX", "INVITE_REMINDERS_CHECK_EVERY", "INVITE_STALE_AFTER"):
        assert sum(line.startswith(name) for line in lines) == 1, (name, lines)


def test_the_window_in_words():
    assert reminders.describe_window(ReminderPolicy()) == "mon-fri 09:00-17:00 UTC"
    assert reminders.describe_window(ReminderPolicy(days=frozenset(range(7)), hours=(0, 24),
                                                    zone=ZoneInfo("Europe/Berlin"))) == \
        "every day at any hour Europe/Berlin"
    assert reminders.describe_window(ReminderPolicy(days=reminders.parse_days("mon,wed"))) == "mon,wed 09:00-17:00 UTC"


def test_the_workers_periodic_check_falls_on_every_nth_minute():
    from invite.bulk.tasks import every_minutes

    quarter = every_minutes(15)
    assert [quarter(datetime(2026, 12, 7, 10, minute, 30)) for minute in (0, 1, 14, 15, 30, 45, 59)] == [
        True, False, False, True, True, True, False]
    assert all(every_minutes(1)(datetime(2026, 12, 7, 10, minute)) for minute in range(60))
