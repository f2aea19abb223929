"""JunctionClient over real HTTP against a scripted upstream: the fault matrix."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from scripted_upstream import Reply, ScriptedUpstream, UnacceptingPort, closed_port

from invite.junction import (
    AuthenticationError,
    ConflictError,
    InviteStatus,
    JunctionClient,
    JunctionError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    UnexpectedStatusError,
    UnreachableError,
    ValidationError,
    ValidationIssue,
)
from invite.junction import client as client_module
from invite.version import __version__

ORG = "6a3f9b2e-1c4d-4e5f-8a9b-0c1d2e3f4a5b"
KEY = "mg_FAKEKEY-do-not-leak-7Qx9Zr2Lw4"
TEAM_A = "11111111-1111-4111-8111-111111111111"
TEAM_B = "22222222-2222-4222-8222-222222222222"
INVITE_PATH = f"/v1/org/{ORG}/invite"

SHORT = {"timeout": 0.5, "connect_timeout": 0.5, "backoff_factor": 0.01}


@pytest.fixture
def upstream():
    with ScriptedUpstream() as up:
        yield up


def make_client(base_url: str, **kwargs) -> JunctionClient:
    return JunctionClient(base_url=base_url, management_key=KEY, org_id=ORG, **{**SHORT, **kwargs})


@pytest.fixture
def jc(upstream):
    client = make_client(upstream.base_url)
    yield client
    client.close()


def invite_json(email: str, **extra) -> dict:
    return {
        "id": extra.pop("id", "33333333-3333-4333-8333-333333333333"),
        "email": email,
        "invited_at": "2026-08-01T10:00:00Z",
        "resent_at": None,
        "creator": {"type": "management_key"},
        "role": "org_admin",
        "team_role_bindings": None,
        **extra,
    }


def invite(client: JunctionClient, team_ids=(TEAM_A,)):
    return client.create_or_resend_invite("ann@example.com", "team_admin", list(team_ids))


def assert_clean(error: JunctionError) -> None:
    """No key, no HTML, no chained transport exception, one sentence."""
    for text in (str(error), repr(error), error.message, str(getattr(error, "detail", ""))):
        assert KEY not in text
        assert "<" not in text
    assert error.__cause__ is None and error.__context__ is None
    assert error.message.endswith(".") and "\n" not in error.message


# ---------------------------------------------------------------------------- the request itself


def test_post_request_is_exactly_as_specified(jc, upstream):
    upstream.script(Reply(200, json={"status": "invite_created"}))
    assert jc.create_or_resend_invite("Ann@Example.com", "team_admin", [TEAM_A, TEAM_B]) is (
        InviteStatus.INVITE_CREATED
    )
    [req] = upstream.requests
    assert req.method == "POST"
    assert req.target == INVITE_PATH
    assert req.headers["x-management-key"] == KEY
    assert req.headers["user-agent"] == f"junction-invite-dashboard/{__version__}"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["accept"] == "application/json"
    assert req.json() == {
        "email": "Ann@Example.com",
        "role": "team_admin",
        "team_role_bindings": [{"team_id": TEAM_A}, {"team_id": TEAM_B}],
    }
    assert list(req.json()) == ["email", "role", "team_role_bindings"]


@pytest.mark.parametrize("team_ids", [None, [], ()])
def test_post_without_teams_sends_null_bindings(jc, upstream, team_ids):
    upstream.script(Reply(200, json={"status": "invite_created"}))
    jc.create_or_resend_invite("ann@example.com", "org_admin", team_ids)
    body = upstream.requests[0].json()
    assert body == {"email": "ann@example.com", "role": "org_admin", "team_role_bindings": None}
    assert b'"team_role_bindings": null' in upstream.requests[0].body or b'"team_role_bindings":null' in (
        upstream.requests[0].body
    )


def test_ids_and_values_pass_through_unvalidated(jc, upstream):
    upstream.script(Reply(200, json={"status": "invite_created"}))
    jc.create_or_resend_invite("not an email", "superuser", ["not-a-uuid", ""])
    assert upstream.requests[0].json() == {
        "email": "not an email",
        "role": "superuser",
        "team_role_bindings": [{"team_id": "not-a-uuid"}, {"team_id": ""}],
    }


def test_custom_user_agent(upstream):
    with make_client(upstream.base_url, user_agent="probe/9") as client:
        upstream.script(Reply(200, json={"id": ORG, "name": "Acme"}))
        client.get_org()
    assert upstream.requests[0].headers["user-agent"] == "probe/9"
    assert upstream.requests[0].headers["x-management-key"] == KEY



def test_proxy_from_the_environment_at_construction_is_used(upstream, monkeypatch):
    # An egress proxy named the usual way is honoured, although the environment is read only once.
    monkeypatch.setenv("HTTP_PROXY", upstream.base_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with make_client("http://junction.invalid") as client:
        monkeypatch.delenv("HTTP_PROXY")  # read at construction: a later change does not matter
        upstream.script(Reply(200, json={"id": ORG, "name": "Acme"}))
        assert client.get_org().name == "Acme"
    (received,) = upstream.requests
    assert received.target == f"http://junction.invalid/v1/org/{ORG}"
    assert received.headers["x-management-key"] == KEY


def test_no_proxy_and_netrc_are_respected(upstream, monkeypatch, tmp_path):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with make_client(upstream.base_url) as client:
        upstream.script(Reply(200, json={"id": ORG, "name": "Acme"}))
        client.get_org()
    (received,) = upstream.requests
    assert received.target == f"/v1/org/{ORG}"
    assert "authorization" not in received.headers  # the key is our only credential


def test_on_call_is_told_each_calls_duration_answered_or_failed(upstream):
    records = []
    with make_client(upstream.base_url, on_call=records.append) as client:
        upstream.script(Reply(200, json={"id": ORG, "name": "Acme"}, delay=0.05), Reply(404, json={}))
        client.get_org()
        with pytest.raises(NotFoundError):
            client.get_org()
    durations = [r.elapsed_ms for r in records]
    assert len(durations) == 2 and durations[0] >= 50 and durations[1] < durations[0]
    assert [(r.operation, r.outcome) for r in records] == [("get_org", "ok"), ("get_org", "not_found")]


@pytest.mark.parametrize(("replies", "outcome"), [
    ([Reply(200, json={"status": "invite_created"})], "created"),
    ([Reply(200, json={"status": "invite_resent"})], "resent"),
    ([Reply(200, json={"status": "already_in_org"})], "member"),
    ([Reply(422, json={"detail": []})], "validation"),
    ([Reply(409, json={})], "conflict"),
    ([Reply(429, json={})], "rate_limited"),
    ([Reply(500, body="x")], "unknown"),
    ([Reply.reset()], "unknown"),
    ([Reply(200, json={"status": "invite_exploded"})], "unknown"),
])
def test_on_call_names_each_send_outcome(upstream, replies, outcome):
    records = []
    with make_client(upstream.base_url, on_call=records.append) as client:
        upstream.script(*replies)
        with contextlib.suppress(JunctionError):
            invite(client)
    [record] = records
    assert (record.operation, record.outcome, record.retries) == ("create_or_resend_invite", outcome, 0)


def test_on_call_outcome_unreachable():
    records = []
    with make_client(f"http://127.0.0.1:{closed_port()}", on_call=records.append) as client, \
            pytest.raises(UnreachableError):
        invite(client)
    assert [r.outcome for r in records] == ["unreachable"]
    assert records[0].retries == 2  # nothing was sent, so even a POST is tried again

# ---------------------------------------------------------------------------- 200 answers


@pytest.mark.parametrize("status", list(InviteStatus))
def test_200_each_status(jc, upstream, status):
    upstream.script(Reply(200, json={"status": status.value, "extra": "ignored"}))
    assert invite(jc) is status


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, json={"status": "invite_exploded"}),
        Reply(200, json={"status": None}),
        Reply(200, json={}),
        Reply(200, json=["invite_created"]),
        Reply(200, json="invite_created"),
        Reply(200, body="<html><body>OK</body></html>", headers={"Content-Type": "text/html"}),
        Reply(200, body="invite_created"),
        Reply(200, body=b"\xff\xfe\x00garbage"),
        Reply(200, body=""),
        Reply(204),
    ],
    ids=["unknown-status", "null-status", "no-status", "list", "string", "html", "text", "binary", "empty",
         "204"],
)
def test_200_unreadable_answer_is_unexpected_response(jc, upstream, reply):
    reply.headers["X-Request-Id"] = "req-123"
    upstream.script(reply)
    with pytest.raises(UnexpectedResponseError) as info:
        invite(jc)
    assert info.value.may_have_taken_effect is True
    assert info.value.http_status == reply.status
    assert info.value.request_id == "req-123"
    assert_clean(info.value)
    assert upstream.request_count == 1


def test_200_body_too_large_is_unexpected_response(jc, upstream, monkeypatch):
    monkeypatch.setattr(client_module, "MAX_BODY_BYTES", 1000)
    upstream.script(Reply(200, json={"status": "invite_created", "padding": "x" * 5000}))
    with pytest.raises(UnexpectedResponseError) as info:
        invite(jc)
    assert "too large" in info.value.message
    upstream.script(Reply(200, json={"status": "invite_created", "padding": "x" * 500}))
    assert invite(jc) is InviteStatus.INVITE_CREATED


def test_200_body_cut_off_is_outcome_unknown(jc, upstream):
    upstream.script(Reply.raw_bytes(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"status\": \"inv"))
    with pytest.raises(OutcomeUnknownError) as info:
        invite(jc)
    assert info.value.may_have_taken_effect is True
    assert upstream.request_count == 1
    assert_clean(info.value)


# ---------------------------------------------------------------------------- error statuses


@pytest.mark.parametrize(
    ("reply", "detail"),
    [
        (Reply(409, json={"detail": "An invite for this email is being processed."}),
         "An invite for this email is being processed."),
        (Reply(409, json={"detail": "x" * 1000}), "x" * 299 + "…"),
        (Reply(409, json={"detail": {"code": "conflict"}}), None),
        (Reply(409, json={"error": "conflict"}), None),
        (Reply(409, json=["conflict"]), None),
        (Reply(409, body="<html><h1>409 Conflict</h1></html>", headers={"Content-Type": "text/html"}), None),
        (Reply(409), None),
    ],
    ids=["detail", "long-detail", "detail-object", "other-json", "list", "html", "empty"],
)
def test_409_conflict(jc, upstream, reply, detail):
    upstream.script(reply)
    with pytest.raises(ConflictError) as info:
        invite(jc)
    error = info.value
    assert error.http_status == 409
    assert error.detail == detail
    assert error.may_have_taken_effect is False
    assert error.message == "Junction refused the request as conflicting (HTTP 409)."
    assert_clean(error)


def test_422_issues_are_parsed_with_int_locs(jc, upstream):
    detail = [
        {"type": "value_error", "loc": ["body", "email"], "msg": "value is not a valid email address",
         "input": "nope", "ctx": {"reason": "no @"}},
        {"type": "uuid_parsing", "loc": ["body", "team_role_bindings", 1, "team_id"],
         "msg": "Input should be a valid UUID", "input": "x"},
        {"type": "literal_error", "loc": ["body", "role", "literal['no_role']"],
         "msg": "Input should be 'no_role'"},
    ]
    upstream.script(Reply(422, json={"detail": detail}, headers={"X-Request-Id": "r-422"}))
    with pytest.raises(ValidationError) as info:
        invite(jc, [TEAM_A, "x"])
    error = info.value
    assert error.http_status == 422 and error.request_id == "r-422"
    assert error.may_have_taken_effect is False
    assert error.issues == (
        ValidationIssue(loc=("body", "email"), msg="value is not a valid email address", type="value_error",
                        input="nope", ctx={"reason": "no @"}),
        ValidationIssue(loc=("body", "team_role_bindings", 1, "team_id"), msg="Input should be a valid UUID",
                        type="uuid_parsing", input="x"),
        ValidationIssue(loc=("body", "role", "literal['no_role']"), msg="Input should be 'no_role'",
                        type="literal_error"),
    )
    assert isinstance(error.issues[1].loc[2], int)
    assert_clean(error)


@pytest.mark.parametrize("reply", [Reply(422, body="<html>Unprocessable</html>"), Reply(422)])
def test_422_unreadable_body_gives_one_generic_issue(jc, upstream, reply):
    upstream.script(reply)
    with pytest.raises(ValidationError) as info:
        invite(jc)
    assert len(info.value.issues) == 1
    assert info.value.issues[0].loc == ()
    assert "<" not in info.value.issues[0].msg


@pytest.mark.parametrize("status", [401, 403])
def test_401_403_authentication(jc, upstream, status):
    upstream.script(Reply(status, json={"detail": "Invalid Management Key."}))
    with pytest.raises(AuthenticationError) as info:
        invite(jc)
    assert info.value.http_status == status
    assert info.value.detail == "Invalid Management Key."
    assert info.value.may_have_taken_effect is False
    assert_clean(info.value)


def test_404_not_found(jc, upstream):
    upstream.script(Reply(404, json={"detail": "Not Found"}))
    with pytest.raises(NotFoundError) as info:
        invite(jc)
    assert info.value.http_status == 404 and info.value.detail == "Not Found"
    assert_clean(info.value)


def test_429_retry_after_seconds(jc, upstream):
    upstream.script(Reply(429, json={"detail": "Slow down"}, headers={"Retry-After": "7"}))
    with pytest.raises(RateLimitError) as info:
        invite(jc)
    assert info.value.retry_after_seconds == 7.0
    assert info.value.http_status == 429 and info.value.detail == "Slow down"
    assert info.value.may_have_taken_effect is False
    assert upstream.request_count == 1
    assert_clean(info.value)


def test_429_retry_after_http_date(jc, upstream):
    when = datetime.now(UTC) + timedelta(seconds=30)
    upstream.script(Reply(429, headers={"Retry-After": format_datetime(when, usegmt=True)}))
    with pytest.raises(RateLimitError) as info:
        invite(jc)
    assert 25 <= info.value.retry_after_seconds <= 30


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("soon", None), ("-3", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_429_retry_after_absent_garbage_past(jc, upstream, header, expected):
    upstream.script(Reply(429, headers={"Retry-After": header} if header else {}))
    with pytest.raises(RateLimitError) as info:
        invite(jc)
    assert info.value.retry_after_seconds == expected


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize(
    ("body", "detail"),
    [({"detail": "Internal error"}, "Internal error"), ("<html><b>Bad Gateway</b></html>", None), ("", None)],
    ids=["json", "html", "empty"],
)
def test_5xx_post_is_server_error_and_not_retried(jc, upstream, status, body, detail):
    reply = Reply(status, json=body) if isinstance(body, dict) else Reply(status, body=body)
    upstream.script(reply, Reply(200, json={"status": "invite_created"}))
    with pytest.raises(ServerError) as info:
        invite(jc)
    assert info.value.http_status == status
    assert info.value.detail == detail
    assert info.value.may_have_taken_effect is True
    assert info.value.message == f"Junction failed with a server error (HTTP {status})."
    assert upstream.request_count == 1  # never retried
    assert_clean(info.value)


@pytest.mark.parametrize("status", [400, 418, 301, 307])
def test_other_status_is_unexpected_status_and_redirects_not_followed(jc, upstream, status):
    upstream.script(Reply(status, headers={"Location": "http://127.0.0.1:9/steal"}, body="<p>moved</p>"))
    with pytest.raises(UnexpectedStatusError) as info:
        invite(jc)
    assert info.value.http_status == status
    assert info.value.detail is None
    assert upstream.request_count == 1
    assert_clean(info.value)


# ---------------------------------------------------------------------------- transport failures


def test_connection_refused_is_unreachable():
    with make_client(f"http://127.0.0.1:{closed_port()}") as client, pytest.raises(UnreachableError) as info:
        invite(client)
    assert info.value.may_have_taken_effect is False
    assert info.value.http_status is None
    assert info.value.message == "Could not connect to Junction: connection refused."
    assert_clean(info.value)


def test_name_not_resolved_is_unreachable():
    # .invalid never resolves (RFC 6761); no skip even where DNS is slow: slow is still correct.
    with make_client("http://junction-api.invalid") as client, pytest.raises(UnreachableError) as info:
        invite(client)
    assert info.value.may_have_taken_effect is False
    assert "host name" in info.value.message
    assert_clean(info.value)


def test_connect_timeout_is_unreachable():
    with UnacceptingPort() as blocked:
        assert blocked.port is not None, "this kernel answered SYNs on a full backlog; no connect timeout to test"
        client = make_client(f"http://127.0.0.1:{blocked.port}", connect_timeout=0.2, retries=0)
        with client, pytest.raises(UnreachableError) as info:
            invite(client)
    assert info.value.may_have_taken_effect is False
    assert "within 0.2 seconds" in info.value.message
    assert_clean(info.value)


@pytest.mark.parametrize("reply", [Reply.reset(), Reply.close()], ids=["reset", "closed"])
def test_post_connection_lost_after_sending_is_outcome_unknown_and_not_retried(jc, upstream, reply):
    upstream.script(reply, Reply(200, json={"status": "invite_created"}))
    with pytest.raises(OutcomeUnknownError) as info:
        invite(jc)
    assert info.value.may_have_taken_effect is True
    assert upstream.request_count == 1  # the POST reached Junction exactly once
    assert upstream.requests[0].method == "POST"
    assert_clean(info.value)


def test_post_read_timeout_is_outcome_unknown_and_not_retried(jc, upstream):
    upstream.script(Reply.stall(5), Reply(200, json={"status": "invite_created"}))
    started = time.monotonic()
    with pytest.raises(OutcomeUnknownError) as info:
        invite(jc)
    assert time.monotonic() - started < 2
    assert info.value.may_have_taken_effect is True
    assert "0.5 seconds" in info.value.message
    assert upstream.request_count == 1
    assert_clean(info.value)


def test_post_slow_answer_within_timeout_succeeds(jc, upstream):
    upstream.script(Reply(200, json={"status": "invite_resent"}, delay=0.2))
    assert invite(jc) is InviteStatus.INVITE_RESENT


# ---------------------------------------------------------------------------- GET retries


@pytest.mark.parametrize("status", [502, 503, 504])
def test_get_retried_on_gateway_errors(jc, upstream, status):
    upstream.script(Reply(status, body="<html>busy</html>"), Reply(200, json={"id": ORG, "name": "Acme"}))
    assert jc.get_org().name == "Acme"
    assert [r.method for r in upstream.requests] == ["GET", "GET"]


@pytest.mark.parametrize("fault", [Reply.reset(), Reply.close()], ids=["reset", "closed"])
def test_get_retried_on_connection_lost(jc, upstream, fault):
    upstream.script(fault, Reply(200, json={"id": ORG, "name": "Acme"}))
    assert jc.get_org().name == "Acme"
    assert upstream.request_count == 2


def test_get_not_retried_on_read_timeout(jc, upstream):
    upstream.script(Reply.stall(5), Reply(200, json={"id": ORG, "name": "Acme"}))
    started = time.monotonic()
    with pytest.raises(OutcomeUnknownError):
        jc.get_org()
    assert time.monotonic() - started < 0.5 + 0.45  # the timeout once, not once per try (three: 1.5 s)
    assert upstream.request_count == 1


def test_get_retries_stop_at_the_operations_deadline(upstream):
    # Each 503 arrives after 0.6 s: a second try fits in 1 s only partly, a third not at all. (Three tries
    # would take 1.8 s: the bound below leaves a loaded machine 0.4 s.)
    upstream.script(*[Reply(503, delay=0.6)] * 3, Reply(200, json={"id": ORG, "name": "Acme"}))
    with make_client(upstream.base_url, timeout=1.0) as client:
        started = time.monotonic()
        with pytest.raises(JunctionError):
            client.get_org()
        elapsed = time.monotonic() - started
    assert elapsed < 1.0 + 0.4, elapsed
    assert upstream.request_count == 2


def test_get_retries_are_bounded(jc, upstream):
    upstream.script(*[Reply(503)] * 5)
    with pytest.raises(ServerError) as info:
        jc.get_org()
    assert info.value.http_status == 503
    assert upstream.request_count == 3  # one try and two retries


def test_get_not_retried_on_500_or_429(jc, upstream):
    upstream.script(Reply(500), Reply(429), Reply(200, json={"id": ORG, "name": "Acme"}))
    with pytest.raises(ServerError):
        jc.get_org()
    with pytest.raises(RateLimitError):
        jc.get_org()
    assert upstream.request_count == 2


def test_get_retry_ignores_retry_after(jc, upstream):
    upstream.script(Reply(503, headers={"Retry-After": "30"}), Reply(200, json={"id": ORG, "name": "Acme"}))
    started = time.monotonic()
    jc.get_org()
    assert time.monotonic() - started < 2


# ---------------------------------------------------------------------------- lists


def team_json(i: int) -> dict:
    return {
        "id": f"00000000-0000-4000-8000-{i:012d}",
        "name": f"Team {i}",
        "created_on": "2025-01-01T00:00:00.123456Z",
        "region": "eu" if i % 2 else "us",
        "integration_team_id": None,
    }


def paged_teams(total: int, per_page: int = 5):
    def handler(req):
        start = int(req.query.get("next_cursor", ["0"])[0])
        end = min(start + per_page, total)
        return Reply(200, json={
            "teams": [team_json(i) for i in range(start, end)],
            "next_cursor": str(end) if end < total else None,
        })
    return handler


def test_list_teams_follows_cursors(jc, upstream):
    upstream.handler = paged_teams(14)
    teams = jc.list_teams()
    assert [t.name for t in teams] == [f"Team {i}" for i in range(14)]
    assert teams[1].region == "eu"
    assert teams[0].created_on == datetime(2025, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)
    assert [r.target for r in upstream.requests] == [
        f"/v1/org/{ORG}/team", f"/v1/org/{ORG}/team?next_cursor=5", f"/v1/org/{ORG}/team?next_cursor=10",
    ]


def test_list_teams_stops_on_repeated_cursor(jc, upstream):
    page = {"teams": [team_json(1)], "next_cursor": "A"}
    upstream.script(Reply(200, json=page), Reply(200, json={"teams": [], "next_cursor": "B"}),
                    Reply(200, json=page), Reply(200, json=page))
    with pytest.raises(UnexpectedResponseError) as info:
        jc.list_teams()
    assert "cursor" in info.value.message
    assert upstream.request_count == 3


def test_list_teams_gives_up_after_max_pages(jc, upstream):
    counter = iter(range(1000))
    upstream.handler = lambda req: Reply(200, json={"teams": [], "next_cursor": f"c{next(counter)}"})
    jc.MAX_LIST_PAGES = 4
    with pytest.raises(UnexpectedResponseError):
        jc.list_teams()
    assert upstream.request_count == 4


def test_list_teams_bad_item_is_unexpected_response(jc, upstream):
    bad = team_json(1) | {"created_on": "yesterday"}
    upstream.script(Reply(200, json={"teams": [team_json(0), bad], "next_cursor": None}))
    with pytest.raises(UnexpectedResponseError) as info:
        jc.list_teams()
    assert "teams[1].created_on" in info.value.message
    assert "yesterday" not in info.value.message


def test_list_invites_parses_everything(jc, upstream):
    creators = [
        {"type": "org_member", "id": "m1", "name": "Bo", "email": "bo@example.com", "avatar": "x"},
        {"type": "removed_org_member", "id": None},
        {"type": "vital_staff"},
        {"type": "management_key"},
    ]
    invites = [
        invite_json(f"u{i}@example.com", id=f"inv-{i}", creator=c, resent_at="2026-08-02T11:00:00+02:00",
                    role="team_admin", team_role_bindings=[{"team_id": TEAM_A}], future_field=[1, 2])
        for i, c in enumerate(creators)
    ]
    upstream.script(Reply(200, json={"invites": invites, "next_cursor": "n2"}))
    page = jc.list_invites(search_query="u", cursor="n1")
    assert upstream.requests[0].query == {"search_query": ["u"], "next_cursor": ["n1"]}
    assert page.next_cursor == "n2"
    assert [i.creator.type for i in page.items] == [c["type"] for c in creators]
    first = page.items[0]
    assert (first.creator.name, first.creator.email, first.creator.id) == ("Bo", "bo@example.com", "m1")
    assert first.team_ids == (TEAM_A,)
    assert first.invited_at == datetime(2026, 8, 1, 10, tzinfo=UTC)
    assert first.resent_at == datetime(2026, 8, 2, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [
        {"invites": None, "next_cursor": None},
        {"invites": [{"id": "x"}], "next_cursor": None},
        {"invites": [], "next_cursor": 5},
        [],
    ],
)
def test_list_invites_wrong_shape(jc, upstream, body):
    upstream.script(Reply(200, json=body))
    with pytest.raises(UnexpectedResponseError):
        jc.list_invites()


def test_find_pending_invite_exact_match_across_pages(jc, upstream):
    upstream.script(
        Reply(200, json={"invites": [invite_json("ann@example.com.au"), invite_json("xann@example.com")],
                         "next_cursor": "p2"}),
        Reply(200, json={"invites": [invite_json("ANN@Example.COM", id="the-one")], "next_cursor": "p3"}),
    )
    found = jc.find_pending_invite("Ann@example.com")
    assert found is not None and found.id == "the-one"
    assert upstream.request_count == 2  # stopped once found
    assert upstream.requests[0].query == {"search_query": ["Ann@example.com"]}
    assert upstream.requests[1].query == {"search_query": ["Ann@example.com"], "next_cursor": ["p2"]}


def test_find_pending_invite_none_and_max_pages(jc, upstream):
    upstream.handler = lambda req: Reply(200, json={
        "invites": [invite_json("other@example.com")], "next_cursor": f"c{len(upstream.requests)}"})
    assert jc.find_pending_invite("ann@example.com", max_pages=3) is None
    assert upstream.request_count == 3
    upstream.handler = None
    upstream.script(Reply(200, json={"invites": [], "next_cursor": None}))
    assert jc.find_pending_invite("ann@example.com") is None


def test_list_members_and_get_org(jc, upstream):
    member = {"id": "m1", "name": "Bo", "email": "bo@example.com", "created_on": "2024-02-03T04:05:06Z",
              "role": "no_role", "team_role_bindings": None}
    upstream.script(Reply(200, json={"members": [member], "next_cursor": None}),
                    Reply(200, json={"id": ORG, "name": "Acme", "expires_at": None}))
    page = jc.list_members(search_query="bo")
    assert page.next_cursor is None
    assert page.items[0].email == "bo@example.com" and page.items[0].team_ids == ()
    assert upstream.requests[0].target == f"/v1/org/{ORG}/member?search_query=bo"
    org = jc.get_org()
    assert (org.id, org.name) == (ORG, "Acme")
    assert upstream.requests[1].target == f"/v1/org/{ORG}"


@pytest.mark.parametrize("reply", [Reply(200, json=None), Reply(200, body="")], ids=["null", "empty"])
def test_revoke_invite(jc, upstream, reply):
    upstream.script(reply)
    assert jc.revoke_invite("inv/1?x") is None
    assert upstream.requests[0].method == "DELETE"
    assert upstream.requests[0].target == f"{INVITE_PATH}/inv%2F1%3Fx"


def test_revoke_invite_not_found(jc, upstream):
    upstream.script(Reply(404, json={"detail": "Invite not found"}))
    with pytest.raises(NotFoundError):
        jc.revoke_invite("33333333-3333-4333-8333-333333333333")


def test_revoke_refuses_dot_segments(jc, upstream):
    for bad in ("", ".", ".."):
        with pytest.raises(ValueError):
            jc.revoke_invite(bad)
    assert upstream.request_count == 0


# ---------------------------------------------------------------------------- secrecy and logging


def test_key_never_in_errors_logs_or_repr(upstream, caplog):
    caplog.set_level(logging.DEBUG)  # urllib3's own debug lines too
    errors: list[JunctionError] = []
    with make_client(upstream.base_url) as client:
        upstream.script(
            Reply(401, json={"detail": "bad key"}), Reply(409, body="<html/>"),
            Reply(422, json={"detail": 1}), Reply(429), Reply(500), Reply(200, body="nope"),
            Reply.reset(), Reply.stall(5), Reply(418),
        )
        for _ in range(9):
            with pytest.raises(JunctionError) as info:
                invite(client)
            errors.append(info.value)
        assert KEY not in repr(client) and KEY not in str(client)
    with make_client(f"http://127.0.0.1:{closed_port()}") as client, pytest.raises(JunctionError) as info:
        client.get_org()
    errors.append(info.value)
    assert len({type(e) for e in errors}) == 9
    for error in errors:
        assert_clean(error)
        assert KEY not in str(vars(error))
    assert "invite.junction" in {r.name for r in caplog.records}
    assert KEY not in caplog.text
    for record in caplog.records:
        assert KEY not in record.getMessage()


def test_bad_key_rejected_without_echoing_it():
    with pytest.raises(ValueError) as info:
        JunctionClient(base_url="http://127.0.0.1:1", management_key=KEY + "\r\nX: y", org_id=ORG)
    assert KEY not in str(info.value)


@pytest.mark.parametrize("url", ["ftp://x", "127.0.0.1:80", "", "http://user:pw@host", "http://h/?q=1"])
def test_bad_base_url_rejected(url):
    with pytest.raises(ValueError):
        JunctionClient(base_url=url, management_key=KEY, org_id=ORG)


def test_one_log_line_per_call_without_query_or_headers(jc, upstream, caplog):
    caplog.set_level(logging.INFO, logger="invite.junction")
    upstream.script(Reply(503), Reply(200, json={"invites": [], "next_cursor": None}), Reply(422, json={}))
    jc.list_invites(search_query="secret.person@example.com")
    with pytest.raises(ValidationError):
        invite(jc)
    lines = [r.getMessage() for r in caplog.records if r.name == "invite.junction"]
    assert len(lines) == 2
    assert lines[0].startswith(f"junction GET /v1/org/{ORG}/invite -> 200 in ")
    assert lines[0].endswith("ms after 1 retry")
    assert lines[1].startswith(f"junction POST {INVITE_PATH} -> 422 in ")
    assert "secret.person" not in caplog.text


def test_transport_failure_log_line(upstream, caplog):
    caplog.set_level(logging.INFO, logger="invite.junction")
    with make_client(f"http://127.0.0.1:{closed_port()}") as client, pytest.raises(UnreachableError):
        client.get_org()
    [record] = [r for r in caplog.records if r.name == "invite.junction"]
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(f"junction GET /v1/org/{ORG} -> UnreachableError (refused) in ")


# ---------------------------------------------------------------------------- pooling


def test_sequential_calls_reuse_one_connection(jc, upstream):
    upstream.handler = lambda req: Reply(200, json={"id": ORG, "name": "Acme"})
    for _ in range(20):
        jc.get_org()
    assert upstream.request_count == 20
    assert upstream.connections_accepted == 1


def test_concurrent_threads_share_the_pool(upstream):
    threads_n = 6
    upstream.handler = lambda req: Reply(200, json={"id": ORG, "name": "Acme"}, delay=0.05)
    errors: list[BaseException] = []
    with make_client(upstream.base_url, pool_maxsize=threads_n) as client:
        barrier = threading.Barrier(threads_n)

        def work():
            try:
                barrier.wait()
                for _ in range(5):
                    client.get_org()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        workers = [threading.Thread(target=work) for _ in range(threads_n)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(10)
    assert errors == []
    assert upstream.request_count == threads_n * 5
    assert 1 <= upstream.connections_accepted <= threads_n


def test_json_body_is_real_json(jc, upstream):
    upstream.script(Reply(200, json={"status": "invite_created"}))
    jc.create_or_resend_invite("é@example.com", "org_admin", None)
    assert json.loads(upstream.requests[0].body.decode("utf-8"))["email"] == "é@example.com"


def test_requests_are_prepared_as_a_requests_session_would_prepare_them(jc):
    """The client prepares its requests itself, without the session's per-call merging (issue 12)."""
    import requests

    url = "http://127.0.0.1:9/v1/org/x/invites"
    for method, query, body, extra in [("GET", {"cursor": "a b/c", "limit": 50, "gone": None}, None, {}),
                                       ("POST", None, b'{"email": "\\u00e9@example.org"}',
                                        {"Content-Type": "application/json"})]:
        ours = jc._prepare(method, url, query, body, extra)
        theirs = jc._session.prepare_request(requests.Request(method, url, params=query or {}, data=body or {},
                                                              headers=extra))
        assert (ours.method, ours.url, dict(ours.headers), ours.body) == \
            (theirs.method, theirs.url, dict(theirs.headers), theirs.body)
        assert "Cookie" not in ours.headers and ours.headers["X-Management-Key"]
