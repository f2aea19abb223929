"""Entry point for `gunicorn app:app` and `flask --app app ...`: builds the app or explains why not."""

import gc
import os
import sys

from invite import create_app
from invite.config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    for problem in error.problems:
        print(f"configuration error: {problem}", file=sys.stderr)
    # 3 is gunicorn's "worker failed to boot": the arbiter stops instead of respawning forever. Under
    # `flask --app app …` (which sets FLASK_RUN_FROM_CLI) 4 is the command line's "configuration problem".
    sys.exit(4 if os.environ.get("FLASK_RUN_FROM_CLI") == "true" else 3)

# Everything loaded so far lives as long as the process: keep the garbage collector from rescanning it,
# which otherwise adds tens of milliseconds to a render now and then (measured in bench/).
gc.freeze()
