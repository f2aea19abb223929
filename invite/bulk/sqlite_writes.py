"""One writer at a time per process on SQLite, queued on a lock instead of SQLite's busy-wait.

SQLite admits one write transaction at a time. A thread that finds the database locked sleeps in SQLite's
busy handler (1, 2, 5, 10, 15, 20, 25 … ms), so a worker's sender threads, each committing a few short
transactions per row, lose more time sleeping than writing. Within one process a mutex hands the write
over in microseconds: taken at a transaction's first write, released at its commit or rollback. Other
processes (the web app) still meet the busy handler, as before. PostgreSQL needs none of this.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine, event

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def serialize_sqlite_writes(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    lock = threading.Lock()

    @event.listens_for(engine, "before_cursor_execute")
    def take(conn, cursor, statement, parameters, context, executemany) -> None:
        if not conn.info.get("holds_write_lock") and statement.lstrip()[:7].upper().startswith(_WRITES):
            lock.acquire()
            conn.info["holds_write_lock"] = True

    def release(conn) -> None:
        if conn.info.pop("holds_write_lock", False):
            lock.release()

    event.listen(engine, "commit", release)
    event.listen(engine, "rollback", release)
