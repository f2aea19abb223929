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

The same kept token makes the usual POST's check cheap: a token equal to the one this process signed for
the session moments ago needs no signature check (Flask-WTF's builds a serializer and two HMACs for it).
Only that exact case passes early; any other token, and any failure, goes through Flask-WTF's own check,
which says what was wrong.
"""

from __future__ import annotations

import hmac
import time

from flask import Flask, Response, g, request, session
from flask_wtf.csrf import CSRFProtect, same_origin

from invite.adapters.cache import Kept

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

    def kept_token_sent(kept_token: str) -> bool:
        """Whether the request carries, as Flask-WTF reads it first, the token kept for its session, and
        meets the rule Flask-WTF adds over HTTPS (WTF_CSRF_SSL_STRICT: a Referer from this host)."""
        sent = request.form.get(name)
        if type(sent) is not str or not hmac.compare_digest(sent, kept_token):
            return False
        if request.is_secure and config["WTF_CSRF_SSL_STRICT"]:
            return bool(request.referrer) and same_origin(request.referrer, f"https://{request.host}/")
        return True

    @app.before_request
    def check_csrf_and_reuse_token() -> None:
        key = token_key()
        kept = signed.get(key) if key is not None else None
        age = time.time() - kept[0] if kept is not None else -1
        if not 0 <= age < REUSE_SECONDS:
            kept = None
        if request.method in unsafe_methods and config["WTF_CSRF_ENABLED"]:
            # Flask-WTF would find the kept token unexpired: its timestamp is in whole seconds, hence the 1.
            limit = config["WTF_CSRF_TIME_LIMIT"]
            if kept is not None and (limit is None or age + 1 < limit) and kept_token_sent(kept[1]):
                g.csrf_valid = True  # as Flask-WTF marks a request it has checked
            else:
                csrf.protect(apply_exemptions=True)
        if kept is not None:
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
