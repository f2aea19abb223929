"""The refusal pages: 401/503 (no usable identity) and 403 (no role, or a role without the permission)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, current_app, g, make_response, render_template

from invite.auth.identity import AuthError
from invite.auth.roles import PERMISSION_LABELS, PERMISSIONS
from invite.web import current_request_id


def _way_back() -> dict:
    """What both refusal pages offer: signing in again, and the moment and request id for a ticket."""
    state = current_app.extensions.get("auth")
    return {"sign_in_url": state.settings.sign_in_url if state else "",
            "refused_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "request_id": current_request_id()}


def unauthorized(error: AuthError) -> Response:
    response = make_response(render_template("errors/unauthorized.html", message=error.message,
                                             reason=error.reason, status=error.status, **_way_back()),
                             error.status)
    if error.status == 503:
        response.headers["Retry-After"] = "60"
    return response


def forbidden(*, missing: str | None = None) -> Response:
    """`missing` names the permission a role lacked; None means the person has no role at all."""
    state = current_app.extensions.get("auth")
    # Group names only: the email allow-lists would tell anyone who is signed in who the admins are.
    admin_groups = state.settings.admin_groups if state else ()
    support_groups = state.settings.support_groups if state else ()
    if missing is not None and missing not in PERMISSIONS["support"]:
        support_groups = ()  # joining a support group would not help
    return make_response(render_template(
        "errors/forbidden.html",
        identity=g.get("identity"),
        missing=missing,
        missing_label=PERMISSION_LABELS.get(missing or "", missing),
        needed_roles=[role for role, granted in PERMISSIONS.items() if missing in granted],
        admin_groups=admin_groups,
        support_groups=support_groups,
        **_way_back(),
    ), 403)
