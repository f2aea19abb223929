"""A built-in stand-in for Junction's Management API (sandbox mode, tests, benchmark).

Nothing in the product imports this package except in sandbox mode. See ``python -m invite.sandbox --help``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from invite.sandbox.app import create_sandbox_app
    from invite.sandbox.scripts import README_SNIPPET, SCRIPTED_ADDRESSES
    from invite.sandbox.server import SandboxServer
    from invite.sandbox.state import DEMO_KEY, DEMO_ORG_ID, SandboxState

__all__ = [
    "DEMO_KEY",
    "DEMO_ORG_ID",
    "README_SNIPPET",
    "SCRIPTED_ADDRESSES",
    "SandboxServer",
    "SandboxState",
    "create_sandbox_app",
]


def __getattr__(name: str) -> Any:
    # Each name is loaded when first asked for. Every sandbox-mode process reads DEMO_KEY from
    # invite.sandbox.state (invite/config.py): each command of the command line, each gunicorn worker, talking
    # to a sandbox in another process. Loading the sandbox's own web app (pydantic, email-validator) with it
    # cost each of them about a third of a second of CPU for nothing.
    if name in ("DEMO_KEY", "DEMO_ORG_ID", "SandboxState"):
        from invite.sandbox import state

        return getattr(state, name)
    if name in ("README_SNIPPET", "SCRIPTED_ADDRESSES"):
        from invite.sandbox import scripts

        return getattr(scripts, name)
    if name == "SandboxServer":
        from invite.sandbox.server import SandboxServer

        return SandboxServer
    if name == "create_sandbox_app":
        from invite.sandbox.app import create_sandbox_app

        return create_sandbox_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
