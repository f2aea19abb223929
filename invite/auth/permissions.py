"""Roles and what they allow, and the checks views use.

Every check reads g.identity, which only the before_request hook sets, so a check that runs without
the hook installed fails closed (nothing is permitted).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from flask import g, request
from werkzeug.exceptions import Forbidden

from invite.auth.settings import normalise_email

if TYPE_CHECKING:
    from invite.auth.identity import Identity
    from invite.auth.settings import AuthSettings

PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"send", "resend", "revoke", "view", "change_member", "remove_member"}),
    "support": frozenset({"resend", "view"}),
}
ALL_PERMISSIONS = frozenset().union(*PERMISSIONS.values())

# For the 403 page: "Your role cannot <label>."
PERMISSION_LABELS = {
    "send": "send new invitations",
    "resend": "resend invitations",
    "revoke": "revoke invitations",
    "view": "look up invitations and members",
    "change_member": "change a member's role and teams",
    "remove_member": "remove members from the org",
}

log = logging.getLogger("invite.auth")

F = TypeVar("F", bound=Callable[..., Any])


def role_for(email: str, groups: Iterable[str], settings: AuthSettings) -> str | None:
    """Admin wins when both roles match; None means signed in but without access.

    Emails are compared in normalise_email()'s form; an address without one matches no allow-list.
    """
    email = normalise_email(email) or ""
    groups = set(groups)
    if email in settings.admin_emails or groups.intersection(settings.admin_groups):
        return "admin"
    if email in settings.support_emails or groups.intersection(settings.support_groups):
        return "support"
    return None


def current_identity() -> Identity:
    identity = g.get("identity")
    if identity is None:
        # Only reachable from an exempt route or outside a request: a programming error, not a 401.
        raise RuntimeError("no identity for this request (exempt route, or init_auth not installed)")
    return identity


def _check_permission_name(permission: str) -> None:
    if permission not in ALL_PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}; known: {', '.join(sorted(ALL_PERMISSIONS))}")


def can(permission: str) -> bool:
    _check_permission_name(permission)
    identity = g.get("identity")
    if identity is None or identity.role is None:
        return False
    return permission in PERMISSIONS.get(identity.role, frozenset())


class PermissionRefused(Forbidden):
    """The signed-in person's role lacks `missing`; invite.auth.hooks answers it with the 403 page."""

    def __init__(self, missing: str):
        super().__init__()
        self.missing = missing


def require(permission: str) -> Callable[[F], F]:
    """View decorator: the view body runs only if the signed-in person's role grants `permission`."""
    # Checked when the view is defined, so a typo fails at import rather than refusing everyone.
    _check_permission_name(permission)

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not can(permission):
                identity = g.get("identity")
                log.warning("permission refused", extra={"fields": {
                    "auth_email": getattr(identity, "email", None), "auth_role": getattr(identity, "role", None),
                    "permission": permission, "path": request.path}})
                raise PermissionRefused(permission)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
