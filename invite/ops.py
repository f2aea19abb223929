"""Liveness and readiness for the platform's health checks."""

from __future__ import annotations

from flask import Blueprint

from invite.junction import JunctionError
from invite.upstream import get_upstream

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    # Liveness only: the process answers. Never calls Junction.
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    # Configuration was validated at start-up; what is left is whether Junction accepts our key.
    try:
        get_upstream().ready.get()
    except JunctionError as exc:
        return {"status": "unavailable", "reason": exc.message, "error_kind": type(exc).__name__}, 503
    return {"status": "ready"}
