"""`invite access apply PLAN` (issue 27): the real `flask --app app invite access apply` in subprocesses beside a
real bulk worker, against the sandbox over HTTP, on SQLite and PostgreSQL. A plan with every kind of change
leaves Junction as the file says; a plan made before the org moved, or removing more members than allowed,
changes nothing; a worker killed with -9 mid-apply and started again does nothing twice. Then apply_plan's
refusals, on fakes. Plans are made by the core's compute_plan directly (tests/access_support.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from invite.adapters.storage import Action, db
from invite.adapters.unit_of_work import FLASK as IN_APP
from invite.bulk.models import BulkJob, BulkRow
from invite.cli import exits
from invite.core import tokens
from invite.core.access import INVITE, KINDS, REINVITE, REMOVE, REVOKE, UPDATE, OrgState, compute_plan
from invite.core.actor import Actor
from invite.junction.models import Invite, Member, Team
from invite.services import access_apply
from invite.services.access import read_state
from tests.access_support import file_as_org_is, plan_for
from tests.bulk_support import Worker, queue_name, remove_queue_files
from tests.conftest import make_app
from tests.test_cli_process import command_env

ACTOR = "ops.person@acme.test"
ROOT = Path(__file__).resolve().parent.parent
FLASK = [str(Path(sys.executable).parent / "flask"), "--app", "app", "invite"]
REDIS_URL = "redis://127.0.0.1:6379/0"

CARDIOLOGY = "80240536-14a5-521a-a7ab-b13f2741d88b"
DIABETES = "5f9d3864-4b52-59ec-ba65-0bc6eb218522"
MONITORING = "c861e2a6-7c64-5557-9120-662721111b1a"

# One of each kind, on the sandbox's seeded org.
EVERY_KIND = {
    "new.person@example.com": ("team_admin", [CARDIOLOGY]),  # invite
    "sam.oconnor@acmehealth.com": ("team_admin", [CARDIOLOGY]),  # update: No role -> Team admin
    "priya.natarajan@acmehealth.com": ("team_admin", [CARDIOLOGY]),  # update: teams only
    "dana.whitfield@acmehealth.com": ("no_role", []),  # update: an Org admin demoted (marcus stays one)
    "noor.haddad@acmehealth.com": ("team_admin", [DIABETES]),  # re-invite: No role -> Team admin
    "r.kowalski@partner-clinic.eu": None,  # revoke: the pending invitation is not in the file
    "jordan.blake@acmehealth.com": None,  # remove: the member is not in the file, removals managed
}
MANAGE_ALL = frozenset({"invites", "members", "removals"})


class Setup:
    """The operator's environment on one database and queue, a client to read the sandbox, a worker."""

    def __init__(self, sandbox, tmp_path: Path, database_url: str):
        extra = {"REDIS_URL": REDIS_URL} if database_url.startswith("postgresql") else {}
        self.sandbox = sandbox
        self.tmp_path = tmp_path
        self.queue = queue_name()
        self.env = command_env(sandbox, database_url, BULK_QUEUE_NAME=self.queue, **extra)
        self.app = make_app(self.env)  # migrated: the worker and the commands find the schema
        self.client = self.app.extensions["upstream"].client
        self.worker = Worker(self.env, tmp_path / "worker.log")
        self.url = database_url

    def close(self) -> None:
        self.worker.stop()
        self.app.extensions["bulk_queue"].huey.flush()
        self.client.close()
        remove_queue_files(self.queue)

    def plan_file(self, plan, name: str = "plan.json") -> str:
        path = self.tmp_path / name
        path.write_text(json.dumps(plan.as_json(), indent=2), encoding="utf-8")
        return str(path)

    def invite(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run([*FLASK, *args], cwd=ROOT, env=self.env, capture_output=True, text=True,  # noqa: S603
                              stdin=subprocess.DEVNULL, timeout=timeout)

    def jobs(self) -> list[BulkJob]:
        with self.app.app_context():
            found = list(db.session.scalars(db.select(BulkJob).order_by(BulkJob.id)))
            db.session.remove()
            return found

    def actions(self, job_id: int | None = None) -> list[Action]:
        with self.app.app_context():
            query = db.select(Action).order_by(Action.id)
            if job_id is not None:
                query = query.where(Action.bulk_job_id == job_id)
            found = list(db.session.scalars(query))
            db.session.remove()
            return found

    def rows(self, job_id: int) -> list[BulkRow]:
        with self.app.app_context():
            found = list(db.session.scalars(db.select(BulkRow).where(BulkRow.job_id == job_id)
                                            .order_by(BulkRow.position)))
            db.session.remove()
            return found


@pytest.fixture
def setup(sandbox, tmp_path, database_url):
    ready = Setup(sandbox, tmp_path, database_url)
    try:
        yield ready
    finally:
        ready.close()


@pytest.fixture
def on_sqlite(sandbox, tmp_path):
    ready = Setup(sandbox, tmp_path, f"sqlite:///{tmp_path / 'invite.db'}")
    try:
        yield ready
    finally:
        ready.close()


def changes_made(sandbox, since: int = 0) -> list[tuple[str, str]]:
    """Every request that could change Junction (anything but a GET) from the sandbox's own log."""
    return [(e["method"], e["path"]) for e in sandbox.state.requests_log()[since:] if e["method"] != "GET"]


def summary_of(result: subprocess.CompletedProcess) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------ the flow


def test_a_plan_with_every_kind_of_change_leaves_junction_as_the_file_says(setup, sandbox):
    wanted = file_as_org_is(setup.client, changes=EVERY_KIND, manage=MANAGE_ALL)
    plan = compute_plan(wanted, read_state(setup.client), source="access.yaml")
    assert Counter(c.kind for c in plan.changes) == {INVITE: 1, UPDATE: 3, REINVITE: 1, REVOKE: 1, REMOVE: 1}
    plan_file = setup.plan_file(plan)
    setup.worker.start()

    nameless = setup.invite("access", "apply", plan_file, "--max-removals", "1")
    assert nameless.returncode == exits.USAGE and "pass --as EMAIL" in nameless.stderr
    result = setup.invite("access", "apply", plan_file, "--as", ACTOR, "--max-removals", "1", "--wait", "--json",
                          "--timeout", "120")
    assert result.returncode == exits.DONE, (result.stdout, result.stderr, setup.worker.log()[-3000:])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    started, summary = lines[0], lines[-1]
    assert (started["type"], started["plan_id"], started["file_sha256"]) == ("started", plan.id, "f" * 64)
    job_id = started["job_id"]
    assert (summary["outcome"], summary["state"], summary["counts"]["sent"]) == ("ended", "done", 7)

    # Junction ends as the file says: a plan made now has nothing left to do.
    assert compute_plan(wanted, read_state(setup.client)).changes == ()
    invite = sandbox.state.find_invite_by_email("noor.haddad@acmehealth.com")
    assert (invite["role"], invite["team_role_bindings"]) == ("team_admin", [{"team_id": DIABETES}])

    # One job of kind "access", with the plan's id and the file's hash; one trail row per change, on the
    # "access" channel, under a token the server issued on it, reaching the job (and so the plan).
    [job] = setup.jobs()
    assert (job.id, job.kind, job.plan_id, job.file_sha256, job.created_by, job.channel) == (
        job_id, "access", plan.id, "f" * 64, ACTOR, "cli")
    trail = setup.actions()
    assert len(trail) == 7 and {a.bulk_job_id for a in trail} == {job_id}
    assert {(a.channel, a.actor_email, tokens.channel_of(a.token)) for a in trail} == {("access", ACTOR, "access")}
    assert Counter(a.action for a in trail) == {"send": 1, "resend": 1, "update_member": 3, "revoke": 1,
                                                "remove_member": 1}
    assert {a.outcome_kind for a in trail} == {"invite_created", "invite_resent", "member_changed", "revoked",
                                               "member_removed"}
    # Each change once: one POST per invitation, one PATCH per member, one DELETE per invitation or member.
    assert Counter(method for method, _ in changes_made(sandbox)) == {"POST": 2, "PATCH": 3, "DELETE": 2}

    # The rows say what change they are; the Org admin made one is changed before the other is demoted.
    rows = setup.rows(job_id)
    words = {row.email: row for row in rows}
    shown = setup.invite("bulk", "status", str(job_id))
    assert shown.returncode == exits.DONE, shown.stderr
    assert f"Plan {plan.id}, from a file with sha256 {'f' * 64}." in shown.stdout
    assert "Change role: Org admin → No role" in shown.stdout
    assert "Change role: No role → Team admin (Cardiology)" in shown.stdout, shown.stdout
    assert "Change teams: Cardiology, Remote Patient Monitoring → Cardiology" in shown.stdout
    assert "Re-invite: No role → Team admin (Diabetes Program)" in shown.stdout
    assert "Remove from the org (No role)" in shown.stdout and "Revoke the invitation (No role)" in shown.stdout
    assert "Done: 7  Already members: 0  Not done: 0" in shown.stdout
    assert [r.operation for r in rows] == [INVITE, UPDATE, UPDATE, UPDATE, REINVITE, REVOKE, REMOVE]
    assert words["jordan.blake@acmehealth.com"].outcome_kind == "member_removed"

    # The job's page shows the same.
    page = setup.app.test_client().get(f"/bulk/{job_id}", headers={"X-Forwarded-Email": ACTOR},
                                       environ_base={"REMOTE_ADDR": "127.0.0.1"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200, text[:2000]
    assert "Change role: Org admin → No role" in text and plan.id in text
    assert "Role and teams changed" in text and "Removed from the org" in text

    # The same plan again is refused: it was applied, as this job.
    again = setup.invite("access", "apply", plan_file, "--as", ACTOR, "--max-removals", "1", "--json")
    assert again.returncode == exits.NOT_DONE
    assert summary_of(again)["outcome"] == "already_applied" and summary_of(again)["job_id"] == job_id


def test_a_plan_made_before_the_org_moved_is_refused_and_changes_nothing(on_sqlite, sandbox):
    plan = plan_for(on_sqlite.client, changes={"sam.oconnor@acmehealth.com": ("org_admin", []),
                                               "new.person@example.com": ("no_role", [])})
    plan_file = on_sqlite.plan_file(plan)
    # Someone changes Sam in Junction between the plan and the apply.
    [sam] = [m for m in sandbox.state.find_members() if m["email"] == "sam.oconnor@acmehealth.com"]
    sandbox.state.update_member(sam["id"], "team_admin", [CARDIOLOGY])
    before = len(sandbox.state.requests_log())

    result = on_sqlite.invite("access", "apply", plan_file, "--as", ACTOR)
    assert result.returncode == exits.NOT_DONE, (result.stdout, result.stderr)
    assert "The org changed since this plan was made: plan again. Nothing was changed." in result.stderr
    assert "sam.oconnor@acmehealth.com changed in Junction" in result.stderr
    assert "Traceback" not in result.stderr
    assert changes_made(sandbox, before) == [] and on_sqlite.jobs() == [] and on_sqlite.actions() == []

    # Outside the plan too: a new member elsewhere moves the fingerprint; --json says so for programs.
    fresh = plan_for(on_sqlite.client, changes={"new.person@example.com": ("no_role", [])})
    sandbox.state.add_member("Late Joiner", "late.joiner@example.com")
    refused = on_sqlite.invite("access", "apply", on_sqlite.plan_file(fresh, "fresh.json"), "--as", ACTOR, "--json")
    assert refused.returncode == exits.NOT_DONE
    body = summary_of(refused)
    assert (body["outcome"], body["moved"], body["plan_fingerprint"]) == ("drifted", [], fresh.fingerprint)
    assert body["fingerprint_now"] != fresh.fingerprint
    assert changes_made(sandbox, before) == [] and on_sqlite.jobs() == []


def test_removals_are_bounded_by_max_removals_zero_unless_given(on_sqlite, sandbox):
    plan = plan_for(on_sqlite.client, manage=MANAGE_ALL, changes={"jordan.blake@acmehealth.com": None,
                                                                  "sam.oconnor@acmehealth.com": None})
    assert [c.kind for c in plan.changes] == [REMOVE, REMOVE]
    plan_file = on_sqlite.plan_file(plan)
    for flags in ([], ["--max-removals", "1"]):
        before = len(sandbox.state.requests_log())
        refused = on_sqlite.invite("access", "apply", plan_file, "--as", ACTOR, *flags)
        assert refused.returncode == exits.NOT_DONE, refused.stderr
        allowed = flags[1] if flags else "0"
        assert (f"This plan removes 2 members from the org, and at most {allowed} may be removed: nothing was "
                "changed.") in refused.stderr
        assert "run again with --max-removals 2" in refused.stderr
        # Refused before Junction is even read.
        assert sandbox.state.requests_log()[before:] == [] and on_sqlite.jobs() == []

    on_sqlite.worker.start()
    result = on_sqlite.invite("access", "apply", plan_file, "--as", ACTOR, "--max-removals", "2", "--wait",
                              "--timeout", "120")
    assert result.returncode == exits.DONE, (result.stdout, result.stderr, on_sqlite.worker.log()[-3000:])
    assert "2/2 rows done (2 done)" in result.stdout
    emails = {m["email"] for m in sandbox.state.find_members()}
    assert not {"jordan.blake@acmehealth.com", "sam.oconnor@acmehealth.com"} & emails
    assert len(emails) == 6


def test_kill_9_mid_apply_then_restart_does_nothing_twice(slow_sandbox, tmp_path, database_url):
    sandbox = slow_sandbox
    # A member whose change Junction makes at once and answers only seconds later: the kill lands there.
    slow = sandbox.state.add_member("Slow Member", "slow@example.com", "no_role")
    setup = Setup(sandbox, tmp_path, database_url)
    try:
        invited = [f"kill{i}@example.com" for i in range(5)]
        plan = plan_for(setup.client, changes={
            **{email: ("no_role", []) for email in invited},
            "slow@example.com": ("team_admin", [MONITORING]),
            "sam.oconnor@acmehealth.com": ("team_admin", [CARDIOLOGY]),
            "r.kowalski@partner-clinic.eu": None,
        })
        assert Counter(c.kind for c in plan.changes) == {INVITE: 5, UPDATE: 2, REVOKE: 1}
        setup.worker.start()
        started = setup.invite("access", "apply", setup.plan_file(plan), "--as", ACTOR, "--json")
        assert started.returncode == exits.DONE, started.stderr
        job_id = summary_of(started)["job_id"]

        def slow_change_in_flight() -> bool:  # Junction has made it and has not answered yet
            return any(e["method"] == "PATCH" and e["path"].endswith(slow["id"]) and e.get("status") is None
                       for e in sandbox.state.requests_log())

        deadline = time.monotonic() + 90
        while not slow_change_in_flight() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert slow_change_in_flight(), setup.worker.log()[-3000:]
        setup.worker.kill9()
        at_kill = len(sandbox.state.requests_log())
        assert {r.state for r in setup.rows(job_id) if r.email == "slow@example.com"} == {"sending"}

        setup.worker.start()
        waited = setup.invite("bulk", "wait", str(job_id), "--timeout", "120")
        assert waited.returncode == exits.DONE, (waited.stdout, waited.stderr, setup.worker.log()[-3000:])
    finally:
        setup.close()

    log = sandbox.state.requests_log()
    posts = Counter(e["json"]["email"] for e in log if e["method"] == "POST")
    assert posts == dict.fromkeys(invited, 1)
    patches = Counter(e["path"].rsplit("/", 1)[1] for e in log if e["method"] == "PATCH")
    assert set(patches.values()) == {1} and len(patches) == 2
    assert [e["method"] for e in log].count("DELETE") == 1
    # The change in flight was checked (its member read) before anything else was changed, never made again.
    after = log[at_kill:]
    first_change = next(i for i, e in enumerate(after) if e["method"] != "GET")
    looked_up = [e["query"].get("search_query", [""])[0] for e in after[:first_change]]
    assert "slow@example.com" in looked_up, looked_up
    # The trail: one action per change (8), each completed once; the slow one settled from the member list.
    trail = setup.actions(job_id)
    assert len(trail) == 8 and len({a.token for a in trail}) == 8
    [settled] = [a for a in trail if a.target_email == "slow@example.com"]
    assert settled.outcome_kind == "member_changed" and settled.outcome["checked"] is True
    member = next(m for m in sandbox.state.find_members() if m["email"] == "slow@example.com")
    assert (member["role"], member["team_role_bindings"]) == ("team_admin", [{"team_id": MONITORING}])


# ------------------------------------------------------------------------------------------ apply_plan itself


class FakeJunction:
    """Just what read_state asks for, counting the reads; no method that changes anything."""

    def __init__(self, state: OrgState):
        self.state = state
        self.reads = 0

    def iter_members(self):
        self.reads += 1
        return iter(self.state.members)

    def iter_invites(self):
        self.reads += 1
        return iter(self.state.invites)

    def iter_teams(self):
        self.reads += 1
        return iter(self.state.teams)


def _org(*members: Member, invites: tuple[Invite, ...] = ()) -> OrgState:
    return OrgState(members=members, invites=invites, teams=(Team(id="t1", name="Cardiology", region="us"),))


ADA = Member(id="m1", name="Ada", email="ada@example.com", role="org_admin", team_ids=(), created_on=None)
BOB = Member(id="m2", name="Bob", email="bob@example.com", role="no_role", team_ids=(), created_on=None)
CY = Member(id="m3", name="Cy", email="cy@example.com", role="no_role", team_ids=(), created_on=None)


@pytest.fixture
def quiet_app(app):
    woken: list[int] = []
    app.extensions["bulk_queue"].wake = woken.append  # no worker: the job is the test
    with app.app_context():
        yield app, woken


def _plan(state: OrgState, people: dict[str, str], manage=MANAGE_ALL):
    from invite.core.access import AccessFile, Person

    wanted = AccessFile(people=tuple(Person(email=e, role=r, team_ids=()) for e, r in people.items()),
                        manage=frozenset(manage), sha256="a" * 64)
    return compute_plan(wanted, state)


def test_apply_plan_refuses_each_way_with_what_the_caller_needs(quiet_app):
    app, woken = quiet_app
    who = Actor(email=ACTOR, role="admin", channel="web")
    state = _org(ADA, BOB, CY)
    plan = _plan(state, {"ada@example.com": "org_admin", "bob@example.com": "team_admin"})  # Cy removed

    # More removals than allowed: refused before Junction is read.
    fake = FakeJunction(state)
    with pytest.raises(access_apply.TooManyRemovals) as too_many:
        access_apply.apply_plan(IN_APP, plan, actor=who, client=fake, max_removals=0)
    assert fake.reads == 0
    assert [c.email for c in too_many.value.removals] == ["cy@example.com"] and too_many.value.allowed == 0
    assert too_many.value.code == "too_many_removals" and "at most 0 may be removed" in too_many.value.title

    # The org moved: Bob is no longer as the plan saw him.
    moved = FakeJunction(_org(ADA, Member(**{**BOB.__dict__, "role": "org_admin"}), CY))
    with pytest.raises(access_apply.PlanDrifted) as drifted:
        access_apply.apply_plan(IN_APP, plan, actor=who, client=moved, max_removals=1)
    assert drifted.value.moved == ("bob@example.com",)
    assert drifted.value.current_fingerprint != plan.fingerprint and drifted.value.state == moved.state
    assert drifted.value.title == "The org changed since this plan was made: plan again. Nothing was changed."

    # Outside the plan: a pending invitation appeared.
    someone = Invite(id="i1", email="new@example.com", role="no_role", team_ids=(), invited_at=None, resent_at=None,
                     creator=None)
    with pytest.raises(access_apply.PlanDrifted) as elsewhere:
        access_apply.apply_plan(IN_APP, plan, actor=who, client=FakeJunction(_org(ADA, BOB, CY, invites=(someone,))),
                                max_removals=1)
    assert elsewhere.value.moved == () and "does not touch changed" in elsewhere.value.text

    with pytest.raises(access_apply.NothingToApply):
        access_apply.apply_plan(IN_APP, _plan(state, {"ada@example.com": "org_admin", "bob@example.com": "no_role",
                                              "cy@example.com": "no_role"}), actor=who, client=FakeJunction(state),
                                max_removals=0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BulkJob)) == 0 and woken == []

    # Allowed: one job, its rows in the plan's order, woken once; the same plan again is AlreadyApplied.
    job_id = access_apply.apply_plan(IN_APP, plan, actor=who, client=FakeJunction(state), max_removals=1)
    assert woken == [job_id]
    job = db.session.get(BulkJob, job_id)
    assert (job.kind, job.plan_id, job.file_sha256, job.state) == ("access", plan.id, "a" * 64, "running")
    rows = list(db.session.scalars(sa.select(BulkRow).where(BulkRow.job_id == job_id).order_by(BulkRow.position)))
    assert [(r.operation, r.email, r.state) for r in rows] == [(UPDATE, "bob@example.com", "queued"),
                                                               (REMOVE, "cy@example.com", "queued")]
    assert rows[0].change["before"] == {"role": "no_role", "teams": []}
    with pytest.raises(access_apply.AlreadyApplied) as twice:
        access_apply.apply_plan(IN_APP, plan, actor=who, client=FakeJunction(state), max_removals=1)
    assert twice.value.job_id == job_id and woken == [job_id]


def test_promotions_go_before_the_demotions_and_removals_of_the_same_plan():
    state = _org(ADA, BOB, CY)
    plan = _plan(state, {"ada@example.com": "no_role", "bob@example.com": "org_admin", "cy@example.com": "no_role",
                         "dee@example.com": "no_role"})
    ordered = access_apply.job_order(plan.changes)
    assert [(c.kind, c.email) for c in ordered] == [(INVITE, "dee@example.com"), (UPDATE, "bob@example.com"),
                                                    (UPDATE, "ada@example.com")]
    assert set(KINDS) >= {c.kind for c in ordered}


def test_a_429_on_a_member_change_holds_the_job_for_retry_after_then_makes_it_once(app, sandbox, monkeypatch):
    """The bulk machinery's pacing holds for every kind of change: the member change Junction rate-limits goes
    back to the queue, nothing is sent before Retry-After, then it is made once (two trail rows: the 429's and
    the change's)."""
    from flask import Response

    from invite.bulk import jobs
    from invite.sandbox import member_scripts

    limited = sandbox.state.add_member("Rate Limited", "limited@example.com", "no_role")
    asked: list[tuple[float, str]] = []
    original = member_scripts.scripted_failure

    def once_rate_limited(email: str):
        asked.append((time.monotonic(), email))
        if email == "limited@example.com" and len([e for _, e in asked if e == email]) == 1:
            return Response('{"detail":"Too many requests"}', status=429, mimetype="application/json",
                            headers={"Retry-After": "2"})
        return original(email)

    monkeypatch.setattr(member_scripts, "scripted_failure", once_rate_limited)
    client = app.extensions["upstream"].client
    app.extensions["bulk_queue"].wake = lambda job_id: None  # run below, in this process
    with app.app_context():
        plan = plan_for(client, changes={"limited@example.com": ("org_admin", []),
                                         "sam.oconnor@acmehealth.com": ("team_admin", [CARDIOLOGY])})
        job_id = access_apply.apply_plan(IN_APP, plan, actor=Actor(email=ACTOR, role="admin", channel="cli"),
                                         client=client, max_removals=0)
    assert jobs.run_job(app, job_id) == "done"
    with app.app_context():
        trail = list(db.session.scalars(db.select(Action).where(Action.bulk_job_id == job_id).order_by(Action.id)))
        job = db.session.get(BulkJob, job_id)
        assert job.state == "done"
    assert [(a.target_email, a.outcome_kind) for a in trail] == [
        ("limited@example.com", "rate_limited"), ("limited@example.com", "member_changed"),
        ("sam.oconnor@acmehealth.com", "member_changed")]
    patches = [(e["path"], e["status"]) for e in sandbox.state.requests_log() if e["method"] == "PATCH"]
    assert [status for _, status in patches] == [429, 200, 200] and patches[0][0].endswith(limited["id"])
    # Nothing at all was changed while Junction's Retry-After ran.
    limited_at = asked[0][0]
    assert all(at - limited_at >= 1.8 for at, _ in asked[1:]), asked


def test_a_file_that_is_not_a_plan_says_so_and_changes_nothing(app, sandbox, tmp_path):
    def apply(text: str, *args: str):
        path = tmp_path / "plan.json"
        path.write_text(text, encoding="utf-8")
        return app.test_cli_runner().invoke(args=["invite", "access", "apply", str(path), "--as", ACTOR, *args],
                                            env={"INVITE_ACTOR": None, "NO_COLOR": None})

    cases = {"{not json": "plan.json: not JSON (line 1, column 2",
             '{"format": 9}': "plan.json: not a plan this version can read (format 9).",
             '{"format": 1, "changes": []}': "plan.json: not a plan: a field a plan has is missing"}
    for text, said in cases.items():
        result = apply(text)
        assert result.exit_code == exits.NOT_DONE, result.output
        assert said in result.stderr and "nothing was changed" in result.stderr and result.exception is not None
        assert isinstance(result.exception, SystemExit)
    assert sandbox.state.requests_log() == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(BulkJob)) == 0
    as_json = apply("[]", "--json")
    assert json.loads(as_json.stdout)["outcome"] == "bad_plan"
