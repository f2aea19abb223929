"""The `invite` console script: the group `flask --app app invite` runs, with the app built from the environment
(as app.py does) only when a command runs, so that help, --version and usage errors need no configuration."""

from __future__ import annotations

import gc
import os

from flask import Flask
from flask.cli import ScriptInfo, load_dotenv

from invite.cli import exits
from invite.cli.configuration import CONFIG_ERROR, log_errors_to_stderr
from invite.config import ConfigError, exit_on_config_error


def _create_app() -> Flask:
    from invite import create_app

    try:
        app = create_app()
    except ConfigError as error:
        exit_on_config_error(error, exits.CONFIGURATION)
        raise  # unreachable: exit_on_config_error ends the process
    # What is loaded now lives as long as the process (app.py does the same for `flask` and gunicorn): the
    # collector, back on for the command itself, need never look at it again.
    gc.freeze()
    gc.enable()
    return app


def unconfigured_app(error: ConfigError) -> Flask:
    """An app with nothing but the command group, for `flask --app app invite …` when the configuration is
    wrong: help and usage errors work, and any command that runs ends with the problems and exit 4."""
    from invite.cli.commands import invite_group

    app = Flask("invite")
    app.extensions[CONFIG_ERROR] = error
    app.cli.add_command(invite_group)
    return app


def main(argv: list[str] | None = None) -> None:
    # Loading the command group and then the app makes a great many objects and frees next to none: the cyclic
    # garbage collector, left on meanwhile, kept walking them for nothing (a tenth of a command's CPU). Help,
    # --version and usage errors end before an app is built, with the collector still off.
    gc.disable()
    # What `flask` does before loading an app: the app then logs to stderr, leaving stdout to the command,
    # and the environment files (.env, then the .flaskenv bin/dev writes) fill in what the environment
    # does not set.
    os.environ["FLASK_RUN_FROM_CLI"] = "true"
    load_dotenv()
    log_errors_to_stderr()
    from invite.cli.commands import invite_group

    invite_group.main(args=argv, prog_name="invite", obj=ScriptInfo(create_app=_create_app))
