"""Member addresses that make the sandbox's Update Member and Remove Member misbehave on purpose.

A member whose email is one of these (add one with ``POST /_sandbox/members`` or
``SandboxState.add_member``) gets the scripted answer when they are changed or removed, after auth,
validation and the 404 for an unknown member, as a failure deep in Junction would. The invite's scripted
addresses (invite.sandbox.scripts) are separate, so its table in the README stays as it is.
"""

from __future__ import annotations

from flask import Response

from invite.sandbox.scripts import scripted_response as _invite_scripted

SLOW_MEMBER = "slow@example.com"
LOST_MEMBER = "lost@example.com"
# Ones that answer without changing anything; slow@ and lost@ act first.
_FAILING = ("status429@example.com", "status500@example.com", "status502@example.com")
NOT_FOUND_MEMBER = "status404@example.com"

MEMBER_SCRIPTED_ADDRESSES: dict[str, str] = {
    "status429@example.com": '429 with header `Retry-After: 30` and `{"detail": "Too many requests"}`; '
                             "nothing changes",
    NOT_FOUND_MEMBER: '404 with `{"detail": "Member not found"}` though List Members still lists them; nothing '
                      "changes",
    "status500@example.com": "500 with text/plain `Internal Server Error`; nothing changes",
    "status502@example.com": "502 with an HTML error page, as a load balancer sends it; nothing changes",
    SLOW_MEMBER: "the change or removal is made at once, the answer comes only after `slow_seconds`",
    LOST_MEMBER: "the change or removal is made, then the connection is reset: the answer is lost",
}


def scripted_failure(email: str) -> Response | None:
    """The canned failure for a scripted member (which changes nothing); None for every other member."""
    address = email.strip().casefold()
    if address == NOT_FOUND_MEMBER:
        return Response('{"detail":"Member not found"}', status=404, mimetype="application/json")
    return _invite_scripted(address) if address in _FAILING else None


def is_slow(email: str) -> bool:
    return email.strip().casefold() == SLOW_MEMBER


def is_lost(email: str) -> bool:
    return email.strip().casefold() == LOST_MEMBER
