"""The small POST forms of the support pages: a row's resend or revoke, carrying a one-time token.

CSRF is checked globally (CSRFProtect); templates put {{ csrf_token() }} in each form. What is read here
only says which invitation to act on and how to get back to the list: the email is a search hint for
finding the invitation again, never what is sent (that is re-read from Junction).

The one-time token is issued by the server (invite.core.tokens, channel "row"), bound to the action and
the invitation id. A token the browser made up, or one issued for another invitation, action or channel,
is refused as an expired form. "Resend anyway" after the cooldown warning likewise carries an
HMAC of the token, not a bare flag, so nobody can skip the warning with confirm=1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from invite.core import tokens
from invite.services.invitations import canonical_uuid
from invite.support.paging import MAX_QUERY_CHARS

__all__ = ["RowAction", "canonical_uuid", "confirmation_for", "issue_row_token", "read_row_action"]

def _mac(secret: str, *parts: str) -> str:
    digest = hmac.new(secret.encode(), "|".join(parts).encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue_row_token(secret: str, action: str, invite_id: str) -> str:
    """A one-time token for `action` ("resend" or "revoke") on this invitation."""
    return tokens.issue(secret, "row", action, invite_id)


def confirmation_for(secret: str, token: str) -> str:
    """The value of "confirm" that says the person saw the cooldown warning for this token."""
    return _mac(secret, "confirm", token)


@dataclass(frozen=True)
class RowAction:
    token: str
    email: str  # where to search for the invitation; may be empty
    q: str  # the list's search, to return to
    confirmed: bool  # "Resend anyway" after the cooldown warning


def read_row_action(form: MultiDict[str, str], *, secret: str, action: str, invite_id: str) -> RowAction | None:
    """The posted fields, or None when the one-time token is missing, malformed or not one this server
    issued for `action` on `invite_id` (an expired or forged form)."""
    token = (form.get("submission_token") or "").strip()
    if not tokens.verify(secret, "row", token, action, invite_id):
        return None
    return RowAction(
        token=token,
        email=(form.get("email") or "").strip()[:MAX_QUERY_CHARS],
        q=(form.get("q") or "").strip()[:MAX_QUERY_CHARS],
        confirmed=hmac.compare_digest((form.get("confirm") or "").encode(),
                                      confirmation_for(secret, token).encode()),
    )
