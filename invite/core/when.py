"""Moments as people read them: in UTC, and how long ago ("3 hours ago"). Shared by the pages, the send
limit's messages and the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def ago(moment: datetime, now: datetime | None = None) -> str:
    seconds = max(0, int(((now or datetime.now(UTC)) - utc(moment)).total_seconds()))
    if seconds < 60:
        return "less than a minute ago"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} hours ago"
    days = hours // 24
    if days < 60:
        return f"{days} days ago"
    if days < 730:
        return f"{days // 30} months ago"
    return f"{days // 365} years ago"


def older_than(moment: datetime, days: int, now: datetime | None = None) -> bool:
    return (now or datetime.now(UTC)) - utc(moment) > timedelta(days=days)
