"""Which request headers arrived more than once, for a server that would otherwise merge them unseen.

WSGI servers join a repeated header into one comma-separated value. For X-Forwarded-Email that is
harmless (two addresses joined are no address), but groups are comma-separated anyway: a client's own
X-Forwarded-Groups passed through by a proxy, next to the proxy's, would silently add groups. gunicorn
(gunicorn.conf.py's pre_request hook) calls mark_repeated on the raw header list, so header mode can
refuse a repeated identity header instead of reading the merged value.
"""

from __future__ import annotations

from collections import Counter

REPEATED_HEADERS = "X-Invite-Repeated-Headers"
_MARKER = REPEATED_HEADERS.upper()


def mark_repeated(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`headers` (gunicorn's upper-cased names) without any marker a client sent, plus ours if needed."""
    names = [name.upper() for name, _ in headers]
    if len(set(names)) == len(names) and not any(name.replace("_", "-") == _MARKER for name in names):
        return headers  # the usual request: nothing repeated, no marker to drop
    kept = [(name, value) for name, value in headers if name.upper().replace("_", "-") != _MARKER]
    counts = Counter(name.upper() for name, _ in kept)
    repeated = sorted(name for name, count in counts.items() if count > 1)
    if repeated:
        kept.append((_MARKER, ",".join(repeated)))
    return kept


def repeated_names(value: str) -> set[str]:
    """The lower-cased names listed in a REPEATED_HEADERS value."""
    return {name.strip().lower() for name in value.split(",") if name.strip()}
