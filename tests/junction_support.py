"""Where the tests find Junction's own description of its Management API: a copy inside the repository."""

from __future__ import annotations

from pathlib import Path

# Copied from Junction's published material; tests/junction/README.md says from where and how to refresh it.
JUNCTION_OPENAPI_PATH = Path(__file__).resolve().parent / "junction" / "org-management-openapi.json"
