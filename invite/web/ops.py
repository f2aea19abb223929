"""Liveness and readiness for the platform's health checks, and the database schema they and every page need."""

from __future__ import annotations

import fcntl
import functools
import logging
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, render_template, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import ServiceUnavailable

from invite.adapters.storage import db
from invite.adapters.upstream import get_upstream
from invite.junction import JunctionError

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)

RELEASE_COMMAND = "flask --app app db upgrade"


# Alembic is imported where it is used (here and below), not with this module: every process that builds the app
# imports this one, and most never ask about the schema (a command, a bulk worker); see invite/adapters/migrations.py.
@functools.cache
def _migrations() -> ScriptDirectory:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from invite.paths import ROOT

    config = Config()
    config.set_main_option("script_location", str(ROOT / "invite" / "migrations"))
    return ScriptDirectory.from_config(config)


def schema_problem() -> str | None:
    """Why the database cannot serve this version, or None. An instance never migrates by itself: the
    release command does, once per deploy."""
    from alembic.runtime.migration import MigrationContext
    from alembic.util import CommandError

    try:
        with db.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
    except SQLAlchemyError:
        return "The database cannot be reached."
    if not current:
        return f"The database has not been migrated: run the release command ({RELEASE_COMMAND})."
    script = _migrations()
    heads = set(script.get_heads())
    for revision in current:
        if revision in heads:
            continue
        try:
            script.get_revision(revision)
        except CommandError:
            continue  # newer than this version (a deploy in progress): its migrations stay compatible
        return f"The database schema is older than this version: run the release command ({RELEASE_COMMAND})."
    return None


def upgrade_embedded_database(app: Flask) -> None:
    """Bring the embedded SQLite file (no DATABASE_URL) up to date: it has no release command, and a fresh
    one answered every page with a 500. gunicorn's workers (and `flask run`, bin/dev, the bulk worker) start
    at once, so one migrates under a file lock while the others wait, then find nothing left to do."""
    from flask_migrate import upgrade

    from invite.paths import ROOT

    with open(f"{app.instance_path}/invite.db.migrate-lock", "a") as lock, app.app_context():
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if schema_problem() is not None:
                upgrade(directory=str(ROOT / "invite" / "migrations"))
        except Exception:  # noqa: BLE001 - the pages and /readyz then say what is wrong, with a 503
            log.exception("the embedded database could not be brought up to date")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


_ANSWERED_WITHOUT_SCHEMA = frozenset({"ops.healthz", "ops.readyz", "metrics.metrics", "static"})


def init_schema_check(app: Flask) -> None:
    """Until the database is migrated, every page says so and how to do it (503), instead of failing on its
    first query with a 500. Once it is, a process never asks again: migrations keep older versions working."""
    ready = False

    @app.before_request
    def require_migrated_schema():
        nonlocal ready
        if ready or request.endpoint in _ANSWERED_WITHOUT_SCHEMA:
            return None
        problem = schema_problem()
        if problem is None:
            ready = True
            return None
        if request.path.endswith(".json"):
            return {"status": "unavailable", "reason": problem, "error_kind": "database"}, 503
        return render_template("errors/not_migrated.html", error=ServiceUnavailable(), problem=problem,
                               release_command=RELEASE_COMMAND), 503


@bp.get("/healthz")
def healthz():
    # Liveness only: the process answers. Never calls Junction.
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    # Configuration was validated at start-up; what is left is the database's schema and whether
    # Junction accepts our key.
    if (problem := schema_problem()) is not None:
        return {"status": "unavailable", "reason": problem, "error_kind": "database"}, 503
    try:
        get_upstream().ready.get()
    except JunctionError as exc:
        return {"status": "unavailable", "reason": exc.message, "error_kind": type(exc).__name__}, 503
    return {"status": "ready"}
