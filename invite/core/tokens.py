"""Server-issued one-time tokens: the key under which an action is recorded before Junction is called.

A token names its channel and carries an HMAC (with SECRET_KEY) over the channel, what it was issued for
(the person, the invitation, the job's row) and a random part. Nobody without the secret can make one up,
and one channel's tokens can never be taken for another's: a form cannot post a bulk row's token, or the
support desk's, to make that row report another action's outcome (issue 20). invite.services.actions also refuses
a token whose recorded action was made for another person, action or address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

# Every channel that records actions; a token starts with its channel's prefix.
CHANNELS = ("form", "row", "cli", "bulk", "reminder", "access")
_PREFIX = {"form": "f", "row": "r", "cli": "c", "bulk": "b", "reminder": "m", "access": "a"}
_NONCE_CHARS = 16  # secrets.token_urlsafe(12)
_MAC_CHARS = 22  # 128 bits, base64url without padding
# What a token looks like on the wire (a URL path segment, a hidden field): prefix, "-", nonce, MAC.
TOKEN_PATTERN = re.compile(r"^[frcbma]-[A-Za-z0-9_-]{38}$")


def _mac(secret: str, channel: str, nonce: str, bound: tuple[str, ...]) -> str:
    message = "\x1f".join(("action-token", channel, nonce, *bound)).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue(secret: str, channel: str, *bound: str, nonce: str | None = None) -> str:
    """A token for one action on `channel`, bound to `bound` (who, on what). A fixed `nonce` gives the same
    token again: a bulk row's attempt must find its own audit row after the worker restarts."""
    if channel not in _PREFIX:
        raise ValueError(f"unknown channel {channel!r}")
    if nonce is None:
        nonce = secrets.token_urlsafe(12)
    nonce = _nonce(nonce)
    return f"{_PREFIX[channel]}-{nonce}{_mac(secret, channel, nonce, bound)}"


def _nonce(seed: str) -> str:
    """A nonce of the fixed width, from any seed (a random one passes through unchanged)."""
    if len(seed) == _NONCE_CHARS and re.fullmatch(r"[A-Za-z0-9_-]+", seed):
        return seed
    digest = hashlib.sha256(seed.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:_NONCE_CHARS]


def verify(secret: str, channel: str, token: str, *bound: str) -> bool:
    """Whether this server issued `token` on `channel` for `bound`."""
    if not isinstance(token, str) or not TOKEN_PATTERN.match(token) or token[0] != _PREFIX.get(channel):
        return False
    nonce, mac = token[2:2 + _NONCE_CHARS], token[2 + _NONCE_CHARS:]
    return hmac.compare_digest(mac, _mac(secret, channel, nonce, bound))


def channel_of(token: str) -> str | None:
    for channel, prefix in _PREFIX.items():
        if token.startswith(prefix + "-"):
            return channel
    return None
