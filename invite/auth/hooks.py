"""Wiring into Flask: one before_request hook that decides, before any view runs, who is asking."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, Response, g, request

from invite.auth.identity import AuthError, resolve_identity
from invite.auth.jwks import JwksCache
from invite.auth.pages import forbidden, unauthorized
from invite.auth.permissions import PermissionRefused, can
from invite.auth.settings import AuthSettings

# Health checks and metrics scrapes come from the platform, which has no SSO identity (/metrics checks
# its own address list or bearer token); static files hold nothing private.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

log = logging.getLogger("invite.auth")


@dataclass
class AuthState:
    settings: AuthSettings
    jwks: JwksCache | None


def _is_exempt() -> bool:
    endpoint = request.endpoint or ""
    return request.path in EXEMPT_PATHS or endpoint == "static" or endpoint.endswith(".static")


def init_auth(app: Flask, settings: AuthSettings, *, jwks: JwksCache | None = None) -> None:
    """Install the identity check. `jwks` replaces the key cache jwt mode would build (tests inject a clock)."""
    if settings.mode == "jwt" and jwks is None:
        jwks = JwksCache(settings.jwks_url, timeout=settings.jwks_timeout_seconds)
    state = AuthState(settings=settings, jwks=jwks)
    app.extensions["auth"] = state
    if settings.mode == "dev":
        app.logger.warning("AUTH_MODE=dev: every request is signed in as %s (%s)", settings.dev_email,
                           settings.dev_role)

    @app.before_request
    def authenticate() -> Response | None:
        if _is_exempt():
            return None
        try:
            identity = resolve_identity(request, state.settings, state.jwks)
        except AuthError as exc:
            log.warning("sign-in refused", extra={"fields": {
                "auth_reason": exc.reason, "auth_detail": exc.detail, "path": request.path}})
            return unauthorized(exc)
        # Set even without a role, so the 403 page can say who is signed in.
        g.identity = identity
        if identity.role is None:
            log.warning("no role", extra={"fields": {"auth_email": identity.email, "path": request.path}})
            return forbidden()
        return None

    @app.errorhandler(PermissionRefused)
    def refused(error: PermissionRefused) -> Response:
        return forbidden(missing=error.missing)

    @app.context_processor
    def auth_context() -> dict[str, object]:
        return {"identity": g.get("identity"), "can": can}
