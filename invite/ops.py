"""Liveness and readiness for the platform's health checks."""

from __future__ import annotations

import functools

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import Blueprint
from sqlalchemy.exc import SQLAlchemyError

from invite.junction import JunctionError
from invite.storage import db
from invite.upstream import get_upstream

bp = Blueprint("ops", __name__)

RELEASE_COMMAND = "flask --app app db upgrade"


@functools.cache
def _migrations() -> ScriptDirectory:
    from invite import ROOT

    config = Config()
    config.set_main_option("script_location", str(ROOT / "invite" / "migrations"))
    return ScriptDirectory.from_config(config)


def schema_problem() -> str | None:
    """Why the database cannot serve this version, or None. An instance never migrates by itself: the
    release command does, once per deploy."""
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
