"""The tables as plain SQLAlchemy: one declarative base, and the Flask-SQLAlchemy `db` made from it.

Every model is mapped on `Base`'s registry and its table is in `Base.metadata`, whether it subclasses `Base`
(storage.Action) or `db.Model` (Flask-SQLAlchemy's model class, which shares that registry and metadata:
`SQLAlchemy(model_class=Base)`). So the pages keep `db.session` in an app context, while a process without
Flask (a test, a queue consumer) maps the same classes with a plain `sqlalchemy.orm.sessionmaker(bind=engine)`
(invite/adapters/unit_of_work.py).
"""

from __future__ import annotations

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """The declarative base of every table of the dashboard."""


# Rows are read right after they are committed (to show the outcome): keep their loaded values.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
