"""PostgreSQL dropping a connection a request already holds (restart, failover, pg_terminate_backend).

Found by bench/soak.py: pool_pre_ping checks a connection only when it leaves the pool, so a request that
read the trail, called Junction, then wrote its row failed with a 500 when the connection was terminated
in between. The trail's reads and writes now retry once on a fresh connection; any other statement that
meets a dropped connection gets a 503 page that says what happened, not "Something went wrong".
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from conftest import POSTGRES_URL, app_env, ensure_postgres_database, make_app

from invite.adapters.storage import DONE, claim_action, complete_action, db, get_action
from invite.adapters.unit_of_work import FLASK


@pytest.fixture
def app_name() -> str:
    return f"soakfix_{uuid.uuid4().hex[:10]}"


# SQLite has no server that could drop a connection: these run on PostgreSQL only.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def pg_app(sandbox, database_url, app_name):
    app = make_app(app_env(sandbox, f"{database_url}&application_name={app_name}"))
    yield app
    app.extensions["upstream"].client.close()
    with app.app_context():
        db.engine.dispose()


def terminate(app_name: str) -> int:
    """pg_terminate_backend for every connection of this app, as the soak does for the whole database."""
    admin = sa.create_engine(ensure_postgres_database(POSTGRES_URL), poolclass=sa.NullPool)
    try:
        with admin.connect() as conn:
            return len(conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": app_name}).all())
    finally:
        admin.dispose()


FIELDS = {"actor_email": "admin@example.com", "actor_role": "admin", "action": "send",
          "target_email": "someone@example.org", "role": "no_role", "teams": []}


def test_writes_and_reads_of_the_trail_survive_a_connection_terminated_mid_request(pg_app, app_name):
    with pg_app.app_context():
        assert get_action(FLASK, "not-a-token-0000") is None  # the request now holds a connection, in a transaction
        assert terminate(app_name) >= 1
        claim = claim_action(FLASK, "tok_dropped_connection_1", **FIELDS)
        assert claim.is_new

        assert get_action(FLASK, "tok_dropped_connection_1") is not None  # the session holds a connection again
        assert terminate(app_name) >= 1
        complete_action(FLASK, claim.action, outcome={"kind": "result", "status": "invite_created"},
                        outcome_kind="invite_created")  # on a connection of its own

        # The session still holds the connection terminated above: the read by token retries on a fresh one.
        row = get_action(FLASK, "tok_dropped_connection_1")
    assert row is not None and (row.state, row.outcome_kind) == (DONE, "invite_created")


def test_a_page_whose_connection_is_dropped_says_so_with_a_503(pg_app, app_name):
    dropped = []

    @pg_app.before_request
    def hold_a_connection_then_lose_it():
        if not dropped:
            db.session.execute(sa.text("SELECT 1"))
            dropped.append(terminate(app_name))

    response = pg_app.test_client().get("/activity")
    assert dropped and dropped[0] >= 1
    assert response.status_code == 503
    text = response.get_data(as_text=True)
    assert "lost its connection to its database" in text and "Something went wrong" not in text
    assert pg_app.test_client().get("/activity").status_code == 200  # the next request gets a fresh one
