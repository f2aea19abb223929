"""The database as the storage functions reach it: a unit of work, handed to the services by each channel.

Modelled on *Architecture Patterns with Python* (service_layer/unit_of_work.py): the services
(invite/services/actions.py and the services that call it) take a `UnitOfWork` as their first argument and
pass it on to the storage functions (storage.claim_action, complete_action, get_action …), which read and
write through it alone. Two are made here:

- `SqlAlchemyUnitOfWork(engine)`: plain SQLAlchemy, a thread-local session of a `sessionmaker(bind=engine)`;
  for a process without Flask (a test, a queue consumer). One per process and database, like an engine: it
  keeps what the storage functions make once per database (the autocommit engine, the rows completed lately).
- `FLASK`: Flask-SQLAlchemy's `db` in the current app context (`db.session`, `db.engine`, the app's
  `extensions`), what the pages, the command line and the bulk worker pass: their app context is where the
  database is configured.

A unit of work changes nothing of how a write is made: the write-ahead row and its completion are still
statements of their own on connections of their own (storage.one_statement), committed at once; the session
is for the reads, and for the one write left to a caller's commit (complete_action(commit=False)).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from invite.adapters.tables import db


class UnitOfWork(ABC):
    """An engine, a session on it, and a place for what is made once per process and database."""

    @property
    @abstractmethod
    def engine(self) -> Engine:
        """The pooled engine: the write-ahead statements' connections come from it (or from one made from it)."""

    @property
    @abstractmethod
    def session(self) -> Session | scoped_session[Any]:
        """The ORM session of this thread: reads, and the writes a caller commits."""

    @property
    @abstractmethod
    def kept(self) -> dict[str, Any]:
        """What the storage functions make once and keep for the process, by name."""

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


class SqlAlchemyUnitOfWork(UnitOfWork):
    """Plain SQLAlchemy over `engine`, no Flask. `with uow:` ends this thread's session on the way out (rolled
    back: what was meant to stay was committed); `dispose()` closes what the unit of work itself opened."""

    def __init__(self, engine: Engine, session_factory: sessionmaker[Session] | None = None):
        self._engine = engine
        # Rows are read right after they are committed (to show the outcome): keep their loaded values, as db does.
        self._sessions = scoped_session(session_factory or sessionmaker(bind=engine, expire_on_commit=False))
        self._kept: dict[str, Any] = {}

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def session(self) -> scoped_session[Session]:
        return self._sessions

    @property
    def kept(self) -> dict[str, Any]:
        return self._kept

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._sessions.remove()

    def dispose(self) -> None:
        """Close this thread's session and the engines made here; the engine given stays the caller's."""
        self._sessions.remove()
        for value in self._kept.values():
            if isinstance(value, Engine):
                value.dispose()
        self._kept.clear()


class FlaskUnitOfWork(UnitOfWork):
    """Flask-SQLAlchemy's db in the current app context: each property is read when used, so one object serves
    every app and thread."""

    @property
    def engine(self) -> Engine:
        return db.engine

    @property
    def session(self) -> scoped_session[Any]:
        return db.session

    @property
    def kept(self) -> dict[str, Any]:
        return current_app.extensions


# What a channel running in an app context passes to the services.
FLASK = FlaskUnitOfWork()
