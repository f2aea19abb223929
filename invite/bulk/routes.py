"""/bulk: paste or upload a list, preview it, confirm once, watch the job."""

from __future__ import annotations

from flask import Blueprint

from invite.bulk import models  # noqa: F401 - the tables belong to the app's metadata

bp = Blueprint("bulk", __name__)
