"""Every way a Management API call can fail, one class each.

Each error carries what a caller needs to explain it to a person, and never the Management Key:
nothing here holds request headers, and str()/repr() show only the message and status.

`may_have_taken_effect` answers the question a person asks after a failed POST: was it sent?
False means Junction certainly did not act; True means it may have (timeout after sending,
a 5xx, an answer we cannot read), so the caller must check before telling anyone.
"""

from __future__ import annotations

from invite.junction.models import ValidationIssue


class JunctionError(Exception):
    may_have_taken_effect = False

    def __init__(self, message: str, *, http_status: int | None = None, request_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.request_id = request_id  # Junction's x-request-id, when it sent one

    def __repr__(self) -> str:
        return f"{type(self).__name__}(message={self.message!r}, http_status={self.http_status!r})"


class UnreachableError(JunctionError):
    """No connection could be made (refused, name not resolved, connect timeout): nothing was sent."""


class UnsendableRequestError(JunctionError):
    """A value in the request cannot be encoded (a lone surrogate, say): it was refused before sending."""


class OutcomeUnknownError(JunctionError):
    """The request went out but no answer came back (read timeout, connection reset)."""

    may_have_taken_effect = True


class UnexpectedResponseError(JunctionError):
    """A 2xx answer whose body is not what the OpenAPI document promises (not JSON, unknown status)."""

    may_have_taken_effect = True


class HTTPStatusError(JunctionError):
    """Junction answered with an error status; `detail` is its readable explanation, if it gave one."""

    def __init__(self, message: str, *, http_status: int, request_id: str | None = None,
                 detail: str | None = None):
        super().__init__(message, http_status=http_status, request_id=request_id)
        self.detail = detail


class AuthenticationError(HTTPStatusError):
    """401 or 403: the Management Key was rejected."""


class NotFoundError(HTTPStatusError):
    """404: the org (or the invite) does not exist for this key."""


class ConflictError(HTTPStatusError):
    """409: Junction refused the request as conflicting."""


class ValidationError(HTTPStatusError):
    """422: Junction's validation failed; `issues` are the body's `detail` entries."""

    def __init__(self, message: str, *, issues: tuple[ValidationIssue, ...], http_status: int = 422,
                 request_id: str | None = None):
        super().__init__(message, http_status=http_status, request_id=request_id)
        self.issues = issues


class RateLimitError(HTTPStatusError):
    """429: too many requests; `retry_after_seconds` is how long Junction says to try again, if it said."""

    def __init__(self, message: str, *, retry_after_seconds: float | None, http_status: int = 429,
                 request_id: str | None = None, detail: str | None = None):
        super().__init__(message, http_status=http_status, request_id=request_id, detail=detail)
        self.retry_after_seconds = retry_after_seconds


class ServerError(HTTPStatusError):
    """5xx: Junction failed; for a POST it may or may not have acted before failing."""

    may_have_taken_effect = True


class UnexpectedStatusError(HTTPStatusError):
    """Any other non-2xx status."""
