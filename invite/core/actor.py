"""Who is behind an action: the person every row of the audit trail names, whichever channel they used."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The person behind an action: as the SSO proxy vouched for them (web), or as named with --as (cli)."""

    email: str
    role: str | None = None
    client_addr: str | None = None
    request_id: str | None = None
    own_request_id: str | None = None
    channel: str = "web"
    # Command line only: the account and machine it ran on, since anyone there could have named anyone.
    os_user: str | None = None
    host: str | None = None
