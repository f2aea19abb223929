"""Bulk settings are checked at start-up with one line per problem, in the web app and in the worker."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from invite import ROOT
from invite.config import ConfigError, load_settings

SANDBOX = {"INVITE_SANDBOX": "1"}


def test_defaults():
    settings = load_settings(SANDBOX)
    assert settings.bulk_concurrency == 4 and settings.redis_url is None and settings.bulk_queue_name == "invite-bulk"


def test_every_bad_bulk_setting_is_one_line_naming_it():
    with pytest.raises(ConfigError) as caught:
        load_settings({**SANDBOX, "BULK_CONCURRENCY": "0", "REDIS_URL": "http://cache:6379",
                       "BULK_QUEUE_NAME": "no spaces/please"})
    problems = caught.value.problems
    assert len(problems) == 3
    assert any(p.startswith("BULK_CONCURRENCY must be between 1 and 64") for p in problems)
    assert any(p.startswith("REDIS_URL must be") for p in problems)
    assert any(p.startswith("BULK_QUEUE_NAME may hold only") for p in problems)


def test_redis_url_is_never_shown_in_settings_repr():
    settings = load_settings({**SANDBOX, "REDIS_URL": "redis://:s3cret@cache:6379/0"})
    assert "s3cret" not in repr(settings)


def test_the_worker_refuses_to_start_with_bad_settings_and_says_why():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUNCTION_", "BULK_", "REDIS_"))}
    env.update(SANDBOX, BULK_CONCURRENCY="many")
    result = subprocess.run([sys.executable, "-m", "invite.bulk.worker"], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "BULK_CONCURRENCY must be a whole number (got 'many')."


def test_the_worker_needs_a_shared_sandbox_url_in_sandbox_mode():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUNCTION_", "BULK_", "REDIS_"))}
    env.update(SANDBOX)
    result = subprocess.run([sys.executable, "-m", "invite.bulk.worker"], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "JUNCTION_API_BASE_URL is required for the worker" in result.stderr
