"""Access as code (issue 27), the part that talks to Junction: the org read once, as the plan needs it.

The plan itself is pure (invite.core.access.compute_plan); the file is read and checked by
invite.core.access_file. Every change a plan makes goes through invite.services.actions, like every channel's.
"""

from __future__ import annotations

from invite.core.access import OrgState
from invite.junction import JunctionClient


def read_state(client: JunctionClient) -> OrgState:
    """Every member, pending invitation and team, each list walked to its end once."""
    return OrgState(members=tuple(client.iter_members()), invites=tuple(client.iter_invites()),
                    teams=tuple(client.iter_teams()))
