"""One JSON object per log line, on stdout (the web) or stderr (the command line, whose stdout is its own)."""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from datetime import UTC, datetime

from flask import Flask
from flask.logging import default_handler

# json.dumps(default=…) builds a new encoder for every line; this one is built once.
_json_line = json.JSONEncoder(default=str).encode


# The timestamp's whole-second part, formatted once per second rather than once per line.
_second: tuple[int, str] = (-1, "")


def _log_timestamp(created: float) -> str:
    """As datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds") writes it."""
    global _second
    second = math.floor(created)
    micros = round((created - second) * 1e6)  # rounded as datetime rounds it
    if micros >= 1_000_000:
        second, micros = second + 1, micros - 1_000_000
    known = _second
    if known[0] != second:
        known = _second = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{known[1]}.{micros // 1000:03d}+00:00"


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line; `extra={"fields": {...}}` adds keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": _log_timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return _json_line(entry)


class _LineHandler(logging.StreamHandler):
    """A StreamHandler that writes and flushes each line under the lock Handler.handle already holds
    (StreamHandler.flush takes it a second time, on every line)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = self.stream
            stream.write(self.format(record) + self.terminator)
            stream.flush()
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - logging's own policy: report on stderr, never raise
            self.handleError(record)


def configure_logging(app: Flask) -> None:
    # Flask's own plain-text handler on the app's logger would print every line a second time.
    app.logger.removeHandler(default_handler)
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonLogFormatter) for h in root.handlers):
        return
    # Under the command line (`flask …` sets FLASK_RUN_FROM_CLI, and so does the `invite` script), stdout
    # carries the command's own output, so log lines go to stderr.
    from_cli = os.environ.get("FLASK_RUN_FROM_CLI") == "true"
    handler = _LineHandler(sys.stderr if from_cli else sys.stdout)
    handler.setFormatter(JsonLogFormatter())
    # No line records its source file, thread or multiprocessing name, so logging need not look them up
    # for every record (the logging HOWTO's "Optimization"); gunicorn's own lines still show the pid.
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
    root.addHandler(handler)
    root.setLevel(logging.INFO)
