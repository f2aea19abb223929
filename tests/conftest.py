"""Shared fixtures: a real sandbox on loopback, the app wired to it, and its test client."""

from __future__ import annotations

import html
import os
import re
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from invite import create_app
from invite.sandbox import DEMO_KEY, DEMO_ORG_ID, SandboxServer

SECRET = "test-secret-key-0123456789abcdef"
# How long the app waits for Junction in the tests: long enough that a page's ordinary calls (the team list,
# a lookup) never run out on a loaded machine, however many tests run beside it.
JUNCTION_TIMEOUT = "10"
# How late the sandbox answers slow@example.com: long enough that a second click or a second tab surely lands
# while the first request is still in flight, and shorter than JUNCTION_TIMEOUT, so the answer still arrives.
SLOW_SECONDS = 4.0
# For the tests about a send that gets no answer in time: slow@ outlasts it by SLOW_SECONDS minus this, and
# every other call of the test still has this long.
TIMES_OUT_ON_SLOW = "2"


def per_worker_database(url: str) -> str:
    """Under pytest-xdist each worker gets a database of its own (invite_test_gw0, ...): no two processes
    race to create one, and a test's schemas never meet another worker's."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    target = make_url(url)
    return target.set(database=f"{target.database}_{worker}").render_as_string(hide_password=False)


# The storage tests run on both; CI guarantees PostgreSQL is up (see .ci/run).
POSTGRES_URL = per_worker_database(
    os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/invite_test"))


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(port=0, slow_seconds=SLOW_SECONDS).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def slow_sandbox() -> Iterator[SandboxServer]:
    """A sandbox with 250 ms of latency: bulk rows stay in flight long enough to pause, cancel or kill mid-job."""
    server = SandboxServer(port=0, latency_ms=250, slow_seconds=SLOW_SECONDS).start()
    try:
        yield server
    finally:
        server.stop()


def ensure_postgres_database(url: str) -> str:
    """Create the test database if missing. Fails loudly when the server is unreachable: never a skip."""
    target = make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database})
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {target.render_as_string(hide_password=True)} is unreachable: {exc}")
    finally:
        admin.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'invite.db'}"
        return
    url = ensure_postgres_database(POSTGRES_URL)
    # A schema per test keeps tests independent without creating databases.
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def app_env(sandbox: SandboxServer, database_url: str, **overrides: str) -> dict[str, str]:
    env = {
        "INVITE_SANDBOX": "1",
        "JUNCTION_API_BASE_URL": sandbox.base_url,
        "JUNCTION_MANAGEMENT_KEY": DEMO_KEY,
        "JUNCTION_ORG_ID": DEMO_ORG_ID,
        "JUNCTION_TIMEOUT_SECONDS": JUNCTION_TIMEOUT,
        "SECRET_KEY": SECRET,
        "DATABASE_URL": database_url,
    }
    env.update(overrides)
    return env


def make_app(env: dict[str, str]):
    from flask_migrate import upgrade

    app = create_app(env, testing=True)
    with app.app_context():
        upgrade()
    return app


@pytest.fixture
def app(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'invite.db'}"))
    yield app
    app.extensions["upstream"].client.close()


@pytest.fixture
def client(app):
    return app.test_client()


_HIDDEN = re.compile(r'<input[^>]*name="(csrf_token|submission_token)"[^>]*value="([^"]*)"')


def form_tokens(page: str) -> dict[str, str]:
    """The hidden tokens of the invite form as rendered."""
    found = {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}
    assert {"csrf_token", "submission_token"} <= found.keys(), "invite form tokens not found in page"
    return found
