"""The Junction Management API client, on `requests`. It knows HTTP and Junction's shapes, nothing of Flask.

Every call ends in a typed value or one of the errors in errors.py; no requests/urllib3 exception, no
KeyError from an odd body and no JSONDecodeError ever reaches a caller.

One operation (a request and its retries) never takes longer than `timeout` seconds in all: each try
gets only what is left of that deadline. Any method is retried when no connection could be made
(nothing was sent); a GET also when the connection was lost before an answer and on 502/503/504. A read
timeout is never retried: the time is already spent. So a POST is never sent twice, and a page that
calls Junction once waits at most `timeout` seconds for it.

The Management Key lives only in the session's default headers: it is not an attribute of the client,
not in any error (errors are raised outside the `except` block, so they do not even chain the
requests exception that holds the prepared request), not in repr(), and not in the log line, which
records method, path (without query), status or failure kind, and duration.
"""

from __future__ import annotations

import http.cookiejar
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.exceptions import ChunkedEncodingError, ContentDecodingError
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import ProxyError as urllib3_ProxyError
from urllib3.util.retry import Retry

from invite.junction import parsing
from invite.junction.errors import (
    AuthenticationError,
    ConflictError,
    JunctionError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    UnexpectedStatusError,
    UnreachableError,
    UnsendableRequestError,
    ValidationError,
)
from invite.junction.models import Invite, InviteStatus, Member, Org, Page, Team
from invite.junction.parsing import parse_validation_issues
from invite.version import __version__

__all__ = ["CallRecord", "JunctionClient", "outcome_of_error", "parse_validation_issues"]

log = logging.getLogger("invite.junction")

DEFAULT_USER_AGENT = f"junction-invite-dashboard/{__version__}"
RETRY_STATUSES = frozenset({502, 503, 504})
# Transport failure kinds (see _transport_error) where no request reached Junction.
_NOTHING_SENT = frozenset({"dns", "refused", "connect", "connect_timeout"})
# A body larger than this is not read to the end (no Junction answer comes close).
MAX_BODY_BYTES = 2 * 1024 * 1024

T = TypeVar("T")

_NOT_JSON = object()


@dataclass(frozen=True)
class CallRecord:
    """What on_call is told after every operation, answered or failed (nothing personal: no path, no query)."""

    operation: str  # the client method: create_or_resend_invite, list_invites, list_teams, …
    outcome: str  # see outcome_of_error(); for a success "created", "resent", "member" or "ok"
    elapsed_ms: float  # retries included
    retries: int


_SUCCESS_OUTCOMES = {
    InviteStatus.INVITE_CREATED: "created",
    InviteStatus.INVITE_RESENT: "resent",
    InviteStatus.ALREADY_IN_ORG: "member",
}


def outcome_of_error(error: JunctionError, method: str) -> str:
    """A short, fixed word for a failed call: what a dashboard and an alert group by."""
    kinds: list[tuple[type[JunctionError], str]] = [
        (ValidationError, "validation"),
        (ConflictError, "conflict"),
        (RateLimitError, "rate_limited"),
        (UnreachableError, "unreachable"),
        (AuthenticationError, "key_rejected"),
        (NotFoundError, "not_found"),
    ]
    for cls, kind in kinds:
        if isinstance(error, cls):
            return kind
    if isinstance(error, ServerError) and method == "GET":
        return "server_error"  # a GET's 5xx changed nothing; a POST's may have: that is "unknown"
    return "unknown" if error.may_have_taken_effect else "rejected"


class _DeadlinePassed(Exception):
    """The answer was still arriving when the operation's deadline passed."""


@dataclass(frozen=True)
class _Answer:
    status: int
    body: Any  # the decoded JSON value, or _NOT_JSON
    request_id: str | None
    retry_after: str | None
    truncated: bool


def _sendable(value: str | None, name: str) -> None:
    """Refuse, before anything is sent, text that UTF-8 cannot carry (a lone surrogate from a bad decode)."""
    if value is None:
        return
    try:
        str(value).encode("utf-8")
    except UnicodeEncodeError:
        raise UnsendableRequestError(
            f"The {name} contains a character that cannot be sent to Junction (an unpaired surrogate); "
            "nothing was sent."
        ) from None


def _segment(value: str, name: str) -> str:
    """One path segment, percent-encoded so that an id can never change which endpoint is called."""
    text = str(value)
    if text in ("", ".", ".."):
        raise ValueError(f"{name} must not be empty, '.' or '..'")
    _sendable(text, name)
    return quote(text, safe="")


class JunctionClient:
    """One per process: a pooled keep-alive session, safe to share between threads."""

    # The list walks give up after this many pages (a cursor that never ends is a Junction bug).
    MAX_LIST_PAGES = 10_000

    def __init__(
        self,
        *,
        base_url: str,
        management_key: str,
        org_id: str,
        timeout: float = 10.0,
        connect_timeout: float = 3.05,
        pool_maxsize: int = 16,
        user_agent: str | None = None,
        retries: int = 2,
        backoff_factor: float = 0.1,
        on_call: Callable[[CallRecord], None] | None = None,
    ):
        parts = urlsplit(base_url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an absolute http(s) URL")
        if parts.username is not None or parts.password is not None:
            raise ValueError("base_url must not contain credentials")
        if parts.query or parts.fragment:
            raise ValueError("base_url must not have a query or fragment")
        if (
            not isinstance(management_key, str)
            or not management_key
            or not management_key.isprintable()
            or not management_key.isascii()
            or management_key != management_key.strip()
        ):
            # Never echo the key: this message goes to logs.
            raise ValueError("management_key must be a non-empty printable ASCII string, not padded")
        if timeout <= 0 or connect_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if pool_maxsize < 1 or retries < 0 or backoff_factor < 0:
            raise ValueError("pool_maxsize must be >= 1, retries and backoff_factor >= 0")

        self._base_url = base_url.rstrip("/")
        self._org_id = str(org_id)
        self._org_path = f"/v1/org/{_segment(self._org_id, 'org_id')}"
        self._timeouts = (float(connect_timeout), float(timeout))

        self._retries = int(retries)
        self._backoff = float(backoff_factor)
        # urllib3 itself never retries: the loop in _call does, within the operation's deadline.
        no_retry = Retry(total=0, connect=0, read=0, status=0, other=0, redirect=False, raise_on_status=False)
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_maxsize, max_retries=no_retry)
        session = requests.Session()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update(
            {
                "X-Management-Key": management_key,
                "Accept": "application/json",
                "User-Agent": user_agent or DEFAULT_USER_AGENT,
            }
        )
        # An API client has no use for cookies, and a shared jar is state shared between threads.
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        # With trust_env, requests re-reads the proxy variables, the CA bundle variables and ~/.netrc on
        # every call (a measurable share of an invite's CPU). A running process's environment does not
        # change, so the same settings are read once, here; ~/.netrc is not wanted at all (the key is our
        # only credential).
        session.trust_env = False
        session.proxies.update(requests.utils.get_environ_proxies(self._base_url))
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self._session = session
        # Told every operation's outcome and duration, answered or failed (retries included), so that the
        # caller can say how much of its own time was Junction's and count outcomes.
        self._on_call = on_call

    # ------------------------------------------------------------------ public API

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def org_id(self) -> str:
        return self._org_id

    def __repr__(self) -> str:
        return f"JunctionClient(base_url={self._base_url!r}, org_id={self._org_id!r})"

    def __enter__(self) -> JunctionClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def create_or_resend_invite(self, email: str, role: str, team_ids: Sequence[str] | None) -> InviteStatus:
        """POST /v1/org/{org_id}/invite; values pass through as given (validating them is Junction's job)."""
        if isinstance(team_ids, str | bytes):
            raise TypeError("team_ids must be a sequence of ids, not a single string")
        _sendable(email, "email address")
        _sendable(role, "role")
        for team_id in team_ids or ():
            _sendable(team_id, "team id")
        body = {
            "email": email,
            "role": role,
            "team_role_bindings": [{"team_id": team_id} for team_id in team_ids] if team_ids else None,
        }
        return self._call("create_or_resend_invite", "POST", f"{self._org_path}/invite", json_body=body,
                          parse=(parsing.parse_invite_status, "Create or resend invite"))

    def list_invites(self, *, search_query: str | None = None, cursor: str | None = None) -> Page[Invite]:
        _sendable(search_query, "search")
        _sendable(cursor, "page cursor")
        return self._call("list_invites", "GET", f"{self._org_path}/invite",
                          params={"search_query": search_query, "next_cursor": cursor},
                          parse=(parsing.parse_invite_page, "List invites"))

    def find_pending_invite(self, email: str, *, max_pages: int = 5) -> Invite | None:
        """The pending invite whose email equals `email` (case-insensitively), looking at most max_pages."""
        wanted = email.strip().casefold()
        pages = self._pages(
            lambda cursor: self.list_invites(search_query=email.strip(), cursor=cursor), max_pages, "invites"
        )
        for page in pages:
            for invite in page.items:
                if invite.email.strip().casefold() == wanted:
                    return invite
        return None

    def revoke_invite(self, invite_id: str) -> None:
        """DELETE /v1/org/{org_id}/invite/{invite_id}; any 2xx means revoked, whatever its body."""
        self._call("revoke_invite", "DELETE", f"{self._org_path}/invite/{_segment(invite_id, 'invite_id')}")

    def list_teams(self) -> list[Team]:
        """Every team, following next_cursor to the end."""
        return list(self.iter_teams())

    def iter_teams(self, *, search_query: str | None = None) -> Iterator[Team]:
        """Every team (matching the search), one page fetched at a time as the caller reaches it."""
        yield from self._items(lambda cursor: self._list_teams_page(cursor, search_query), "teams")

    def iter_invites(self, *, search_query: str | None = None) -> Iterator[Invite]:
        """Every pending invite (matching the search), one page fetched at a time as the caller reaches it."""
        yield from self._items(lambda cursor: self.list_invites(search_query=search_query, cursor=cursor), "invites")

    def iter_members(self, *, search_query: str | None = None) -> Iterator[Member]:
        """Every member (matching the search), one page fetched at a time as the caller reaches it."""
        yield from self._items(lambda cursor: self.list_members(search_query=search_query, cursor=cursor), "members")

    def list_members(self, *, search_query: str | None = None, cursor: str | None = None) -> Page[Member]:
        _sendable(search_query, "search")
        _sendable(cursor, "page cursor")
        return self._call("list_members", "GET", f"{self._org_path}/member",
                          params={"search_query": search_query, "next_cursor": cursor},
                          parse=(parsing.parse_member_page, "List members"))

    # ------------------------------------------------------------------ members (issue 24)

    def update_member(self, member_id: str, *, role: str | None, team_ids: Sequence[str] | None) -> None:
        """PATCH /v1/org/{org_id}/member/{member_id}; None for a field leaves it as it is. Any 2xx means
        changed, whatever its body (the document promises none)."""
        if isinstance(team_ids, str | bytes):
            raise TypeError("team_ids must be a sequence of ids, not a single string")
        _sendable(role, "role")
        for team_id in team_ids or ():
            _sendable(team_id, "team id")
        body = {
            "role": role,
            "team_role_bindings": None if team_ids is None else [{"team_id": team_id} for team_id in team_ids],
        }
        self._call("update_member", "PATCH", f"{self._org_path}/member/{_segment(member_id, 'member_id')}",
                   json_body=body)

    def remove_member(self, member_id: str) -> None:
        """DELETE /v1/org/{org_id}/member/{member_id}; any 2xx means removed, whatever its body."""
        self._call("remove_member", "DELETE", f"{self._org_path}/member/{_segment(member_id, 'member_id')}")

    def get_member(self, member_id: str) -> Member | None:
        """The member with this id, or None. Junction has no Get Member: this walks List Members."""
        wanted = str(member_id).strip().casefold()
        for member in self.iter_members():
            if member.id.casefold() == wanted:
                return member
        return None

    def find_member_by_email(self, email: str, *, max_pages: int = 5) -> Member | None:
        """The member whose email equals `email` (case-insensitively), through List Members' search."""
        wanted = email.strip().casefold()
        pages = self._pages(
            lambda cursor: self.list_members(search_query=email.strip(), cursor=cursor), max_pages, "members"
        )
        for page in pages:
            for member in page.items:
                if member.email.strip().casefold() == wanted:
                    return member
        return None

    def get_org(self) -> Org:
        return self._call("get_org", "GET", self._org_path, parse=(parsing.parse_org, "Get org"))

    # ------------------------------------------------------------------ pagination

    def _list_teams_page(self, cursor: str | None, search_query: str | None = None) -> Page[Team]:
        _sendable(search_query, "search")
        _sendable(cursor, "page cursor")
        return self._call("list_teams", "GET", f"{self._org_path}/team",
                          params={"search_query": search_query, "next_cursor": cursor},
                          parse=(parsing.parse_team_page, "List teams"))

    def _items(self, fetch: Callable[[str | None], Page[T]], what: str) -> Iterator[T]:
        for page in self._pages(fetch, self.MAX_LIST_PAGES, what, exhaust_is_error=True):
            yield from page.items

    @staticmethod
    def _pages(
        fetch: Callable[[str | None], Page[T]], max_pages: int, what: str, *, exhaust_is_error: bool = False
    ) -> Iterator[Page[T]]:
        """Pages from fetch(cursor), following next_cursor; a cursor seen before is a Junction bug."""
        seen: set[str] = set()
        cursor: str | None = None
        for _ in range(max_pages):
            page = fetch(cursor)
            yield page
            if page.next_cursor is None:
                return
            if page.next_cursor in seen:
                raise UnexpectedResponseError(f"Junction repeated a page cursor while listing {what}.")
            seen.add(page.next_cursor)
            cursor = page.next_cursor
        if exhaust_is_error:
            raise UnexpectedResponseError(f"Junction's list of {what} did not end after {max_pages} pages.")

    # ------------------------------------------------------------------ HTTP

    @overload
    def _call(self, operation: str, method: str, path: str, *, params: dict[str, Any] | None = None,
              json_body: Any = None, parse: tuple[Callable[[Any], T], str]) -> T: ...

    @overload
    def _call(self, operation: str, method: str, path: str, *, params: dict[str, Any] | None = None,
              json_body: Any = None, parse: None = None) -> None: ...

    def _call(
        self, operation: str, method: str, path: str, *, params: dict[str, Any] | None = None,
        json_body: Any = None, parse: tuple[Callable[[Any], T], str] | None = None,
    ) -> T | None:
        """One operation: a request, retried as the module docstring says, within one deadline; then the
        parsed answer (None without `parse`) or a typed error."""
        headers = {}
        data = None
        if json_body is not None:
            data = json.dumps(json_body, ensure_ascii=False, default=str).encode("utf-8")
            headers["Content-Type"] = "application/json"
        query = {k: v for k, v in (params or {}).items() if v is not None} or None

        started = time.monotonic()
        deadline = started + self._timeouts[1]
        retried = 0
        while True:
            answer, failure, kind = self._try_once(method, path, query, data, headers, deadline)
            if not self._worth_retrying(method, answer, kind) or retried >= self._retries:
                break
            pause = self._backoff * (2 ** retried)
            if time.monotonic() + pause >= deadline:
                break  # no time left for another try
            time.sleep(pause)
            retried += 1

        result: T | None = None
        if failure is None and answer is not None and not 200 <= answer.status < 300:
            failure = _status_error(answer)
        elif failure is None and answer is not None and parse is not None:
            try:
                result = self._parse(answer, *parse)
            except JunctionError as exc:
                failure = exc
        elapsed_ms = (time.monotonic() - started) * 1000
        self._report(operation, method, result, failure, elapsed_ms, retried)

        after = f" after {retried} {'retry' if retried == 1 else 'retries'}" if retried else ""
        if answer is None:
            log.warning("junction %s %s -> %s (%s) in %.0f ms%s",
                        method, path, type(failure).__name__, kind, elapsed_ms, after)
        else:
            log.log(logging.WARNING if answer.status >= 500 else logging.INFO,
                    "junction %s %s -> %d in %.0f ms%s", method, path, answer.status, elapsed_ms, after)
        # Raised here, outside any except block, so the error does not chain the requests exception
        # (whose prepared request carries the key in its headers).
        if failure is not None:
            raise failure
        return result

    def _try_once(
        self, method: str, path: str, query: dict[str, Any] | None, data: bytes | None,
        headers: dict[str, str], deadline: float,
    ) -> tuple[_Answer | None, JunctionError | None, str]:
        """One HTTP request with what is left of the deadline: (answer, None, "") or (None, error, kind)."""
        remaining = max(deadline - time.monotonic(), 0.001)
        try:
            session = self._session
            response = session.send(
                self._prepare(method, self._base_url + path, query, data, headers),
                timeout=(min(self._timeouts[0], remaining), remaining),
                allow_redirects=False,
                stream=True,
                verify=session.verify,
                proxies=session.proxies,
            )
            try:
                return self._read(response, deadline), None, ""
            finally:
                response.close()
        except Exception as exc:  # noqa: BLE001 - every transport failure becomes a typed error
            failure, kind = self._transport_error(exc)
        return None, failure, kind

    def _prepare(self, method: str, url: str, query: dict[str, Any] | None, data: bytes | None,
                 headers: dict[str, str]) -> requests.PreparedRequest:
        """The request Session.request would prepare, less what this client never uses. Session.request
        merges the session's cookie jar, authentication and hooks into every request; this client sends no
        cookies (its jar refuses them), authenticates with a header and has no hooks, and that merging was a
        tenth of an invite's Junction call (bench/README.md, the cost section)."""
        prepared = requests.PreparedRequest()
        prepared.prepare_method(method)
        prepared.prepare_url(url, query)
        prepared.prepare_headers({**self._session.headers, **headers})
        prepared.prepare_cookies(None)  # an empty jar of its own, which requests reads back on a redirect
        prepared.prepare_body(data, None)
        return prepared

    @staticmethod
    def _worth_retrying(method: str, answer: _Answer | None, kind: str) -> bool:
        if answer is not None:
            return method == "GET" and answer.status in RETRY_STATUSES
        if kind in _NOTHING_SENT:
            return True  # any method: Junction never saw it
        return method == "GET" and kind == "connection_lost"

    def _report(self, operation: str, method: str, result: Any, failure: JunctionError | None,
                elapsed_ms: float, retried: int) -> None:
        if self._on_call is None:
            return
        if failure is not None:
            outcome = outcome_of_error(failure, method)
        else:
            outcome = _SUCCESS_OUTCOMES.get(result, "ok") if isinstance(result, InviteStatus) else "ok"
        self._on_call(CallRecord(operation, outcome, elapsed_ms, retried))

    @staticmethod
    def _read(response: requests.Response, deadline: float) -> _Answer:
        chunks: list[bytes] = []
        size = 0
        truncated = False
        for chunk in response.iter_content(chunk_size=65536):
            if time.monotonic() > deadline:
                raise _DeadlinePassed  # an answer trickling in must not stretch the wait either
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                truncated = True
                break
            chunks.append(chunk)
        content = b"".join(chunks)
        body: Any = _NOT_JSON
        if content.strip() and not truncated:
            try:
                body = json.loads(content)
            except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError, absurd nesting
                body = _NOT_JSON
        return _Answer(
            status=response.status_code,
            body=body,
            request_id=response.headers.get("X-Request-Id") or None,
            retry_after=response.headers.get("Retry-After"),
            truncated=truncated,
        )

    def _transport_error(self, exc: Exception) -> tuple[JunctionError, str]:
        """No (complete) answer: UnreachableError if nothing was sent, else OutcomeUnknownError."""
        inner: Any = exc.args[0] if getattr(exc, "args", None) else None
        if isinstance(inner, MaxRetryError):
            inner = inner.reason
        if isinstance(inner, urllib3_ProxyError):  # as urllib3's Retry does: judge the error behind it
            inner = inner.original_error
        cause = getattr(inner, "__cause__", None) or getattr(inner, "__context__", None)

        if isinstance(inner, NameResolutionError):
            return self._unreachable("Could not connect to Junction: its host name was not found.", "dns")
        if isinstance(inner, NewConnectionError):
            if isinstance(cause, ConnectionRefusedError):
                return self._unreachable("Could not connect to Junction: connection refused.", "refused")
            return self._unreachable("Could not connect to Junction: no connection could be made.", "connect")
        if isinstance(exc, requests.ConnectTimeout) or isinstance(inner, ConnectTimeoutError):
            return self._unreachable(
                f"Could not connect to Junction within {self._timeouts[0]:g} seconds.", "connect_timeout"
            )
        if isinstance(exc, requests.ReadTimeout | _DeadlinePassed) or isinstance(inner, ReadTimeoutError):
            return self._outcome_unknown(
                f"The request was sent to Junction but no answer came within {self._timeouts[1]:g} seconds.",
                "read_timeout",
            )
        if isinstance(exc, ChunkedEncodingError | ContentDecodingError):
            return self._outcome_unknown("Junction's answer was cut off or unreadable.", "broken_body")
        if isinstance(exc, requests.exceptions.SSLError):
            # Usually the handshake (nothing sent), but urllib3 cannot tell that from a TLS failure
            # mid-answer, so this stays on the safe side.
            return self._outcome_unknown("The secure connection to Junction failed.", "tls")
        if isinstance(inner, ProtocolError) or isinstance(exc, requests.ConnectionError):
            return self._outcome_unknown(
                "The connection to Junction was lost after the request was sent.", "connection_lost"
            )
        return self._outcome_unknown("The request to Junction failed in transit.", type(exc).__name__)

    @staticmethod
    def _unreachable(message: str, kind: str) -> tuple[JunctionError, str]:
        return UnreachableError(message), kind

    @staticmethod
    def _outcome_unknown(message: str, kind: str) -> tuple[JunctionError, str]:
        return OutcomeUnknownError(message), kind

    @staticmethod
    def _parse(answer: _Answer, parse: Callable[[Any], T], operation: str) -> T:
        if answer.body is _NOT_JSON:
            why = "too large" if answer.truncated else "not JSON"
            raise UnexpectedResponseError(
                f"Junction's answer to {operation} was {why}.", http_status=answer.status,
                request_id=answer.request_id,
            )
        try:
            return parse(answer.body)
        except parsing.ShapeError as exc:
            shape = f"{exc.where} is not {exc.expected}"
        except Exception:  # noqa: BLE001 - a parser bug must not escape as a raw exception either
            shape = "it could not be read"
        raise UnexpectedResponseError(
            f"Junction's answer to {operation} did not have the expected shape ({shape}).",
            http_status=answer.status, request_id=answer.request_id,
        )


# ---------------------------------------------------------------------- errors


def _status_error(answer: _Answer) -> JunctionError:
    status = answer.status
    body = None if answer.body is _NOT_JSON else answer.body
    detail = parsing.error_detail(body)
    common: dict[str, Any] = {"http_status": status, "request_id": answer.request_id}
    if status in (401, 403):
        return AuthenticationError(
            f"Junction rejected the Management Key (HTTP {status}).", detail=detail, **common
        )
    if status == 404:
        return NotFoundError(
            "Junction found no such organization, invite or member for this Management Key (HTTP 404).",
            detail=detail, **common,
        )
    if status == 409:
        return ConflictError(
            "Junction refused the request as conflicting (HTTP 409).", detail=detail, **common
        )
    if status == 422:
        return ValidationError(
            "Junction rejected the request as invalid (HTTP 422).",
            issues=parse_validation_issues(body), **common,
        )
    if status == 429:
        return RateLimitError(
            "Junction is limiting the rate of requests (HTTP 429).",
            retry_after_seconds=parsing.parse_retry_after(answer.retry_after), detail=detail, **common,
        )
    if 500 <= status <= 599:
        return ServerError(f"Junction failed with a server error (HTTP {status}).", detail=detail, **common)
    return UnexpectedStatusError(
        f"Junction answered with an unexpected HTTP status {status}.", detail=detail, **common
    )
