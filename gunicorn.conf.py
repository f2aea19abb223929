"""How `web: gunicorn app:app` runs in production (the Procfile points here)."""

import gc
import glob
import os
import shutil
import tempfile

# /metrics adds up every worker's samples from files in this directory (prometheus-client's multiprocess
# mode). Set here, in the master, so every forked worker inherits it; a directory of our own unless the
# platform names one. It must come before anything imports `invite` (and with it prometheus_client), which
# picks how it keeps samples once, at import: set later, every worker kept its samples to itself and
# /metrics answered nothing (tests/test_metrics.py starts the Procfile's line without the variable).
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="invite-metrics-")

from invite.auth.repeated_headers import mark_repeated  # noqa: E402 - after the directory is set, above


def _number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default  # the app's own start-up check reports the bad value in one clear line


bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104 - behind the platform's router
worker_class = "gthread"
threads = int(_number("WEB_THREADS", 8))  # the app sizes its Junction connection pool to match
workers = int(_number("WEB_CONCURRENCY", 2))
if os.environ.get("INVITE_SANDBOX") == "1" and not os.environ.get("JUNCTION_API_BASE_URL"):
    workers = 1  # the embedded sandbox keeps its state in memory: one process, one simulated org

# A send can wait out the upstream timeout, then look the invitation up: give it room to finish.
timeout = int(max(30, _number("JUNCTION_TIMEOUT_SECONDS", 10) * 4 + 10))
graceful_timeout = 30
keepalive = 5
accesslog = None  # the app writes one JSON line per request itself
errorlog = "-"
# gunicorn's runtime control socket is one fixed path per user: two instances (tests, a benchmark)
# would fight over it, and nothing here uses it.
control_socket_disable = True



def on_starting(server):
    """In the master, before any worker forks: a bad setting stops gunicorn once, with each problem printed
    once and invite.config.EXIT_CONFIG_ERROR, however many workers were asked for."""
    from invite.config import load_settings_or_exit

    try:
        load_settings_or_exit()
    except SystemExit:
        on_exit(server)  # gunicorn calls on_exit only after a start
        raise
    # Samples left by an earlier run would be added to this one's.
    for stale in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(stale)


def child_exit(server, worker):
    # A dead worker's "live" gauges (the team cache's age) must stop counting; its counters stay.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
def pre_request(worker, req):
    # gunicorn merges a repeated header into one value; mark which were repeated so header mode can
    # refuse a second X-Forwarded-Groups instead of adding its groups (invite/auth/repeated_headers.py).
    req.headers = mark_repeated(req.headers)


def post_worker_init(worker):
    # The app is loaded now, and its modules, templates and mappers live as long as the worker: leave them
    # out of every later garbage collection, which would otherwise walk them all again and again (gc.freeze;
    # it took an invite's collection time from 134 to 54 us in bench/phases.py, bench/README.md).
    gc.freeze()
