"""CSRF protection: Flask-WTF's, checked only where there is something to check, with its token reused.

The check runs before a view for every POST, PUT, PATCH and DELETE (Flask-WTF's own hook also looks up
exemptions for every GET first, which none of ours needs).

Flask-WTF signs the session's CSRF secret, with a timestamp, on every request that builds a form
(generate_csrf), and keeps the result in g.csrf_token for the rest of that request. Every invite pays it
twice: on the form page and on the POST, whose form is built ready to be shown again. The token is
checked for its signature, its session and an age within WTF_CSRF_TIME_LIMIT (12 hours here), so one
signed a few minutes earlier is as good: each process keeps every session's last signed token for
REUSE_SECONDS and puts it where Flask-WTF looks first. A page can therefore expire up to REUSE_SECONDS
before the limit; nothing else changes (bench/README.md, the cost section).
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request, session
from flask_wtf.csrf import CSRFProtect

from invite.cache import Kept

REUSE_SECONDS = 300
_KEPT = 1024

csrf = CSRFProtect()


def init_csrf(app: Flask) -> None:
    """Install the check (before any view, after the hooks already registered) and the token reuse."""
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # the hook below instead
    csrf.init_app(app)
    config = app.config
    unsafe_methods = frozenset(config["WTF_CSRF_METHODS"])
    name = config["WTF_CSRF_FIELD_NAME"]
    signed = Kept()  # (secret, the session's raw token) -> (when signed, signed token)

    def token_key() -> tuple[str, str] | None:
        # dict.get, not session.get: only a page that uses the token depends on the cookie (after_request).
        raw = dict.get(session._get_current_object(), name)
        if type(raw) is not str:
            return None
        return (str(config.get("WTF_CSRF_SECRET_KEY") or app.secret_key), raw)

    @app.before_request
    def check_csrf_and_reuse_token() -> None:
        if request.method in unsafe_methods and config["WTF_CSRF_ENABLED"]:
            csrf.protect(apply_exemptions=True)
        key = token_key()
        if key is None:
            return
        kept = signed.get(key)
        if kept is not None and 0 <= time.time() - kept[0] < REUSE_SECONDS:
            setattr(g, name, kept[1])
            g.csrf_token_reused = True

    @app.after_request
    def keep_signed_token(response: Response) -> Response:
        token = g.get(name)
        if token is None:
            return response
        session.accessed = True  # the page may carry a token derived from the cookie: Vary: Cookie
        if not g.get("csrf_token_reused"):
            key = token_key()  # after generate_csrf, which made the session's secret if it had none
            if key is not None:
                signed.keep(key, (time.time(), token), _KEPT)
        return response
