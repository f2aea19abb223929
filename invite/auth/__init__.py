"""Who is asking and what they may do: identity from the SSO proxy, roles, and per-view checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from invite.auth.hooks import init_auth
    from invite.auth.identity import Identity
    from invite.auth.permissions import PERMISSIONS, can, current_identity, require
    from invite.auth.settings import AuthSettings, load_auth_settings

__all__ = [
    "PERMISSIONS",
    "AuthSettings",
    "Identity",
    "can",
    "current_identity",
    "init_auth",
    "load_auth_settings",
    "require",
]


def __getattr__(name: str) -> Any:
    # Each name is loaded when first asked for. invite/config.py reads invite.auth.settings, and with it this
    # file, in every process, before anything else: gunicorn's master checking the settings, a command refusing
    # a bad one. Loading the sign-in pages and the JWT checks with it (SQLAlchemy, PyJWT, requests) cost each
    # of them half a second of CPU for nothing.
    if name == "init_auth":
        from invite.auth.hooks import init_auth

        return init_auth
    if name == "Identity":
        from invite.auth.identity import Identity

        return Identity
    if name in ("PERMISSIONS", "can", "current_identity", "require"):
        from invite.auth import permissions

        return getattr(permissions, name)
    if name in ("AuthSettings", "load_auth_settings"):
        from invite.auth import settings

        return getattr(settings, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
