"""What every response gets: a request id, one JSON log line, security headers, friendly error pages."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import TYPE_CHECKING

from flask import Flask, Response, g, render_template, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from invite.adapters.cache import Kept
from invite.adapters.logs import configure_logging  # noqa: F401 - the app factory sets logging up here
from invite.core.actor import Actor

if TYPE_CHECKING:
    from itsdangerous import URLSafeTimedSerializer

REQUEST_ID_HEADER = "X-Request-Id"
# Letters, digits and . _ - after a letter or digit, at most 64: enough for every tracing id in use, and
# nothing a log, a CSV cell or a page could read as markup, a formula or another line.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
])

# The headers every response gets whatever it is, added in one call (bench/README.md, the cost section).
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)

request_log = logging.getLogger("invite.request")
class SchemeAwareSessionInterface(SecureCookieSessionInterface):
    """Marks the session cookie Secure whenever the request came over HTTPS (as ProxyFix reports it)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)

    # Flask builds a new serializer for every request (and test-serializes {} to do it): build it once per
    # set of keys instead, a third of the time of reading the session cookie (bench/README.md).
    _serializer: tuple[tuple, URLSafeTimedSerializer | None, Kept] | None = None

    def _signing(self, app: Flask) -> tuple[URLSafeTimedSerializer | None, Kept]:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = self._serializer
        if cached is None or cached[0] != keys:
            cached = self._serializer = (keys, super().get_signing_serializer(app), Kept())
        return cached[1], cached[2]

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        return self._signing(app)[0]

    def save_session(self, app: Flask, session: SecureCookieSession, response: Response) -> None:
        # Most requests change nothing: skip working out the cookie's seven attributes, and only say that the
        # page depended on the cookie, as Flask would.
        if not session.modified and not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            if session.accessed:
                if response.headers.getlist("Vary"):
                    response.vary.add("Cookie")
                else:  # the usual case, without parsing a header that is not there
                    response.headers.add("Vary", "Cookie")
            return
        super().save_session(app, session, response)

    # A browser sends the same cookies on every request until its session changes (here: once, when the CSRF
    # token is first made). Each Cookie header is parsed, verified and decoded once per process and
    # remembered with the time the session was signed, so it still expires on time; only sessions of plain
    # strings are remembered, since a copy of one cannot share anything a request could change in place
    # (flashed messages).
    _REMEMBERED_COOKIES = 1024

    def open_session(self, app: Flask, request) -> SecureCookieSession | None:
        serializer, remembered = self._signing(app)
        if serializer is None:
            return None
        header = request.environ.get("HTTP_COOKIE")
        if not header:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        known = remembered.get(header)
        if known is not None and 0 <= time.time() - known[0] <= max_age:
            return self.session_class(known[1])
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        try:
            data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if all(type(item) is str for item in data.values()):
            remembered.keep(header, (signed_at.timestamp(), data), self._REMEMBERED_COOKIES)
        return self.session_class(data)


def current_request_id() -> str:
    """The id that ties this request's logs together: the proxy's when it sent a sane one, else ours."""
    return getattr(g, "request_id", "-")


def own_request_id() -> str:
    """The id this app made for the request, whatever the proxy or the client sent."""
    return getattr(g, "own_request_id", "-")


def current_actor() -> Actor:
    """Who is asking, for the audit trail: the SSO identity resolved for this request."""
    identity = getattr(g, "identity", None)
    return Actor(
        email=identity.email if identity else "unknown",
        role=identity.role if identity else None,
        client_addr=request.remote_addr,
        request_id=current_request_id(),
        own_request_id=own_request_id(),
        channel="web",
    )


def init_web(app: Flask) -> None:
    app.session_interface = SchemeAwareSessionInterface()

    @app.before_request
    def start_request() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.own_request_id = uuid.uuid4().hex
        g.request_id = incoming if _SAFE_REQUEST_ID.fullmatch(incoming) else g.own_request_id
        g.request_started = time.perf_counter()

    @app.after_request
    def finish_response(response: Response) -> Response:
        headers = response.headers
        request_id = current_request_id()
        # No view sets any of these, so they are added in one call: setting them one by one rescans every
        # header each time (a test holds every response to one of each).
        added = [(REQUEST_ID_HEADER, request_id), *SECURITY_HEADERS]
        if request.is_secure:
            added.append(("Strict-Transport-Security", "max-age=31536000"))
        # Pages, CSV exports and JSON all carry people's addresses; static files carry none.
        # getlist, not `in`: a header that is missing costs `in` an exception built and caught.
        if request.endpoint != "static" and not headers.getlist("Cache-Control"):
            added.append(("Cache-Control", "no-store"))
        started = getattr(g, "request_started", None)
        duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
        tally = g.get("junction_tally")  # set by the first Junction call made for this request, on any thread
        junction_calls = tally.calls if tally is not None else 0
        junction_ms = round(tally.ms, 1) if tally is not None else 0.0
        if duration_ms is not None:
            # Lets the benchmark (and a browser's dev tools) see server time apart from the network, and
            # Junction's share of it apart from ours.
            timing = f"app;dur={duration_ms}"
            if junction_calls:
                calls = f"{junction_calls} call{'' if junction_calls == 1 else 's'}"
                timing += f', junction;dur={junction_ms};desc="Junction, {calls}"'
            added.append(("Server-Timing", timing))
        headers.extend(added)
        method, path, status = request.method, request.path, response.status_code
        request_log.info(
            "%s %s %s", method, path, status,
            extra={"fields": {
                "request_id": request_id,
                "own_request_id": own_request_id(),
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": duration_ms,
                "junction_ms": junction_ms,
                "junction_calls": junction_calls,
                "remote_addr": request.remote_addr,
            }},
        )
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith(("/healthz", "/readyz")):
            return {"status": "error", "error": exc.name}, exc.code
        return render_template("errors/error.html", error=exc, request_id=current_request_id(),
                               max_request_mb=(app.config["MAX_CONTENT_LENGTH"] or 0) // (1024 * 1024)), exc.code

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError):
        if not exc.connection_invalidated:
            return unexpected_error(exc)
        # The database went away mid-request (restart, failover, a terminated connection) and the one
        # retry in storage did not cover this statement: a moment's outage, not a bug.
        app.logger.warning("database connection lost", extra={"fields": {"request_id": current_request_id()}})
        return render_template("errors/error.html", error=ServiceUnavailable(), database_lost=True,
                               request_id=current_request_id()), 503

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        app.logger.exception("unhandled error", extra={"fields": {"request_id": current_request_id()}})
        return render_template("errors/error.html", error=None, request_id=current_request_id()), 500
