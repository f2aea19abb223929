"""The access drift check (issue 27): the service on real SQLite and PostgreSQL against the sandbox on loopback
(compared, or why not: a file's mistakes by line, a file gone, Junction unreachable; only the latest report and
the latest that compared are kept), its settings, its periodic task (off without ACCESS_FILE) and a real worker
running it on schedule, and the gauges on /metrics read from the stored report."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
from conftest import app_env, make_app
from prometheus_client.parser import text_string_to_metric_families

from invite.adapters import access_records as records
from invite.adapters.access_records import AccessDriftReport
from invite.adapters.storage import db
from invite.bulk.tasks import every_minutes
from invite.config import ConfigError, load_settings
from invite.services import access_drift
from tests.bulk_support import running_bulk

# Against the sandbox's org: one to invite, Jordan to change, and every other pending invitation to revoke.
FILE = b"""\
people:
  - email: jordan.blake@acmehealth.com
    role: org_admin
  - email: new.hire@acmehealth.com
    role: no_role
"""
PENDING_INVITES = 12  # the sandbox's seeded invitations, none of them in FILE


@pytest.fixture
def access_file(tmp_path):
    path = tmp_path / "access.yaml"
    path.write_bytes(FILE)
    return path


@pytest.fixture
def drift_app(sandbox, database_url, access_file):
    app = make_app(app_env(sandbox, database_url, ACCESS_FILE=str(access_file)))
    yield app
    app.extensions["upstream"].client.close()


def check(app, path):
    with app.app_context():
        return access_drift.check(app.extensions["upstream"].client, path)


def reports(app) -> list[AccessDriftReport]:
    with app.app_context():
        found = list(db.session.scalars(db.select(AccessDriftReport).order_by(AccessDriftReport.id)))
        db.session.commit()
    return found


def test_a_check_compares_the_org_with_the_file_and_keeps_the_report(drift_app, access_file):
    result = check(drift_app, access_file)
    assert result.problem is None and result.source == "access.yaml"
    assert result.plan.counts() == {"invite": 1, "update": 1, "reinvite": 0, "revoke": PENDING_INVITES, "remove": 0}
    assert result.differ == 2 + PENDING_INVITES
    [report] = reports(drift_app)
    assert report.problem is None and report.counts == result.plan.counts() and report.source == "access.yaml"
    assert {c["email"] for c in report.plan["changes"] if c["kind"] == "update"} == {"jordan.blake@acmehealth.com"}
    assert datetime.now(UTC) - report.checked_at < timedelta(minutes=1)


def test_a_check_that_cannot_compare_says_why_and_keeps_the_last_comparison(drift_app, access_file):
    check(drift_app, access_file)
    access_file.write_bytes(b"people:\n  - email: ada@x.example\n    role: chief\n  - not an address\n")
    result = check(drift_app, access_file)
    assert result.plan is None and result.differ == 0
    assert result.problem == ("access.yaml has 2 problems: line 3: “chief” is not a role: write org_admin, team_admin "
                              "or no_role; line 4: “not an address” is not an email address (write it like "
                              "name@example.com). Fix the file; open /access to see every problem.")
    access_file.unlink()
    gone = check(drift_app, access_file)
    assert gone.problem.startswith("ACCESS_FILE could not be read (No such file or directory): ")
    kept = reports(drift_app)
    # The latest (a failure) and the latest that compared; the failure between them is dropped.
    assert [(r.problem is None, bool(r.counts)) for r in kept] == [(True, True), (False, False)]
    with drift_app.app_context():
        latest, compared = records.latest_drift()
        assert latest.id == kept[1].id and compared.id == kept[0].id
    access_file.write_bytes(FILE)
    check(drift_app, access_file)
    assert [r.problem for r in reports(drift_app)] == [None]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_junction_unreachable_is_a_problem_not_a_crash(sandbox, database_url, access_file):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    app = make_app(app_env(sandbox, database_url, ACCESS_FILE=str(access_file),
                           JUNCTION_API_BASE_URL=f"http://127.0.0.1:{dead}", JUNCTION_TIMEOUT_SECONDS="2"))
    try:
        result = check(app, access_file)
    finally:
        app.extensions["upstream"].client.close()
    assert result.plan is None and result.problem.startswith("Junction could not be read: ")
    assert result.problem.endswith("The next check tries again.")
    assert [r.problem for r in reports(app)] == [result.problem]


# ------------------------------------------------------------------------------------------ settings


def _env(**more: str) -> dict[str, str]:
    return {"INVITE_SANDBOX": "1", "SECRET_KEY": "x" * 32, **more}


def test_the_settings_are_checked_at_start_up(tmp_path, access_file):
    settings = load_settings(_env())
    assert settings.access_file is None and settings.access_drift_check_every == timedelta(hours=1)
    settings = load_settings(_env(ACCESS_FILE=str(access_file), ACCESS_DRIFT_CHECK_EVERY="15m"))
    assert settings.access_file == access_file and settings.access_drift_check_every == timedelta(minutes=15)
    with pytest.raises(ConfigError) as info:
        load_settings(_env(ACCESS_FILE=str(tmp_path / "missing.yaml"), ACCESS_DRIFT_CHECK_EVERY="often"))
    assert info.value.problems == [
        f"ACCESS_FILE cannot be read (missing, or not readable by this process): {tmp_path / 'missing.yaml'}",
        "ACCESS_DRIFT_CHECK_EVERY: 'often' is not a duration: a positive number and a unit, e.g. 3d, 36h, 10m."]
    with pytest.raises(ConfigError) as info:
        load_settings(_env(ACCESS_FILE=str(tmp_path), ACCESS_DRIFT_CHECK_EVERY="30s"))
    assert info.value.problems == [
        f"ACCESS_FILE names a directory, not a file: {tmp_path}",
        "ACCESS_DRIFT_CHECK_EVERY must be at least 1m: the worker looks once a minute at most."]


# ------------------------------------------------------------------------------------------ the periodic task


def periodic_names(app) -> set[str]:
    return {task.name for task in app.extensions["bulk_queue"].huey._registry.periodic_tasks}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_periodic_task_runs_only_with_access_file(sandbox, database_url, access_file):
    plain = make_app(app_env(sandbox, database_url))
    with_file = make_app(app_env(sandbox, database_url, ACCESS_FILE=str(access_file), ACCESS_DRIFT_CHECK_EVERY="2h"))
    try:
        assert "access.drift_check" not in periodic_names(plain)
        assert "access.drift_check" in periodic_names(with_file)
        assert with_file.extensions["bulk_queue"].check_access_drift() == 2 + PENDING_INVITES
        assert reports(with_file)[-1].counts["revoke"] == PENDING_INVITES
    finally:
        plain.extensions["upstream"].client.close()
        with_file.extensions["upstream"].client.close()
    # Every 2 hours counted from the epoch: due on even hours, at minute 0.
    due = every_minutes(120)
    assert due(datetime(2026, 3, 2, 14, 0)) and not due(datetime(2026, 3, 2, 15, 0))
    assert not due(datetime(2026, 3, 2, 14, 1))


def test_a_real_worker_checks_on_its_schedule(sandbox, tmp_path, access_file):
    with running_bulk(sandbox, tmp_path, ACCESS_FILE=str(access_file), ACCESS_DRIFT_CHECK_EVERY="1m") as (
            app, client, workers):
        deadline = time.monotonic() + 60  # the consumer checks as it starts, then on each whole minute
        while time.monotonic() < deadline and not (reports(app) and "access drift check:" in workers[0].log()):
            time.sleep(0.3)
        found = reports(app)
        assert found, "no drift check ran\n" + workers[0].log()[-3000:]
        assert found[-1].problem is None and found[-1].counts["update"] == 1
        assert "access drift check: 14 differ from access.yaml" in workers[0].log()


# ------------------------------------------------------------------------------------------ /metrics


def drift_samples(client) -> dict[tuple[str, tuple], float]:
    text = client.get("/metrics").get_data(as_text=True)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in text_string_to_metric_families(text)
            for s in family.samples if s.name.startswith("invite_access_drift")}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_drift_gauges_on_metrics(sandbox, database_url, access_file):
    plain = make_app(app_env(sandbox, database_url))
    try:
        check(plain, access_file)  # a report in the database, but no ACCESS_FILE: nothing exported
        assert drift_samples(plain.test_client()) == {}
    finally:
        plain.extensions["upstream"].client.close()
    app = make_app(app_env(sandbox, database_url, ACCESS_FILE=str(access_file)))
    try:
        client = app.test_client()
        with app.app_context():
            db.session.execute(db.delete(AccessDriftReport))
            db.session.commit()
        assert drift_samples(client) == {}  # not checked yet
        check(app, access_file)
        samples = drift_samples(client)
        kinds = {dict(labels)["kind"]: value for (name, labels), value in samples.items()
                 if name == "invite_access_drift"}
        assert kinds == {"invite": 1.0, "update": 1.0, "reinvite": 0.0, "revoke": float(PENDING_INVITES),
                         "remove": 0.0}
        assert samples[("invite_access_drift_check_ok", ())] == 1.0
        checked = samples[("invite_access_drift_checked_timestamp_seconds", ())]
        assert abs(checked - time.time()) < 60
        access_file.write_bytes(b"people: {}\n")
        check(app, access_file)
        after = drift_samples(client)
        # The check failed: check_ok says so, the drift and its time are the last comparison's.
        assert after[("invite_access_drift_check_ok", ())] == 0.0
        assert after[("invite_access_drift", (("kind", "revoke"),))] == float(PENDING_INVITES)
        assert after[("invite_access_drift_checked_timestamp_seconds", ())] == checked
    finally:
        app.extensions["upstream"].client.close()
