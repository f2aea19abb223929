"""Who opened the connection: shared by sign-in (is the proxy trusted?) and /metrics (may it scrape?)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def peer_address(environ: Mapping[str, Any]) -> str:
    """The address of whoever opened the connection to us, before any ProxyFix rewrite."""
    # ProxyFix replaces REMOTE_ADDR with a value from X-Forwarded-For, which the client can write;
    # only the original is the proxy's own address.
    original = environ.get("werkzeug.proxy_fix.orig")
    if isinstance(original, Mapping) and original.get("REMOTE_ADDR"):
        return str(original["REMOTE_ADDR"])
    return str(environ.get("REMOTE_ADDR") or "")
