"""How often the dashboard lets one address be mailed, whichever channel asks.

Counted from the audit trail (every send and resend that may have gone out, by any channel), so nobody
signed in, on a page, the command line, a bulk job or a schedule, can mail-bomb an invitee. invite.services.actions
applies the judgement under the same lock as the write-ahead row, so two channels asking at once cannot
both slip under a limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from invite.core.when import ago

DAY = timedelta(days=1)


@dataclass(frozen=True)
class SendLimits:
    min_interval_seconds: float = 60.0  # INVITE_RESEND_MIN_INTERVAL_SECONDS; 0 turns it off
    per_day: int = 5  # INVITE_RESENDS_PER_DAY; 0 turns it off


@dataclass(frozen=True)
class HeldBack:
    """Why a send was not made, and when the address can be sent to again."""

    title: str
    detail: str
    retry_at: datetime


def judge(limits: SendLimits, email: str, earlier: Sequence[datetime], now: datetime) -> HeldBack | None:
    """Whether a send to `email` now breaks a limit, given when it was mailed in the day before (oldest first)."""
    earlier = [moment for moment in earlier if now - moment < DAY]
    interval = timedelta(seconds=limits.min_interval_seconds)
    if interval and earlier and now - earlier[-1] < interval:
        retry_at = earlier[-1] + interval
        wait = max(1, round((retry_at - now).total_seconds()))
        return HeldBack(f"Not sent: {email} was sent an invitation {ago(earlier[-1], now)}.",
                        f"The dashboard sends to one address at most once every {int(interval.total_seconds())} "
                        f"seconds. Wait {wait} seconds, then try again.", retry_at)
    if limits.per_day and len(earlier) >= limits.per_day:
        retry_at = earlier[-limits.per_day] + DAY
        return HeldBack(f"Not sent: {email} has been sent {len(earlier)} invitations in the last 24 hours, the "
                        f"most the dashboard allows.",
                        f"Check with them that the emails arrive (spam folder, address) before sending more. The "
                        f"next one can go after {retry_at.strftime('%Y-%m-%d %H:%M')} UTC.", retry_at)
    return None
