"""The core's rules on their own, without Flask, a database or Junction: tokens and the send limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invite.core import tokens
from invite.core.send_limits import SendLimits, judge

SECRET = "core-secret-0123456789abcdef"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


# ------------------------------------------------------------------------------------------ tokens


@pytest.mark.parametrize("channel", tokens.CHANNELS)
def test_a_token_verifies_only_on_its_channel_for_what_it_was_issued(channel):
    token = tokens.issue(SECRET, channel, "ada@acme.test", "x")
    assert tokens.TOKEN_PATTERN.match(token) and tokens.channel_of(token) == channel
    assert tokens.verify(SECRET, channel, token, "ada@acme.test", "x")
    assert not tokens.verify(SECRET, channel, token, "bob@acme.test", "x")
    assert not tokens.verify("another-secret-0123456789", channel, token, "ada@acme.test", "x")
    for other in tokens.CHANNELS:
        if other != channel:
            assert not tokens.verify(SECRET, other, token, "ada@acme.test", "x")


def test_tokens_are_random_unless_their_nonce_is_given():
    assert tokens.issue(SECRET, "form", "a") != tokens.issue(SECRET, "form", "a")
    fixed = tokens.issue(SECRET, "bulk", "7", "9", "1", nonce="7-9-1")
    assert fixed == tokens.issue(SECRET, "bulk", "7", "9", "1", nonce="7-9-1")
    assert fixed != tokens.issue("another-secret-0123456789", "bulk", "7", "9", "1", nonce="7-9-1")
    assert tokens.verify(SECRET, "bulk", fixed, "7", "9", "1")


@given(st.text(max_size=80))
def test_no_made_up_string_verifies(made_up):
    assert not any(tokens.verify(SECRET, channel, made_up) for channel in tokens.CHANNELS)


def test_an_unknown_channel_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown channel"):
        tokens.issue(SECRET, "fax")
    assert tokens.channel_of("bulk-100-10001-1") is None


# ------------------------------------------------------------------------------------------ send limits

LIMITS = SendLimits(min_interval_seconds=60, per_day=3)


def test_nothing_sent_before_means_nothing_held_back():
    assert judge(LIMITS, "a@example.org", [], NOW) is None


def test_within_the_interval_it_is_held_back_until_the_interval_has_passed():
    held = judge(LIMITS, "a@example.org", [NOW - timedelta(seconds=20)], NOW)
    assert held is not None and held.retry_at == NOW + timedelta(seconds=40)
    assert held.title == "Not sent: a@example.org was sent an invitation less than a minute ago."
    assert "Wait 40 seconds" in held.detail
    assert judge(LIMITS, "a@example.org", [NOW - timedelta(seconds=60)], NOW) is None


def test_the_days_maximum_holds_until_the_oldest_send_in_it_is_a_day_old():
    sent = [NOW - timedelta(hours=h) for h in (20, 10, 1)]
    held = judge(LIMITS, "a@example.org", sent, NOW)
    assert held is not None and held.retry_at == sent[0] + timedelta(days=1)
    assert "3 invitations in the last 24 hours" in held.title and "2026-12-07 16:00 UTC" in held.detail
    assert judge(LIMITS, "a@example.org", [NOW - timedelta(hours=25), *sent[1:]], NOW) is None


def test_zero_turns_a_limit_off():
    sent = [NOW - timedelta(seconds=s) for s in (50, 40, 30, 20, 10)]
    assert judge(SendLimits(min_interval_seconds=0, per_day=0), "a@example.org", sent, NOW) is None
    assert judge(SendLimits(min_interval_seconds=0, per_day=5), "a@example.org", sent, NOW) is not None


@given(st.lists(st.integers(min_value=0, max_value=3 * 86400), max_size=12))
def test_a_held_back_send_may_go_at_its_retry_at_and_not_a_second_earlier(ages):
    sent = sorted(NOW - timedelta(seconds=age) for age in ages)
    held = judge(LIMITS, "a@example.org", sent, NOW)
    if held is None:
        return
    assert held.retry_at > NOW
    assert judge(LIMITS, "a@example.org", sent, held.retry_at) is None or \
        judge(LIMITS, "a@example.org", sent, held.retry_at).retry_at > held.retry_at
    assert judge(LIMITS, "a@example.org", sent, held.retry_at - timedelta(seconds=1)) is not None
