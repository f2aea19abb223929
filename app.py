"""Entry point for `gunicorn app:app` and `flask --app app ...`: builds the app or explains why not."""

import gc

from invite import create_app
from invite.config import ConfigError, exit_on_config_error

try:
    app = create_app()
except ConfigError as error:
    # Under gunicorn the master has already checked (gunicorn.conf.py's on_starting), so this is the
    # release command, a `flask` command or a plain import: one line per problem, EXIT_CONFIG_ERROR.
    exit_on_config_error(error)

# Everything loaded so far lives as long as the process: keep the garbage collector from rescanning it,
# which otherwise adds tens of milliseconds to a render now and then (measured in bench/).
gc.freeze()
