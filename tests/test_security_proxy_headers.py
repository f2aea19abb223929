"""Finding 10 of #13: a repeated identity header is refused in header mode, never merged, both in the app
and under gunicorn as the Procfile runs it (gunicorn is what merges them)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from test_auth_header import PROXY, header_settings
from test_ops import gunicorn_serving
from test_permissions import make_auth_app

from invite.auth.repeated_headers import REPEATED_HEADERS, mark_repeated

ROOT = Path(__file__).resolve().parent.parent


def test_mark_repeated_names_what_came_twice_and_drops_a_client_marker():
    headers = [("X-FORWARDED-GROUPS", "a"), ("X-FORWARDED-GROUPS", "b"), ("X-INVITE-REPEATED-HEADERS", "nothing"),
               ("X_INVITE_REPEATED_HEADERS", "x"), ("HOST", "h")]
    assert mark_repeated(headers) == [("X-FORWARDED-GROUPS", "a"), ("X-FORWARDED-GROUPS", "b"), ("HOST", "h"),
                                      ("X-INVITE-REPEATED-HEADERS", "X-FORWARDED-GROUPS")]
    assert mark_repeated([("HOST", "h"), ("X-INVITE-REPEATED-HEADERS", "X-FORWARDED-EMAIL")]) == [("HOST", "h")]


@pytest.mark.parametrize("repeated", ["X-FORWARDED-GROUPS", "X-FORWARDED-EMAIL", "ACCEPT,X-FORWARDED-GROUPS"])
def test_the_app_refuses_a_repeated_identity_header(repeated):
    app = make_auth_app(header_settings())
    response = app.test_client().get("/whoami", environ_base={"REMOTE_ADDR": PROXY}, headers={
        "X-Forwarded-Email": "ada@example.com", "X-Forwarded-Groups": "invite-admins", REPEATED_HEADERS: repeated})
    assert response.status_code == 401 and app.ran == []


def test_other_repeated_headers_do_not_matter():
    app = make_auth_app(header_settings())
    response = app.test_client().get("/whoami", environ_base={"REMOTE_ADDR": PROXY}, headers={
        "X-Forwarded-Email": "ada@example.com", "X-Forwarded-Groups": "invite-admins", REPEATED_HEADERS: "ACCEPT"})
    assert response.status_code == 200


def raw_get(port: int, *header_lines: str) -> int:
    request = "\r\n".join(["GET /activity HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close",
                           *header_lines, "", ""]).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def test_under_gunicorn_two_groups_headers_are_refused(tmp_path):
    with gunicorn_serving(tmp_path, AUTH_MODE="header", AUTH_TRUSTED_PROXIES="127.0.0.0/8",
                          ADMIN_GROUPS="invite-admins", SUPPORT_GROUPS="helpdesk") as (port, _):
        email = "X-Forwarded-Email: ada@example.com"
        assert raw_get(port, email, "X-Forwarded-Groups: helpdesk") == 200
        # The proxy's own header plus a client's passed through: merged, this would make ada an admin.
        assert raw_get(port, email, "X-Forwarded-Groups: helpdesk", "X-Forwarded-Groups: invite-admins") == 401
        assert raw_get(port, email, email) == 401
        # A client cannot switch the check off by sending the marker itself.
        assert raw_get(port, email, "X-Forwarded-Groups: helpdesk", "X-Forwarded-Groups: invite-admins",
                       f"{REPEATED_HEADERS}: ") == 401


@pytest.mark.parametrize("headers, expected", [
    ([("HOST", "a"), ("X-FORWARDED-EMAIL", "ada@corp.example")], None),  # the usual request: as it came
    ([("HOST", "a"), ("X_INVITE_REPEATED_HEADERS", "HOST")], [("HOST", "a")]),  # a client's marker dropped
    ([("HOST", "a"), ("X-INVITE-REPEATED-HEADERS", "")], [("HOST", "a")]),
    ([("X-FORWARDED-GROUPS", "a"), ("X-FORWARDED-GROUPS", "b")],
     [("X-FORWARDED-GROUPS", "a"), ("X-FORWARDED-GROUPS", "b"), ("X-INVITE-REPEATED-HEADERS", "X-FORWARDED-GROUPS")]),
])
def test_repeated_headers_are_marked_and_the_usual_request_passes_untouched(headers, expected):
    marked = mark_repeated(list(headers))
    assert marked == (headers if expected is None else expected)
