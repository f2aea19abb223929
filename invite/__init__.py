"""The Junction invite dashboard: an application factory and nothing else at import time."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask

from invite.paths import ROOT

if TYPE_CHECKING:
    from invite.config import Settings

# What the app is made of is imported by create_app, not here: every process that imports any part of this
# package runs this file first, and most need little of it (the sandbox's own process, gunicorn's master
# reading its settings, a script that reads the sandbox's demo key).

# Any request body above this is refused with a 413 page before it is parsed; a bulk list (1 MB pasted or
# uploaded, invite/bulk/parser.py) fits well inside it.
MAX_REQUEST_BYTES = 4 * 1024 * 1024


class InviteFlask(Flask):
    """Flask, asking once per function whether it is a coroutine function. Flask asks it for every hook,
    view and teardown of every request (ensure_sync, documented as the place to change how async code is
    run); the answer never changes, and a dozen asks were a measurable share of a small request."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._synchronous: dict = {}

    def ensure_sync(self, func):
        try:
            return self._synchronous[func]
        except KeyError:
            synchronous = self._synchronous[func] = super().ensure_sync(func)
            return synchronous
        except TypeError:  # an unhashable callable: ask every time
            return super().ensure_sync(func)


def _bulk_queue(app: Flask, settings: Settings):
    from invite.bulk.tasks import init_bulk_queue

    return init_bulk_queue(app, settings)


def create_app(env: Mapping[str, str] | None = None, *, settings: Settings | None = None,
               testing: bool = False) -> Flask:
    """Build the app. Raises invite.config.ConfigError listing every configuration problem."""
    from invite.config import load_settings

    settings = settings or load_settings(env)  # first: a process refusing its settings loads nothing else

    from flask_wtf.csrf import CSRFError
    from werkzeug.middleware.proxy_fix import ProxyFix

    from invite.auth import can, init_auth
    from invite.bulk.parser import MAX_BYTES as BULK_MAX_BYTES
    from invite.version import __version__
    from invite.web.csrf import init_csrf
    from invite.web.layout import init_layout
    from invite.web.template_urls import init_template_urls

    app = InviteFlask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    database_url = settings.database_url or f"sqlite:///{Path(app.instance_path) / 'invite.db'}"
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=12 * 3600,  # a form left open all working day still posts
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        JUNCTION_TIMEOUT_SECONDS=settings.timeout_seconds,
        INVITE_SANDBOX=settings.sandbox,
        APP_VERSION=__version__,
        SQLALCHEMY_DATABASE_URI=database_url,
        # A server can drop a pooled connection (restart, failover), so each one is tested as it leaves the
        # pool; a SQLite file cannot, and the test cost ~0.1 ms on each of an invite's four database visits.
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": not database_url.startswith("sqlite")},
        # A bulk list may be pasted (up to 1 MB of form text; werkzeug's default is 500 kB) or uploaded.
        MAX_FORM_MEMORY_SIZE=BULK_MAX_BYTES + 64 * 1024,
    )
    app.extensions["settings"] = settings
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if settings.proxy_hops or settings.proxy_fix_host or settings.proxy_fix_prefix:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops,
                                x_host=settings.proxy_fix_host, x_prefix=settings.proxy_fix_prefix)

    from invite import web
    from invite.access_pages import routes as access_routes
    from invite.activity import routes as activity_routes
    from invite.adapters import metrics, migrations, storage, upstream
    from invite.adapters.deferred import Deferred
    from invite.bulk import routes as bulk_routes
    from invite.cli.commands import invite_group
    from invite.invites import routes as invite_routes
    from invite.members import routes as member_routes
    from invite.reminder_pages import routes as reminder_routes
    from invite.support import routes as support_routes
    from invite.web import ops

    if not testing:
        web.configure_logging(app)
    storage.db.init_app(app)
    migrations.init_migrations(app, storage.db, directory=str(ROOT / "invite" / "migrations"))
    if settings.database_url is None:
        ops.upgrade_embedded_database(app)  # a DATABASE_URL is migrated by the release command instead
    web.init_web(app)
    metrics.init_metrics(app)
    # Before CSRF, so an anonymous POST gets the sign-in page rather than a CSRF error.
    init_auth(app, settings.auth)
    init_csrf(app)
    ops.init_schema_check(app)
    init_template_urls(app)
    init_layout(app)
    upstream.init_upstream(app, settings)
    # Huey (and with it the Redis and PostgreSQL drivers) is loaded when the queue is first used: by the bulk
    # worker, or to start a job. A command or a web worker that never does skips a fifth of its start-up CPU.
    app.extensions["bulk_queue"] = Deferred(lambda: _bulk_queue(app, settings))

    app.register_blueprint(invite_routes.bp)
    app.register_blueprint(ops.bp)
    app.register_blueprint(support_routes.bp)
    app.register_blueprint(activity_routes.bp)
    app.register_blueprint(bulk_routes.bp)
    app.register_blueprint(member_routes.bp)
    app.register_blueprint(reminder_routes.bp)
    app.register_blueprint(access_routes.bp)
    app.register_error_handler(CSRFError, invite_routes.handle_csrf_error)
    app.cli.add_command(invite_group)

    @app.context_processor
    def page_context():
        # No Junction lookup for a refused request: the 401/403 pages render without the org name.
        return {"sandbox": settings.sandbox,
                "org_name": app.extensions["upstream"].org_name() if can("view") else None,
                "app_version": __version__}

    return app
