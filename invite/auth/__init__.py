"""Who is asking and what they may do: identity from the SSO proxy, roles, and per-view checks."""

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
