"""Who is acting on the command line: named with --as or INVITE_ACTOR, recorded with the OS user and host.

Everyone who can run the command can read the key, so Junction cannot tell people apart and neither can
the dashboard: the trail names whoever the operator says, next to the account and machine it ran on.
"""

from __future__ import annotations

import functools
import getpass
import os
import socket
import uuid
from collections.abc import Callable
from typing import Any

import click
from flask import current_app

from invite.auth.roles import role_for
from invite.auth.settings import looks_like_email, normalise_email
from invite.cli import exits
from invite.core.actor import Actor

ACTOR_ENV = "INVITE_ACTOR"
CHANNEL = "cli"


def _named(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--as checked as the command line is parsed (before any configuration is read): one address, normalised."""
    if not (value or "").strip():
        return None
    email = normalised_email(value)
    if email is None:
        click.echo(f"invite: --as / {ACTOR_ENV} must be one email address (got {value.strip()[:80]!r}).", err=True)
        ctx.exit(exits.USAGE)
    return email


def _required(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    email = _named(ctx, param, value)
    if email is None:
        _refuse_nameless(ctx)
    return email


def _refuse_nameless(ctx: click.Context) -> None:
    click.echo(f"invite: refusing to act without a name for the audit trail: pass --as EMAIL or set {ACTOR_ENV}.",
               err=True)
    ctx.exit(exits.USAGE)


_AS_HELP = "Who is acting, for the audit trail (required for anything that changes something)."

# The option alone, for a command that needs a name only sometimes (`invite bulk FILE`, not with --dry-run):
# the command gets `acting_as` and calls cli_actor when it does.
as_option = click.option("--as", "acting_as", metavar="EMAIL", envvar=ACTOR_ENV, show_envvar=True,
                         callback=_named, help=_AS_HELP)


def acting_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--as EMAIL` (or INVITE_ACTOR) for a command that changes something; the command gets `actor`.

    A missing or malformed name ends the command (exit 2) while the command line is parsed, before the
    configuration is read or anything is asked."""

    @click.option("--as", "acting_as", metavar="EMAIL", envvar=ACTOR_ENV, show_envvar=True, callback=_required,
                  help=_AS_HELP)
    @functools.wraps(command)
    def wrapped(*args: Any, acting_as: str, **kwargs: Any) -> Any:
        return command(*args, actor=cli_actor(acting_as), **kwargs)

    return wrapped


def normalised_email(value: str) -> str | None:
    """The --as address as sign-in normalises an identity (stripped, checked with looks_like_email, then
    invite.auth.settings.normalise_email), or None when it cannot be one person's address."""
    email = value.strip()
    return normalise_email(email) if looks_like_email(email) else None


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # a container user with no passwd entry and no LOGNAME/USER
        return f"uid {os.getuid()}"


def cli_actor(acting_as: str | None) -> Actor:
    """The Actor for the trail, or one line on stderr and exit 2 when nobody was named."""
    ctx = click.get_current_context()
    email = _named(ctx, None, acting_as)
    if email is None:
        _refuse_nameless(ctx)
    auth = current_app.extensions["settings"].auth
    return Actor(
        email=email,
        # From ADMIN_EMAILS / SUPPORT_EMAILS only: the command line knows no SSO groups.
        role=role_for(email, (), auth) if auth is not None else None,
        client_addr=None,
        request_id=uuid.uuid4().hex,
        channel=CHANNEL,
        os_user=_os_user()[:64],
        host=socket.gethostname()[:255],
    )
