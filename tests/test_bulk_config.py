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


def test_support_staff_cannot_reach_bulk_invites_and_junction_is_not_called(sandbox, tmp_path):
    from tests.conftest import app_env, make_app

    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'access.db'}", AUTH_MODE="header",
                           AUTH_TRUSTED_PROXIES="10.0.0.0/24", ADMIN_GROUPS="admins", SUPPORT_GROUPS="helpdesk"))
    app.config["WTF_CSRF_ENABLED"] = False  # the role is the question here, not the form's token
    support = app.test_client()
    support.environ_base.update({"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_EMAIL": "sam@corp.example",
                                 "HTTP_X_FORWARDED_GROUPS": "helpdesk"})
    for path in ["/bulk", "/bulk/template.csv", "/bulk/1", "/bulk/1.json", "/bulk/1.csv", "/bulk/1/retry-unknown"]:
        assert support.get(path).status_code == 403, path
    for path in ["/bulk/preview", "/bulk/confirm", "/bulk/1/pause", "/bulk/1/resume", "/bulk/1/cancel",
                 "/bulk/1/retry-unknown"]:
        assert support.post(path, data={"text": "x@example.com"}).status_code == 403, path
    assert "Bulk invite" not in support.get("/invitations").get_data(as_text=True)
    assert not [e for e in sandbox.state.requests_log() if "/member" in e["path"] or e["method"] == "POST"]
    app.extensions["upstream"].client.close()


def test_a_queue_that_cannot_be_reached_loses_no_job(sandbox, tmp_path):
    from tests.bulk_support import preview_and_confirm
    from tests.conftest import app_env, make_app

    # Nothing listens on port 1: waking a worker fails, the job stays stored and a worker's sweep starts it.
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'q.db'}", REDIS_URL="redis://127.0.0.1:1/0"))
    client = app.test_client()
    job_id = preview_and_confirm(client, "queued.anyway@example.com\n")
    status = client.get(f"/bulk/{job_id}.json").get_json()
    assert status["state"] == "running" and status["counts"]["waiting"] == 1
    app.extensions["upstream"].client.close()
