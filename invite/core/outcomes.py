"""What to tell a person after Junction answered (or did not), as plain data the templates render.

Outcomes are stored with the submission, so a repeated post of the same form shows exactly what
the first one showed. Every failure says whether the invitation was sent, not sent, or may have
been sent, and what to do next; none carries Junction's raw body or the Management Key.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from invite.core import vocabulary
from invite.junction.errors import (
    AuthenticationError,
    ConflictError,
    JunctionError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    UnexpectedResponseError,
    UnreachableError,
    UnsendableRequestError,
)
from invite.junction.models import Invite, InviteStatus

NOT_SENT = "not_sent"
MAYBE_SENT = "maybe_sent"

# Clock skew allowed between us and Junction when deciding whether a pending invite is ours.
SKEW = timedelta(seconds=30)

# After a failed send the form is shown again with what was typed; after a revoke there is no form.
_ENTRIES_KEPT = " Your entries are kept below."


def result_outcome(status: InviteStatus, request_id: str | None = None) -> dict[str, Any]:
    return {"kind": "result", "status": status.value, "junction_request_id": request_id}


def alert(title: str, text: str, sent: str, error: JunctionError | None = None,
          email: str | None = None) -> dict[str, Any]:
    """An alert's words. The title never carries an HTTP status (the page shows it under "For support");
    email, for an invitation that may have been sent, is the address the page offers to look up."""
    return {
        "title": title,
        "text": text,
        "sent": sent,
        "email": email,
        "http_status": error.http_status if error else None,
        "junction_request_id": error.request_id if error else None,
        "error_kind": type(error).__name__ if error else None,
    }


def form_outcome(notice: dict[str, Any] | None, field_errors: dict[str, list[str]] | None = None,
                 form_errors: list[str] | None = None, invalid_team_ids: list[str] | None = None) -> dict[str, Any]:
    return {"kind": "form", "alert": notice, "field_errors": field_errors or {}, "form_errors": form_errors or [],
            "invalid_team_ids": invalid_team_ids or []}


def validation_alert(action: str = "send") -> dict[str, Any]:
    """Junction's 422. A send comes back to its form with the fields marked; a resend re-posts the values
    Junction itself listed, so there is nothing to correct in place: its reasons are listed instead."""
    if action == "resend":
        return alert("Junction did not accept this invitation again, so nothing was sent.",
                     "Its reasons are listed below. The invitation's role and teams came from Junction's own list: "
                     "revoke it and invite the person again with a role and teams Junction accepts.", NOT_SENT)
    return alert("Junction did not accept this invitation, so nothing was sent.",
                 "Correct the fields marked below and send again.", NOT_SENT)


def retry_hint(error: RateLimitError, again: str = "send again") -> str:
    """When to try again after Junction's 429, from its Retry-After; shared with the member changes' words."""
    seconds = error.retry_after_seconds
    if seconds is None:
        return f"Wait a minute, then {again}."
    if seconds < 90:
        whole = max(1, round(seconds))
        return f"Wait {whole} second{'' if whole == 1 else 's'}, then {again}."
    return f"Wait about {round(seconds / 60)} minutes, then {again}."


def describe_not_sent(error: JunctionError) -> dict[str, Any]:
    """An error after which Junction certainly did not send anything."""
    if isinstance(error, AuthenticationError):
        return alert("Not sent: Junction rejected the dashboard's Management Key.",
                      "Ask whoever runs this dashboard to check its JUNCTION_MANAGEMENT_KEY setting."
                      + _ENTRIES_KEPT, NOT_SENT, error)
    if isinstance(error, NotFoundError):
        return alert("Not sent: Junction does not know this organization.",
                      "Ask whoever runs this dashboard to check its JUNCTION_ORG_ID setting." + _ENTRIES_KEPT,
                      NOT_SENT, error)
    if isinstance(error, ConflictError):
        reason = f" Junction said: “{error.detail}”." if error.detail else ""
        return alert("Not sent: Junction refused this invitation as a conflict." + reason,
                      "Look the address up on the Invitations page, then try again in a moment.", NOT_SENT, error)
    if isinstance(error, RateLimitError):
        return alert("Not sent: Junction is limiting how fast invitations can be sent.",
                      retry_hint(error) + _ENTRIES_KEPT, NOT_SENT, error)
    if isinstance(error, UnreachableError):
        return alert("Not sent: the dashboard could not connect to Junction.",
                      "Try again in a minute. If it keeps failing, Junction or the network may be down.",
                      NOT_SENT, error)
    if isinstance(error, UnsendableRequestError):
        return alert("Not sent: " + error.message,
                      "Type the address again (or copy it from somewhere else), then send again.", NOT_SENT, error)
    return alert("Not sent: Junction answered with an error.",
                  "Try again in a minute." + _ENTRIES_KEPT, NOT_SENT, error)


def _is_recent(invite: Invite, started_at: datetime) -> bool:
    last_sent = invite.resent_at or invite.invited_at
    return last_sent >= started_at - SKEW


def describe_unknown(error: JunctionError, email: str, started_at: datetime,
                     pending: Invite | None, check_error: JunctionError | None) -> dict[str, Any]:
    """An error after which the invitation may have gone out, with what a follow-up lookup found.

    Returns a result outcome when the lookup proves an invitation went out just now.
    """
    what = what_went_wrong(error)
    # The title is the vocabulary's words for the outcome, as /activity and a bulk job's row show it.
    title = vocabulary.label("unknown", "send") + "."
    if check_error is not None:
        return form_outcome(alert(
            title, f"{what}, and checking Junction's invitations list failed too. Before sending again, look "
            f"{email} up on the Invitations page in a minute.", MAYBE_SENT, error, email))
    if pending is not None and _is_recent(pending, started_at):
        return {"kind": "result", "status": "confirmed_pending", "junction_request_id": error.request_id,
                "checked_invite": {"id": pending.id, "invited_at": pending.invited_at.isoformat(),
                                   "resent_at": pending.resent_at.isoformat() if pending.resent_at else None}}
    if pending is not None:
        last = (pending.resent_at or pending.invited_at).strftime("%Y-%m-%d %H:%M UTC")
        return form_outcome(alert(
            title, f"{what}. An invitation for {email} was already pending, last sent {last}; this resend may not "
            "have gone out. If they still have not received it, send again.", MAYBE_SENT, error, email))
    if isinstance(error, OutcomeUnknownError | UnexpectedResponseError):
        # No answer, or one we cannot read: Junction may have acted or still be acting, so an empty list
        # proves nothing yet.
        return form_outcome(alert(
            title, f"{what}, and Junction does not list an invitation for {email} yet. It may still be on its "
            "way. Look the address up on the Invitations page in a minute before sending again.",
            MAYBE_SENT, error, email))
    return form_outcome(alert(
        title, f"{what}, and its invitations list, checked right after, shows none for {email}. It was probably "
        "not sent. Look the address up on the Invitations page in a minute before sending again. (If they are "
        "already a member, Junction will say so.)", MAYBE_SENT, error, email))


def what_went_wrong(error: JunctionError) -> str:
    """What went wrong with an answer, in words (its HTTP status goes with the details for support)."""
    if isinstance(error, UnexpectedResponseError):
        return "Junction's answer could not be understood"
    if error.http_status is None:
        return "Junction did not answer in time"
    return "Junction failed while handling it"


def revoke_outcome(level: str, title: str, text: str = "") -> dict[str, Any]:
    """What the invitations list says after a revoke; level is "success", "warning" or "error"."""
    return {"kind": "revoke", "level": level, "title": title, "text": text}


def describe_revoke_failure(error: JunctionError, email: str) -> dict[str, Any]:
    if isinstance(error, NotFoundError):
        return revoke_outcome("warning", f"The invitation for {email} was already gone.",
                              "Someone revoked it, or it was accepted, since this page was loaded. Nothing was done.")
    notice = describe_not_sent(error)
    # The same failures as a send, but nothing to send again and no form whose entries are kept.
    text = retry_hint(error, "revoke again") if isinstance(error, RateLimitError) else notice["text"]
    return revoke_outcome("error", notice["title"].replace("Not sent:", "Not revoked:"),
                          text.removesuffix(_ENTRIES_KEPT))


def describe_revoke_unknown(error: JunctionError, email: str, invite_id: str, still_pending: Invite | None,
                            check_error: JunctionError | None) -> tuple[dict[str, Any], str]:
    """After a revoke whose answer was lost: what the invitations list now shows, and the audit kind."""
    if check_error is not None:
        return revoke_outcome("warning", f"Unknown: Junction did not confirm revoking the invitation for {email}.",
                              "Checking its invitations list failed too; look the address up again in a minute."), \
            "unknown"
    if still_pending is not None and still_pending.id == invite_id:
        return revoke_outcome("error", f"Not revoked: the invitation for {email} is still pending.",
                              "Junction did not confirm the revoke and still lists the invitation. Try again."), \
            "unknown"
    return revoke_outcome("success", f"Revoked the invitation for {email}.",
                          "Junction did not confirm in time, but no longer lists the invitation."), "revoked"
