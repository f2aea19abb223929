"""Flask-Migrate (Alembic) for an app, loaded only when something migrates or asks about migrations.

Importing Flask-Migrate imports Alembic: about a third of a second of CPU, a fifth of what a command of the command
line costs, in every process that builds the app. Most never migrate: a command, a bulk worker, a web worker
(whose schema check, invite/web/ops.py, loads what it needs on the first page). So the app gets stand-ins that
load Flask-Migrate on first use and then hand over to it: `app.extensions["migrate"]` (what `flask_migrate.upgrade()`
and invite/migrations/env.py read) and the `flask --app app db …` command group (the release command).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

# Alembic announces each of its plugins at INFO as it is first imported. Imported with the app, that was before
# logging was set up, and nobody saw it; imported later, it would put seven lines of noise before the release
# command's output and in a web worker's log at its first page.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


class _Migrations:
    """What Migrate(app, db, directory=…) sets up, done the first time any part of it is used."""

    def __init__(self, app: Flask, db: SQLAlchemy, directory: str):
        self.app, self.db, self.directory = app, db, directory

    def load(self) -> Any:
        extension = self.app.extensions["migrate"]
        if isinstance(extension, _DeferredExtension):
            from flask_migrate import Migrate

            # Replaces both stand-ins: app.extensions["migrate"], and the "db" command group in app.cli.
            Migrate().init_app(self.app, self.db, directory=self.directory)
        return self.app.extensions["migrate"]


class _DeferredExtension:
    """app.extensions["migrate"] until first read: then Flask-Migrate's own, for this and every later read."""

    def __init__(self, migrations: _Migrations):
        self._migrations = migrations

    def __getattr__(self, name: str) -> Any:
        return getattr(self._migrations.load(), name)


class _DeferredCommands:
    """`flask --app app db …` until click first looks inside it: then Flask-Migrate's group, which click is handed
    from then on (app.cli holds it)."""

    def __init__(self, migrations: _Migrations):
        self._migrations = migrations

    def __getattr__(self, name: str) -> Any:
        self._migrations.load()
        return getattr(self._migrations.app.cli.commands["db"], name)


def init_migrations(app: Flask, db: SQLAlchemy, directory: str) -> None:
    migrations = _Migrations(app, db, directory)
    app.extensions["migrate"] = _DeferredExtension(migrations)
    app.cli.commands["db"] = _DeferredCommands(migrations)  # type: ignore[assignment]  # click asks it by attribute
