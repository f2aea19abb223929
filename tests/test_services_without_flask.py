"""The service layer without Flask (issue 21): services/actions.py and services/reminders.py on a plain
SQLAlchemy engine through a SqlAlchemyUnitOfWork, with a fake Junction client, as a queue consumer or any other
process without an app would call them. No Flask app is created in this process (Flask.__init__ refuses while a
test runs) and no app context is pushed; the schema is made by the release command, in a process of its own.

On SQLite (a file) and PostgreSQL: the write-ahead row, the token rules and the send limits, as
tests/test_channel_rules.py checks them per channel through the app; then the reminders' check (List Invites
once, each due invitation resent once through actions.py, one left under way settled from the list), and an
access plan applied as one job (services/access_apply.py) or refused."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import flask
import pytest
import sqlalchemy as sa
from conftest import POSTGRES_URL, SECRET, ensure_postgres_database

from invite.adapters import storage
from invite.adapters.unit_of_work import SqlAlchemyUnitOfWork
from invite.bulk.models import BulkJob, BulkRow
from invite.core import tokens
from invite.core.access import REMOVE, UPDATE, AccessFile, OrgState, Person, compute_plan
from invite.core.actor import Actor
from invite.core.reminders import ReminderPolicy
from invite.core.send_limits import SendLimits
from invite.junction import Invite, OutcomeUnknownError
from invite.junction.models import Creator, InviteStatus, Member, Team
from invite.paths import ROOT
from invite.sandbox import DEMO_KEY, DEMO_ORG_ID
from invite.services import access_apply, actions, reminders

# The schema, made as the Procfile's release command makes it: with an app, in a process of its own.
RELEASE = [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"]
RELEASE_ENV = {"INVITE_SANDBOX": "1", "JUNCTION_API_BASE_URL": "http://127.0.0.1:9", "JUNCTION_ORG_ID": DEMO_ORG_ID,
               "JUNCTION_MANAGEMENT_KEY": DEMO_KEY, "SECRET_KEY": SECRET}

ACTOR = Actor(email="queue@example.org", role="admin", channel="cli", os_user="svc", host="consumer-1")
NO_LIMITS = SendLimits(min_interval_seconds=0, per_day=0)
TEAMS = [{"id": "t1", "name": "Cardiology"}]
ACTIONS = storage.Action.__table__


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request, tmp_path_factory):
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('uow') / 'invite.db'}"
    else:
        base = ensure_postgres_database(POSTGRES_URL)
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(base)
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = f"{base}?options=-csearch_path%3D{schema}"
    migrated = subprocess.run(RELEASE, cwd=ROOT, env={**os.environ, **RELEASE_ENV, "DATABASE_URL": url},  # noqa: S603
                              capture_output=True, text=True, timeout=300)
    assert migrated.returncode == 0, migrated.stderr
    made = sa.create_engine(url)
    yield made
    made.dispose()
    if schema is not None:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def no_flask(monkeypatch):
    """No Flask app may be made while the test runs, and none is there to lean on."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("a Flask app was created")

    monkeypatch.setattr(flask.Flask, "__init__", refuse)
    assert not flask.has_app_context()
    yield
    assert not flask.has_app_context()
    with pytest.raises(RuntimeError):
        flask.current_app.name  # noqa: B018  # reading it is the test: outside an app context it raises


@pytest.fixture
def uow(engine, no_flask):
    unit = SqlAlchemyUnitOfWork(engine)
    yield unit
    unit.dispose()


class FakeJunction:
    """What services/actions.py asks of Junction for an invitation, answering as told and keeping every call."""

    def __init__(self, *, status: InviteStatus = InviteStatus.INVITE_CREATED, error: Exception | None = None,
                 pending: Invite | None = None, on_send=None):
        self.status, self.error, self.pending, self.on_send = status, error, pending, on_send
        self.calls: list[tuple[str, str]] = []

    def create_or_resend_invite(self, email, role, team_ids):
        self.calls.append(("send", email))
        if self.on_send is not None:
            self.on_send(email)
        if self.error is not None:
            raise self.error
        return self.status

    def find_pending_invite(self, email):
        self.calls.append(("find", email))
        return self.pending

    def revoke_invite(self, invite_id):
        self.calls.append(("revoke", invite_id))
        if self.error is not None:
            raise self.error

    def sends(self) -> int:
        return sum(1 for call, _ in self.calls if call == "send")


def _token(*bound: str) -> str:
    return tokens.issue(SECRET, "cli", ACTOR.email, *bound)


def _address() -> str:
    return f"p-{uuid.uuid4().hex[:10]}@example.org"


def _send(uow, client, token, email, limits=NO_LIMITS):
    return actions.send_invite(uow, client, token, ACTOR, limits=limits, email=email, role="no_role", teams=TEAMS)


def _rows(engine, **where) -> list:
    with engine.connect() as connection:
        return list(connection.execute(sa.select(ACTIONS.c.state, ACTIONS.c.outcome_kind).where(
            *(ACTIONS.c[column] == value for column, value in where.items()))))


def test_a_send_is_written_ahead_then_completed(engine, uow):
    email, token = _address(), _token("send")
    seen_during_the_call = []
    client = FakeJunction(on_send=lambda _email: seen_during_the_call.extend(_rows(engine, token=token)))
    claim = _send(uow, client, token, email)
    # Committed before Junction was called: another connection saw the row under way.
    assert [tuple(row) for row in seen_during_the_call] == [(storage.PENDING, storage.UNKNOWN)]
    assert claim.is_new and claim.action.state == storage.DONE and claim.action.outcome_kind == "invite_created"
    stored = storage.get_action(uow, token)
    assert stored is not None and stored.id == claim.action.id
    assert (stored.outcome_kind, stored.channel, stored.os_user, stored.team_ids) == \
        ("invite_created", "cli", "svc", ["t1"])
    assert storage.get_action_to_show(uow, token) is claim.action  # completed here: kept by the unit of work
    if engine.dialect.name == "postgresql":  # the claim's one round trip, on the autocommit engine of its own
        assert "invite.autocommit_engine" in uow.kept


def test_a_token_acts_once_and_only_for_its_own_action(engine, uow):
    email, token = _address(), _token("send")
    client = FakeJunction()
    first = _send(uow, client, token, email)
    again = _send(uow, client, token, email.upper())  # a retried message: the first outcome, nothing sent
    assert not again.is_new and again.action.id == first.action.id and client.sends() == 1
    with pytest.raises(actions.TokenClash):
        _send(uow, client, token, _address())
    with pytest.raises(actions.TokenClash):
        actions.revoke_invite(uow, client, token, ACTOR, invite_id="inv_1", email=email, role=None, teams=[])
    with pytest.raises(actions.TokenClash):
        _send(uow, client, "x-not-a-token-this-server-issued", _address())
    assert _rows(engine, token="x-not-a-token-this-server-issued") == []
    assert client.sends() == 1 and len(_rows(engine, token=token)) == 1


def test_the_send_limits_hold_back_a_send_without_calling_junction(engine, uow):
    email, client = _address(), FakeJunction()
    limits = SendLimits(min_interval_seconds=3600, per_day=5)
    assert _send(uow, client, _token("send", "1"), email, limits).action.outcome_kind == "invite_created"
    held = _send(uow, client, _token("send", "2"), email.upper(), limits)
    assert held.is_new and held.action.state == storage.DONE and held.action.outcome_kind == "held_back"
    assert datetime.fromisoformat(held.action.outcome["retry_at"]) > datetime.now(UTC)
    assert client.sends() == 1
    daily = SendLimits(min_interval_seconds=0, per_day=2)
    other = _address()
    kinds = [_send(uow, client, _token("send", other, str(n)), other, daily).action.outcome_kind for n in range(3)]
    assert kinds == ["invite_created", "invite_created", "held_back"] and client.sends() == 3


def test_claims_at_once_cannot_both_slip_under_the_limit(engine, uow):
    email, client = _address(), FakeJunction()
    limits = SendLimits(min_interval_seconds=0, per_day=1)
    kinds: list[str] = []
    start = threading.Barrier(4)

    def send(n: int) -> None:  # as a consumer's thread handles a message: its session ended after it
        start.wait()
        with uow:
            kinds.append(_send(uow, client, _token("send", str(n)), email, limits).action.outcome_kind)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(kinds) == ["held_back"] * 3 + ["invite_created"] and client.sends() == 1


def test_an_answer_that_never_came_is_settled_from_the_list_never_posted_again(engine, uow):
    email = _address()
    pending = Invite(id="inv_9", email=email, role="no_role", team_ids=("t1",), invited_at=datetime.now(UTC),
                     resent_at=None, creator=Creator(type="management_key"))
    client = FakeJunction(error=OutcomeUnknownError("The answer did not come in time."), pending=pending)
    claim = _send(uow, client, _token("send"), email)
    assert claim.action.outcome_kind == "confirmed_pending" and client.calls == [("send", email), ("find", email)]
    lost = FakeJunction(error=OutcomeUnknownError("The answer did not come in time."))
    assert _send(uow, lost, _token("send"), _address()).action.outcome_kind == storage.UNKNOWN

    # A consumer killed mid-call left a row under way: settled from the list, not sent again.
    left = storage.claim_action(uow, _token("send"), actor_email=ACTOR.email, action="send", target_email=email,
                                role="no_role", channel="cli").action
    reader = FakeJunction(pending=pending)
    actions.settle_in_flight(uow, reader, left)
    assert reader.calls == [("find", email)]
    assert [tuple(row) for row in _rows(engine, id=left.id)] == [(storage.DONE, "confirmed_pending")]


def test_a_revoke_and_a_completion_left_to_the_callers_commit(engine, uow):
    email, client = _address(), FakeJunction()
    claim = actions.revoke_invite(uow, client, _token("revoke"), ACTOR, invite_id="inv_3", email=email,
                                  role="no_role", teams=[])
    assert claim.action.outcome_kind == "revoked" and client.calls == [("revoke", "inv_3")]

    # commit=False (a bulk job's row saved with its action): nothing is completed until the unit of work commits.
    row = storage.claim_action(uow, _token("send"), actor_email=ACTOR.email, action="send", target_email=email,
                               role="no_role").action
    loaded = storage.get_action(uow, row.token)
    storage.complete_action(uow, loaded, outcome={"kind": "result"}, outcome_kind="invite_created", commit=False)
    assert [tuple(r) for r in _rows(engine, id=row.id)] == [(storage.PENDING, storage.UNKNOWN)]
    uow.commit()
    assert [tuple(r) for r in _rows(engine, id=row.id)] == [(storage.DONE, "invite_created")]


# ------------------------------------------------------------------------------------------ the reminders' check

ALWAYS = ReminderPolicy(after=timedelta(days=3), hours=(0, 24), days=frozenset(range(7)))


class FakeInvites(FakeJunction):
    """A Junction listing these pending invitations."""

    def __init__(self, *invites: Invite, **kwargs):
        super().__init__(status=InviteStatus.INVITE_RESENT, **kwargs)
        self.invites = invites

    def iter_invites(self):
        self.calls.append(("list", ""))
        return iter(self.invites)


def _invite(email: str, days_ago: float) -> Invite:
    return Invite(id=f"inv_{uuid.uuid4().hex[:8]}", email=email, role="no_role", team_ids=("t1",),
                  invited_at=datetime.now(UTC) - timedelta(days=days_ago), resent_at=None,
                  creator=Creator(type="management_key"))


def _check(uow, client, limits=NO_LIMITS):
    return reminders.run_check(uow, client, SECRET, limits, ALWAYS, {"t1": "Cardiology"},
                               in_doubt_after=reminders.in_doubt_after(1))


def test_the_reminders_check_resends_a_due_invitation_once(engine, uow):
    late, recent = _invite(_address(), 4), _invite(_address(), 1)
    client = FakeInvites(late, recent)
    first = _check(uow, client)
    assert first.outcomes == {"invite_resent": 1} and first.due == 1 and first.error is None
    assert [call for call in client.calls if call[0] == "send"] == [("send", late.email)]
    second = _check(uow, client)
    assert not second.outcomes and second.due == 0 and client.sends() == 1
    with engine.connect() as connection:
        [row] = connection.execute(sa.select(ACTIONS.c.channel, ACTIONS.c.actor_email, ACTIONS.c.action,
                                             ACTIONS.c.token).where(ACTIONS.c.target_email == late.email)).all()
    assert row[:3] == ("reminder", "reminders", "resend") and tokens.channel_of(row.token) == "reminder"
    assert reminders.paused_by(uow) is None


def test_a_reminder_left_under_way_is_settled_from_the_list_never_posted_again(engine, uow):
    late = _invite(_address(), 5)
    token = reminders.token_for(SECRET, late, 0)
    storage.claim_action(uow, token, actor_email=reminders.ACTOR_EMAIL, action="resend", target_email=late.email,
                         role="no_role", channel=reminders.CHANNEL, invite_id=late.id)
    with engine.begin() as connection:  # left by a worker killed five minutes ago
        connection.execute(ACTIONS.update().where(ACTIONS.c.token == token).values(
            created_at=datetime.now(UTC) - timedelta(minutes=5)))
    # Junction lists it resent since: the reminder went out, and counts as sent.
    client = FakeInvites(late, pending=replace(late, resent_at=datetime.now(UTC) - timedelta(minutes=4)))
    result = _check(uow, client)
    assert result.settled == 1 and ("find", late.email) in client.calls
    assert client.sends() == 0 and not result.outcomes and result.due == 0
    assert [tuple(row) for row in _rows(engine, token=token)] == [(storage.DONE, "confirmed_pending")]


def test_an_invitation_mailed_lately_on_another_channel_is_not_reminded(engine, uow):
    late = _invite(_address(), 4)
    client = FakeInvites(late)
    _send(uow, client, _token("send"), late.email)  # someone sent it a minute ago, from the command line
    result = _check(uow, client)
    assert result.due == 0 and not result.outcomes and client.sends() == 1


# ------------------------------------------------------------------------------------------ an access plan applied

MANAGE_ALL = frozenset({"invites", "members", "removals"})


class FakeOrg:
    """A Junction that lists an org (read_state reads it whole); it is never asked to change anything."""

    def __init__(self, state: OrgState):
        self.state = state

    def iter_members(self):
        return iter(self.state.members)

    def iter_invites(self):
        return iter(self.state.invites)

    def iter_teams(self):
        return iter(self.state.teams)


def _member(n: int, role: str) -> Member:
    mark = uuid.uuid4().hex[:6]
    return Member(id=f"m{n}-{mark}", name=f"Person {n}", email=f"p{n}-{mark}@example.com", role=role, team_ids=(),
                  created_on=None)


def test_an_access_plan_is_applied_as_one_job_or_refused(engine, uow):
    ada, bob, cy = _member(1, "org_admin"), _member(2, "no_role"), _member(3, "no_role")
    state = OrgState(members=(ada, bob, cy), invites=(), teams=(Team(id="t1", name="Cardiology", region="us"),))
    wanted = AccessFile(people=(Person(email=ada.email, role="org_admin", team_ids=()),
                                Person(email=bob.email, role="team_admin", team_ids=())),
                        manage=MANAGE_ALL, sha256=uuid.uuid4().hex * 2)  # Cy removed
    plan = compute_plan(wanted, state)
    woken: list[int] = []
    who = Actor(email=ACTOR.email, role="admin", channel="cli")

    with pytest.raises(access_apply.TooManyRemovals):
        access_apply.apply_plan(uow, plan, actor=who, client=FakeOrg(state), max_removals=0, waker=woken.append)
    moved = OrgState(members=(ada, replace(bob, role="org_admin"), cy), invites=(), teams=state.teams)
    with pytest.raises(access_apply.PlanDrifted):
        access_apply.apply_plan(uow, plan, actor=who, client=FakeOrg(moved), max_removals=1, waker=woken.append)
    assert woken == [] and access_apply.applied_as(uow, plan.id) is None

    job_id = access_apply.apply_plan(uow, plan, actor=who, client=FakeOrg(state), max_removals=1, waker=woken.append)
    assert woken == [job_id] and access_apply.applied_as(uow, plan.id) == job_id
    with engine.connect() as connection:
        job = connection.execute(sa.select(BulkJob.kind, BulkJob.state, BulkJob.plan_id, BulkJob.channel)
                                 .where(BulkJob.id == job_id)).one()
        rows = connection.execute(sa.select(BulkRow.operation, BulkRow.email, BulkRow.state)
                                  .where(BulkRow.job_id == job_id).order_by(BulkRow.position)).all()
    assert tuple(job) == ("access", "running", plan.id, "cli")
    assert [tuple(row) for row in rows] == [(UPDATE, bob.email, "queued"), (REMOVE, cy.email, "queued")]
    with pytest.raises(access_apply.AlreadyApplied) as twice:
        access_apply.apply_plan(uow, plan, actor=who, client=FakeOrg(state), max_removals=1, waker=woken.append)
    assert twice.value.job_id == job_id and woken == [job_id]


def test_the_reminders_switched_off_and_paused_without_flask(engine, uow):
    off, on = _invite(_address(), 4), _invite(_address(), 4)
    who = Actor(email="ops@example.org", role="admin", channel="cli")
    assert reminders.set_switch(uow, off.id, True, who, off.email)
    assert not reminders.set_switch(uow, off.id, True, who, off.email)  # already so: nothing recorded
    decided = reminders.decisions(uow, [off, on], ALWAYS)
    assert decided[off.id].state != "due" and decided[on.id].state == "due"

    assert reminders.set_paused(uow, True, who)
    try:
        assert reminders.paused_by(uow).by == "ops@example.org"
        client = FakeInvites(off, on)
        assert _check(uow, client).due == 0 and client.sends() == 0
    finally:  # the pause is the whole database's: the other tests' checks must not meet it
        assert reminders.set_paused(uow, False, who)
    assert reminders.paused_by(uow) is None
    assert [(row.scope, row.off) for row in reminders.switch_trail(uow, 3)] == \
        [("*", False), ("*", True), (off.id, True)]
    with engine.connect() as connection:  # each decision is a row of the trail too, as "recorded"
        recorded = connection.execute(sa.select(ACTIONS.c.action).where(ACTIONS.c.actor_email == who.email,
                                                                         ACTIONS.c.outcome_kind == "recorded")
                                      .order_by(ACTIONS.c.id)).scalars().all()
    assert recorded[-3:] == ["reminders_off", "reminders_pause", "reminders_resume"]
