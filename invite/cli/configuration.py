"""The command line and the app's configuration: asked for only when a command runs, and checked for the
one mistake a configuration can make without being wrong (a throwaway sandbox beside a lasting trail).

Help, --version and a command line that cannot be parsed need no configuration: `invite` builds the app
only when a command runs (invite.cli.script), and `flask --app app invite …` gets an app that carries
the configuration's problems and reports them (exit 4) when a command runs (app.py, unconfigured_app).
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from invite.cli import exits
from invite.config import exit_on_config_error

CONFIG_ERROR = "invite.cli.config_error"
DOTENV = ".flaskenv"


def log_errors_to_stderr() -> None:
    """The app's JSON log lines on stderr, only errors until `invite -v` says otherwise (the group sets the
    level), in place before the app is built: nothing it logs on the way (AUTH_MODE=dev's warning, meant
    for whoever serves the web) reaches the command line's user unasked. invite.adapters.logs.configure_logging
    finds the handler and adds no other."""
    from invite.adapters.logs import JsonLogFormatter

    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonLogFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    handler.setLevel(logging.ERROR)
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def configured(command: Callable[..., Any]) -> Callable[..., Any]:
    """with_appcontext, then the configuration's problems (one line each, exit 4) if it had any."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        error = current_app.extensions.get(CONFIG_ERROR)
        if error is not None:
            exit_on_config_error(error, exits.CONFIGURATION)
        return command(*args, **kwargs)

    return with_appcontext(run)


class ConfiguredGroup(AppGroup):
    """An AppGroup whose commands check the configuration once the command line has been parsed."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:
        kwargs.pop("with_appcontext", None)

        def decorator(f: Callable[..., Any]) -> click.Command:
            return click.Group.command(self, *args, **kwargs)(configured(f))

        return decorator


def refuse_a_throwaway_junction() -> None:
    """Sandbox mode with no JUNCTION_API_BASE_URL starts a sandbox inside this process, gone when it ends,
    while the audit trail it writes lasts: what a command did there would show on no page. Refused, exit 4."""
    settings = current_app.extensions["settings"]
    if not settings.embedded_sandbox:
        return
    click.echo("invite: INVITE_SANDBOX=1 without JUNCTION_API_BASE_URL would use a throwaway sandbox inside this "
               "command, while the audit trail it writes lasts, so no page would show what it did. Start bin/dev "
               f"(it writes {DOTENV} here, which `invite` and `flask --app app invite` read) and run the command "
               "from this directory, or set JUNCTION_API_BASE_URL to the sandbox the dashboard uses.", err=True)
    click.get_current_context().exit(exits.CONFIGURATION)


def unreachable_hint() -> str:
    """What to check when the sandbox does not answer (a bin/dev stopped, its .flaskenv left behind)."""
    settings = current_app.extensions.get("settings")
    if settings is None or not settings.sandbox:
        return ""
    return (f"Is bin/dev running? Nothing answers at {settings.api_base_url}, the sandbox JUNCTION_API_BASE_URL "
            f"names (bin/dev writes it to {DOTENV} while it runs).")
