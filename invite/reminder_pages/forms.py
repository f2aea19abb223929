"""The reminders' small POST forms: each carries a token the server issued (invite.core.tokens, channel "row")
bound to what it does and to which invitation, besides the CSRF token checked globally."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from invite.core import tokens

SWITCH_ACTIONS = ("reminders_off", "reminders_on")
ALL = "all"  # the invitation id a pause or resume is bound to


def issue(secret: str, action: str, invite_id: str = ALL) -> str:
    return tokens.issue(secret, "row", action, invite_id)


def verified(form: MultiDict[str, str], secret: str, action: str, invite_id: str = ALL) -> bool:
    return tokens.verify(secret, "row", (form.get("submission_token") or "").strip(), action, invite_id)


def _address(email: str | None) -> str:
    return (email or "").strip().lower()


def switch_token(secret: str, action: str, invite_id: str, email: str) -> str:
    """The token of one invitation's switch, bound to its address too: the address the audit trail records for
    the switch is the one the page showed, not whatever a changed form sends."""
    return tokens.issue(secret, "row", action, invite_id, _address(email))


def switch_verified(form: MultiDict[str, str], secret: str, action: str, invite_id: str) -> bool:
    return tokens.verify(secret, "row", (form.get("submission_token") or "").strip(), action, invite_id,
                         _address(form.get("email")))


def verified_token(token: str, secret: str, action: str, invite_id: str) -> bool:
    return tokens.verify(secret, "row", (token or "").strip(), action, invite_id)
