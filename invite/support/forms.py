"""The small POST forms of the support pages: a row's resend or revoke, carrying a one-time token.

CSRF is checked globally (CSRFProtect); templates put {{ csrf_token() }} in each form. What is read here
only says which invitation to act on and how to get back to the list: the email is a search hint for
finding the invitation again, never what is sent (that is re-read from Junction).

The one-time token is issued by the server: a random part and an HMAC (with SECRET_KEY) over it, the
action and the invitation id. A token the browser made up, or one issued for another invitation or
action, is refused as an expired form. "Resend anyway" after the cooldown warning likewise carries an
HMAC of the token, not a bare flag, so nobody can skip the warning with confirm=1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from invite.invitations import canonical_uuid
from invite.invites.forms import TOKEN_PATTERN
from invite.support.paging import MAX_QUERY_CHARS

__all__ = ["RowAction", "canonical_uuid", "confirmation_for", "issue_row_token", "read_row_action"]

_NONCE_CHARS = 16  # secrets.token_urlsafe(12)
_MAC_CHARS = 22  # 128 bits, base64url without padding


def _mac(secret: str, *parts: str) -> str:
    digest = hmac.new(secret.encode(), "|".join(parts).encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue_row_token(secret: str, action: str, invite_id: str) -> str:
    """A one-time token for `action` ("resend" or "revoke") on this invitation; matches TOKEN_PATTERN."""
    nonce = secrets.token_urlsafe(12)
    return nonce + _mac(secret, "row-token", action, invite_id, nonce)


def _token_is_ours(secret: str, action: str, invite_id: str, token: str) -> bool:
    if len(token) != _NONCE_CHARS + _MAC_CHARS:
        return False
    nonce, mac = token[:_NONCE_CHARS], token[_NONCE_CHARS:]
    return hmac.compare_digest(mac, _mac(secret, "row-token", action, invite_id, nonce))


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
    if not TOKEN_PATTERN.match(token) or not _token_is_ours(secret, action, invite_id, token):
        return None
    return RowAction(
        token=token,
        email=(form.get("email") or "").strip()[:MAX_QUERY_CHARS],
        q=(form.get("q") or "").strip()[:MAX_QUERY_CHARS],
        confirmed=hmac.compare_digest((form.get("confirm") or "").encode(),
                                      confirmation_for(secret, token).encode()),
    )
