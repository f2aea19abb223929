"""Entry point for `gunicorn app:app` and `flask --app app ...`: builds the app or explains why not."""

import gc
import sys

from invite import create_app
from invite.cli.configuration import log_errors_to_stderr
from invite.cli.script import unconfigured_app
from invite.config import EXIT_CONFIG_ERROR, ConfigError, exit_on_config_error

if "invite" in sys.argv[1:]:  # `flask --app app invite …`: the command line's logging, as `invite` has it
    log_errors_to_stderr()
# Building the app makes a great many objects and frees next to none: the cyclic garbage collector is off
# meanwhile rather than walking them again and again for nothing (invite/cli/script.py does the same).
gc.disable()
try:
    app = create_app()
except ConfigError as error:
    # Under gunicorn the master has already checked (gunicorn.conf.py's on_starting), so this is the
    # release command, a `flask` command or a plain import: one line per problem, EXIT_CONFIG_ERROR.
    # `flask --app app invite …` gets an app holding only the command line, whose help, --version and
    # usage errors need no configuration; a command that runs prints the problems and exits 4.
    if "invite" not in sys.argv[1:]:
        exit_on_config_error(error, EXIT_CONFIG_ERROR)
    app = unconfigured_app(error)

# Everything loaded so far lives as long as the process: keep the garbage collector from rescanning it,
# which otherwise adds tens of milliseconds to a render now and then (measured in bench/).
gc.freeze()
gc.enable()
