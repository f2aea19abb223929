"""Recipient addresses that make the sandbox misbehave on purpose.

Posting an invite for one of these addresses to the sandbox's ``POST /v1/org/{org_id}/invite`` produces a
failure the real Junction produces only rarely, so demos and tests can show how the dashboard copes.
Addresses match case-insensitively, and only after the request passed auth and validation (as a real
failure deep in Junction would). They never change the sandbox's state, except slow@example.com, which
really creates or resends the invite at once and then delays its answer: a client that gave up waiting
finds the invite pending when it looks.
"""

from __future__ import annotations

from flask import Response

SLOW_ADDRESS = "slow@example.com"

SCRIPTED_ADDRESSES: dict[str, str] = {
    "status409@example.com": (
        '409 with `{"detail": "An invitation for this address is already being processed"}`'
    ),
    "status429@example.com": '429 with header `Retry-After: 30` and `{"detail": "Too many requests"}`',
    "status500@example.com": "500 with text/plain `Internal Server Error`, as Starlette sends it",
    "status502@example.com": "502 with an HTML error page, as a load balancer sends it",
    SLOW_ADDRESS: "answers only after `slow_seconds` (default 15), then creates or resends the invite normally",
    "oddstatus@example.com": '200 with `{"status": "invite_queued"}`, a status the OpenAPI document does not list',
}

README_SNIPPET = """\
### Sandbox: scripted recipient addresses

Inviting one of these addresses through the built-in sandbox produces a failure on purpose
(checked after auth and validation; addresses match case-insensitively):

| address | what the sandbox answers |
| --- | --- |
""" + "".join(
    f"| `{address}` | {description.replace('|', '&#124;')} |\n"
    for address, description in SCRIPTED_ADDRESSES.items()
) + """
None of them changes the sandbox's data except `slow@example.com`, which creates (or resends) the invite
at once and only then waits, so a client that timed out finds it pending when it checks. The delay is
`--slow-seconds` on `python -m invite.sandbox` (`slow_seconds=` in Python).
"""

# What an AWS/nginx-style load balancer sends when the service behind it fails.
_BAD_GATEWAY_PAGE = """\
<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
</body>
</html>
"""


def _json(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(text, status=status, mimetype="application/json", headers=headers)


def scripted_response(email: str) -> Response | None:
    """The canned answer for a scripted address; None for slow@ (the app delays it) and ordinary ones."""
    address = email.strip().casefold()
    if address == "status409@example.com":
        return _json(409, '{"detail":"An invitation for this address is already being processed"}')
    if address == "status429@example.com":
        return _json(429, '{"detail":"Too many requests"}', {"Retry-After": "30"})
    if address == "status500@example.com":
        return Response("Internal Server Error", status=500, content_type="text/plain; charset=utf-8")
    if address == "status502@example.com":
        return Response(_BAD_GATEWAY_PAGE, status=502, content_type="text/html")
    if address == "oddstatus@example.com":
        return _json(200, '{"status":"invite_queued"}')
    return None


def is_slow(email: str) -> bool:
    return email.strip().casefold() == SLOW_ADDRESS
