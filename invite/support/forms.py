"""The small POST forms of the support pages: a row's resend or revoke, carrying a one-time token.

CSRF is checked globally (CSRFProtect); templates put {{ csrf_token() }} in each form. What is read here
only says which invitation to act on and how to get back to the list: the email is a search hint for
finding the invitation again, never what is sent (that is re-read from Junction).
"""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from invite.invitations import canonical_uuid
from invite.invites.forms import TOKEN_PATTERN, new_submission_token
from invite.support.paging import MAX_QUERY_CHARS

__all__ = ["RowAction", "canonical_uuid", "new_submission_token", "read_row_action"]


@dataclass(frozen=True)
class RowAction:
    token: str
    email: str  # where to search for the invitation; may be empty
    q: str  # the list's search, to return to
    confirmed: bool  # "Resend anyway" after the cooldown warning


def read_row_action(form: MultiDict[str, str]) -> RowAction | None:
    """The posted fields, or None when the one-time token is missing or malformed (an expired/odd form)."""
    token = (form.get("submission_token") or "").strip()
    if not TOKEN_PATTERN.match(token):
        return None
    return RowAction(
        token=token,
        email=(form.get("email") or "").strip()[:MAX_QUERY_CHARS],
        q=(form.get("q") or "").strip()[:MAX_QUERY_CHARS],
        confirmed=form.get("confirm") == "1",
    )
