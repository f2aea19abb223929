"""`invite access export|plan|apply`: who has which role and teams, kept in a reviewed file (issue 27)."""

from __future__ import annotations

import click


@click.group("access")
def access_group() -> None:
    """Access as code: export the org to a file, plan the changes a file asks for, apply exactly that plan."""


from invite.cli.access_apply import apply_command  # noqa: E402 - at the end: `plan` and `export` are above

access_group.add_command(apply_command)  # `invite access apply`: invite/cli/access_apply.py
