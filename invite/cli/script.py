"""The `invite` console script: builds the app from the environment as app.py does, then runs the group."""

from __future__ import annotations

import os

from flask.cli import ScriptInfo

from invite.cli import exits


def main(argv: list[str] | None = None) -> None:
    # What `flask` sets before loading an app: the app then logs to stderr, leaving stdout to the command.
    os.environ["FLASK_RUN_FROM_CLI"] = "true"
    from invite import create_app
    from invite.cli.commands import invite_group
    from invite.config import ConfigError, exit_on_config_error

    try:
        app = create_app()
    except ConfigError as error:
        exit_on_config_error(error, exits.CONFIGURATION)
    invite_group.main(args=argv, prog_name="invite", obj=ScriptInfo(create_app=lambda: app))
