"""A built-in stand-in for Junction's Management API (sandbox mode, tests, benchmark).

Nothing in the product imports this package except in sandbox mode. See ``python -m invite.sandbox --help``.
"""

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
