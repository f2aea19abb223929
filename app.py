"""Entry point for `gunicorn app:app` and `flask --app app ...`: builds the app or explains why not."""

import gc
import sys

from invite import create_app
from invite.cli import exits
from invite.config import EXIT_CONFIG_ERROR, ConfigError, exit_on_config_error

try:
    app = create_app()
except ConfigError as error:
    # Under gunicorn the master has already checked (gunicorn.conf.py's on_starting), so this is the
    # release command, a `flask` command or a plain import: one line per problem, EXIT_CONFIG_ERROR;
    # `flask --app app invite …` keeps the command line's documented code for a configuration problem.
    exit_on_config_error(error, exits.CONFIGURATION if "invite" in sys.argv[1:] else EXIT_CONFIG_ERROR)

# Everything loaded so far lives as long as the process: keep the garbage collector from rescanning it,
# which otherwise adds tens of milliseconds to a render now and then (measured in bench/).
gc.freeze()
