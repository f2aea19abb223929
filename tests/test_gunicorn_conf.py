"""gunicorn.conf.py's hooks, called as gunicorn calls them (a real gunicorn runs in test_startup and test_ops)."""

from __future__ import annotations

import gc
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_each_worker_leaves_the_loaded_app_out_of_garbage_collection(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # or loading the file makes a directory
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    gc.unfreeze()
    try:
        conf["post_worker_init"](worker=None)
        assert gc.get_freeze_count() > 1000  # everything loaded so far, this test run's modules included
    finally:
        gc.unfreeze()
