"""The worker's copy of the org (issue 25): refreshed whole from the sandbox over HTTP on real SQLite and
PostgreSQL, one refresh at a time, and read by a long list's preview while young enough (Junction walked
otherwise); its settings refused at start-up."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from conftest import app_env, make_app
from sqlalchemy import func, select, update

from invite.config import ConfigError, load_settings

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]*)"')
_COUNT = re.compile(r'data-count="(\w+)">(\d+)<')


def list_walks(sandbox) -> int:
    """List Members and List Invites calls the sandbox received (its team list and anything else apart)."""
    return sum(1 for entry in sandbox.state.requests_log()
               if entry["method"] == "GET" and entry["path"].endswith(("/member", "/invite")))


@pytest.fixture
def snapshot_app(sandbox, database_url):
    app = make_app(app_env(sandbox, database_url))
    yield app
    app.extensions["upstream"].client.close()


def refresh(app, **kwargs):
    from invite.adapters.unit_of_work import FLASK
    from invite.services import org_snapshot

    with app.app_context():
        return org_snapshot.refresh(FLASK, app.extensions["upstream"].client, **kwargs)


def test_a_refresh_copies_the_org_whole_and_the_next_replaces_it(snapshot_app, sandbox):
    from invite.adapters import org_snapshot
    from invite.adapters.storage import db
    from invite.adapters.unit_of_work import FLASK

    first = refresh(snapshot_app)
    assert (first.outcome, first.members, first.invites) == ("refreshed", 8, 12)
    with snapshot_app.app_context():
        assert (org_snapshot.state(FLASK).members, org_snapshot.state(FLASK).invites) == (8, 12)
        known = org_snapshot.lookup(db.engine, ["DANA.WHITFIELD@acmehealth.com ", "kofi.mensah@acmehealth.com",
                                                "nobody@example.com"], max_age=timedelta(minutes=1))
    assert [m.email for m in known.members] == ["dana.whitfield@acmehealth.com"]
    # The invitation as Junction listed it, its creator too.
    assert [(i.email, i.creator.type) for i in known.invites] == [("kofi.mensah@acmehealth.com", "org_member")]

    sandbox.state.add_member("Ada Joined", "Ada.Joined@Example.com")
    sandbox.state.create_or_resend_invite("grace.new@example.com", "no_role")
    # A copy younger than fresh_for is left alone (another worker's periodic task has just taken it).
    assert refresh(snapshot_app, fresh_for=timedelta(minutes=5)).outcome == "skipped"
    second = refresh(snapshot_app)
    assert (second.outcome, second.members, second.invites) == ("refreshed", 9, 13)
    with snapshot_app.app_context():
        rows = db.session.scalar(select(func.count()).select_from(org_snapshot.OrgPerson))
        assert rows == 9 + 13  # replaced, not added to
        known = org_snapshot.lookup(db.engine, ["ada.joined@example.com", "GRACE.NEW@example.com"],
                                    max_age=timedelta(minutes=1))
        assert [m.email for m in known.members] == ["Ada.Joined@Example.com"]
        assert [i.email for i in known.invites] == ["grace.new@example.com"]
        assert known.taken_at == second.taken_at
        # A walk that began before the stored copy's is dropped, whole.
        assert not org_snapshot.replace(FLASK, [], [], taken_at=first.taken_at)
        assert db.session.scalar(select(func.count()).select_from(org_snapshot.OrgPerson)) == 22


def test_a_refresh_needs_no_flask(sandbox, tmp_path):
    import sqlalchemy as sa

    from invite.adapters import org_snapshot as copies
    from invite.adapters.unit_of_work import SqlAlchemyUnitOfWork
    from invite.junction import JunctionClient
    from invite.sandbox import DEMO_KEY, DEMO_ORG_ID
    from invite.services import org_snapshot

    url = f"sqlite:///{tmp_path / 'plain.db'}"
    make_app(app_env(sandbox, url)).extensions["upstream"].client.close()  # only to migrate it
    engine = sa.create_engine(url)
    uow = SqlAlchemyUnitOfWork(engine)
    try:
        with JunctionClient(base_url=sandbox.base_url, management_key=DEMO_KEY, org_id=DEMO_ORG_ID,
                            timeout=10) as client:
            result = org_snapshot.refresh(uow, client)
        assert (result.outcome, result.members, result.invites) == ("refreshed", 8, 12)
        assert (copies.state(uow).members, copies.state(uow).invites) == (8, 12)
    finally:
        uow.dispose()
        engine.dispose()


def test_two_workers_at_once_walk_once_and_replacements_never_mix(snapshot_app, sandbox):
    from invite.adapters import org_snapshot
    from invite.adapters.storage import db, utcnow
    from invite.adapters.unit_of_work import FLASK
    from invite.junction import Member

    outcomes: list[str] = []
    threads = [threading.Thread(target=lambda: outcomes.append(refresh(snapshot_app).outcome)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["refreshed", "skipped"]

    # Two replacements racing (a lease that ran out mid-walk): the newer copy whole, never both, never half.
    now = utcnow()

    def members(tag: str, count: int) -> list[Member]:
        return [Member(f"{tag}{i}", tag, f"{tag}{i}@example.com", "no_role", (), now) for i in range(count)]

    with snapshot_app.app_context():
        copies = [(members("older", 300), now + timedelta(seconds=1)),
                  (members("newer", 200), now + timedelta(seconds=2))]
        done = threading.Barrier(2)

        def replace(people, taken_at):
            with snapshot_app.app_context():
                done.wait(10)
                org_snapshot.replace(FLASK, people, [], taken_at=taken_at)

        racers = [threading.Thread(target=replace, args=copy) for copy in copies]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(60)
        names = set(db.session.scalars(select(org_snapshot.OrgPerson.name)))
        count = db.session.scalar(select(func.count()).select_from(org_snapshot.OrgPerson))
        assert (names, count) == ({"newer"}, 200)
        assert (org_snapshot.state(FLASK).members, org_snapshot.state(FLASK).invites) == (200, 0)


LONG_LIST = "\n".join(["Dana.Whitfield@acmehealth.com", "KOFI.MENSAH@acmehealth.com"]
                      + [f"new.person{i}@example.com" for i in range(60)]) + "\n"


def preview(app) -> str:
    client = app.test_client()
    page = client.get("/bulk").get_data(as_text=True)
    answer = client.post("/bulk/preview", data={"csrf_token": _CSRF.search(page).group(1), "text": LONG_LIST})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:2000]
    return answer.get_data(as_text=True)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_long_lists_preview_reads_a_fresh_copy_without_walking_junction(snapshot_app, sandbox):
    refresh(snapshot_app)
    before = list_walks(sandbox)
    page = preview(snapshot_app)
    assert list_walks(sandbox) == before  # not one page of either list
    counts = dict(_COUNT.findall(page))
    assert (counts["already_member"], counts["already_pending"], counts["ready"]) == ("1", "1", "60")
    assert "Checked against the org as of less than a minute ago" in page
    assert "Junction still checks every address when the list is sent" in page


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_command_lines_preview_says_which_it_read_and_the_job_keeps_it(snapshot_app, sandbox, tmp_path):
    from invite.bulk.models import BulkJob

    listing = tmp_path / "people.csv"
    listing.write_text(LONG_LIST)

    def bulk(*args: str):
        return snapshot_app.test_cli_runner().invoke(
            args=["invite", "bulk", str(listing), *args], env={"NO_COLOR": "1", "INVITE_ACTOR": None})

    walked = bulk("--dry-run")
    assert "Checked against Junction's members and invitations when you previewed the list" in walked.output
    refresh(snapshot_app)
    before = list_walks(sandbox)
    read = bulk("--dry-run")
    assert list_walks(sandbox) == before
    assert "Checked against the org as of less than a minute ago" in read.output
    as_json = bulk("--dry-run", "--json")
    assert '"checked_as_of": "20' in as_json.output
    started = bulk("--yes", "--as", "ada@example.com")
    assert started.exit_code == 0, started.output
    with snapshot_app.app_context():
        from invite.adapters.storage import db
        job = db.session.scalars(db.select(BulkJob).order_by(BulkJob.id.desc())).first()
        assert job is not None and job.checked_as_of is not None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_preview_too_old_to_confirm_is_checked_against_junction_itself(snapshot_app, sandbox):
    from invite.adapters.storage import db, utcnow
    from invite.bulk.models import BulkJob
    from tests.bulk_support import _TOKEN

    refresh(snapshot_app)
    client = snapshot_app.test_client()
    page = client.get("/bulk").get_data(as_text=True)
    body = client.post("/bulk/preview", data={"csrf_token": _CSRF.search(page).group(1), "text": LONG_LIST}
                       ).get_data(as_text=True)
    assert "Checked against the org as of" in body
    with snapshot_app.app_context():
        db.session.execute(update(BulkJob).values(created_at=utcnow() - timedelta(minutes=11)))
        db.session.commit()
    before = list_walks(sandbox)
    token = next(g for g in _TOKEN.search(body).groups() if g)
    again = client.post("/bulk/confirm", data={"csrf_token": _CSRF.search(body).group(1), "token": token,
                                               "resend": "0"}).get_data(as_text=True)
    assert "more than 10 minutes old" in again
    assert list_walks(sandbox) - before == 2 + 3  # walked, though the copy is fresh
    assert "Checked against Junction&#39;s members and invitations when you previewed the list" in again


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("copy", ["none", "too old"])
def test_without_a_young_enough_copy_the_preview_walks_junction(snapshot_app, sandbox, copy):
    from invite.adapters import org_snapshot
    from invite.adapters.storage import db, utcnow

    if copy == "too old":
        refresh(snapshot_app)
        with snapshot_app.app_context():
            db.session.execute(update(org_snapshot.OrgSnapshot).values(taken_at=utcnow() - timedelta(minutes=16)))
            db.session.commit()
    before = list_walks(sandbox)
    page = preview(snapshot_app)
    assert list_walks(sandbox) - before == 2 + 3  # 8 members and 12 invitations in pages of 5, walked
    counts = dict(_COUNT.findall(page))
    assert (counts["already_member"], counts["already_pending"]) == ("1", "1")
    assert "Checked against Junction&#39;s members and invitations when you previewed the list" in page


BASE = {"INVITE_SANDBOX": "1", "SECRET_KEY": "x" * 32}


@pytest.mark.parametrize(("env", "problem"), [
    ({"INVITE_ORG_SNAPSHOT_EVERY": "5 minutes"}, "INVITE_ORG_SNAPSHOT_EVERY: '5 minutes' is not a duration"),
    ({"INVITE_ORG_SNAPSHOT_EVERY": "30s"}, "INVITE_ORG_SNAPSHOT_EVERY must be at least 1m"),
    ({"INVITE_ORG_SNAPSHOT_MAX_AGE": "soon"}, "INVITE_ORG_SNAPSHOT_MAX_AGE: 'soon' is not a duration"),
    ({"INVITE_ORG_SNAPSHOT_EVERY": "10m", "INVITE_ORG_SNAPSHOT_MAX_AGE": "10m"},
     "INVITE_ORG_SNAPSHOT_MAX_AGE (10m) must be longer than INVITE_ORG_SNAPSHOT_EVERY (10m)"),
])
def test_the_copys_settings_are_checked_at_start_up(env, problem):
    with pytest.raises(ConfigError) as refused:
        load_settings({**BASE, **env})
    assert [p for p in refused.value.problems if p.startswith(problem)], refused.value.problems


def test_the_copys_settings_default_and_switch_off():
    default = load_settings(BASE)
    assert (default.org_snapshot_every, default.org_snapshot_max_age) == (timedelta(minutes=5), timedelta(minutes=15))
    off = load_settings({**BASE, "INVITE_ORG_SNAPSHOT_EVERY": "off", "INVITE_ORG_SNAPSHOT_MAX_AGE": "1h"})
    assert (off.org_snapshot_every, off.org_snapshot_max_age) == (None, timedelta(hours=1))


def test_a_real_worker_takes_the_copy_as_it_starts_and_none_when_it_is_off(sandbox, tmp_path):
    import time

    from invite.adapters import org_snapshot
    from invite.adapters.unit_of_work import FLASK
    from tests.bulk_support import running_bulk

    with running_bulk(sandbox, tmp_path) as (app, _client, workers):
        periodic = {task.name for task in app.extensions["bulk_queue"].huey._registry.periodic_tasks}
        assert "org_snapshot.refresh" in periodic
        deadline = time.monotonic() + 60
        with app.app_context():
            while time.monotonic() < deadline and org_snapshot.state(FLASK).taken_at is None:
                time.sleep(0.2)
            taken = org_snapshot.state(FLASK)
        assert (taken.members, taken.invites) == (8, 12), workers[0].log()[-3000:]
    off = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'off.db'}", INVITE_ORG_SNAPSHOT_EVERY="off"))
    try:
        queue = off.extensions["bulk_queue"]
        assert "org_snapshot.refresh" not in {task.name for task in queue.huey._registry.periodic_tasks}
        assert queue.refresh_org_snapshot_soon() is False
    finally:
        off.extensions["upstream"].client.close()


def test_the_previews_address_check_is_the_forms_address_for_address_in_any_order():
    """With the walk gone, the rows' own checks are most of a long preview: they reuse one form, and must
    still say exactly what the form says, whatever address came before."""
    from invite.bulk.preview import _AddressCheck
    from invite.core.invite_rules import email_errors

    addresses = ["ada@example.com", "broken@", "", "  x@y ", "zoë@example.com", "a" * 321 + "@example.com",
                 "ada @example.com", " ada@example.com ", "=HYPERLINK(\"x\")", "o'brien+tag@sub.example.co.uk"]
    check = _AddressCheck()
    for ordered in (addresses, addresses[::-1]):
        assert [check.errors(a) for a in ordered] == [email_errors(a) for a in ordered]
