"""Three gaps of access as code (issue 27), each closed by a test that fails when the code is broken:

- an access job's row whose outcome stayed unknown (Junction's answer to a send, a member change, a revoke or
  a removal was lost, and so was the check after it) is retried by "Retry unknown" without making any change
  twice: the retry settles the row from Junction's lists first, so a change already made is recorded as made
  and one not made is made once;
- invite.activity.history.inviters, the export's "invited by … through this dashboard", on SQLite and
  PostgreSQL: more addresses than one batch, addresses without case, the earliest send after which the
  invitation went out;
- the export of a member whose team Junction no longer lists: the comment names what was left out, and the
  plan of the exported file then shows exactly that team's removal for them, nothing else.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
import requests

from invite.adapters.storage import Action, db, utcnow
from invite.adapters.unit_of_work import FLASK
from invite.bulk import jobs
from invite.bulk.models import BulkJob, BulkRow
from invite.core.access import INVITE, REINVITE, REMOVE, REVOKE, UPDATE, compute_plan
from invite.core.actor import Actor
from invite.services import access_apply
from invite.services.access import read_state
from tests.access_support import file_as_org_is
from tests.conftest import app_env, make_app
from tests.scripted_upstream import Received, Reply, ScriptedUpstream
from tests.test_access_apply import ACTOR, CARDIOLOGY, DIABETES, MANAGE_ALL

# ------------------------------------------------------------------------------ 1. retry of unknown rows


class LosingProxy:
    """Junction (the sandbox) behind a proxy that loses the answer to chosen changes, then fails the checks
    made for that address (a search of the member or invitation lists) until `heal`: the row stays unknown.

    `lose[(method, key)]` (key: the POST's address, else the last segment of the path) is "after" (the sandbox
    makes the change, the answer is lost) or "before" (the request never reaches the sandbox, the connection is
    reset all the same). Each rule strikes once."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.session = requests.Session()
        self.lose: dict[tuple[str, str], str] = {}
        self.blind: set[str] = set()
        self.writes: list[tuple[str, str]] = []  # every change asked of the proxy, lost or not
        self.upstream = ScriptedUpstream()
        self.upstream.handler = self.handle

    def handle(self, request: Received) -> Reply:
        if request.method == "GET":
            searched = (request.query.get("search_query") or [""])[0].strip().lower()
            if searched and searched in self.blind:
                return Reply(503, json={"detail": "Service unavailable"})
            return self.forward(request)
        key = request.json()["email"].strip().lower() if request.method == "POST" else request.path.rsplit("/", 1)[1]
        self.writes.append((request.method, key))
        mode = self.lose.pop((request.method, key), None)
        if mode is None:
            return self.forward(request)
        self.blind.add(self.email_of(request))  # before the change: a removed member's id is gone after
        if mode == "after":
            self.forward(request)
        return Reply.reset()

    def email_of(self, request: Received) -> str:
        if request.method == "POST":
            return request.json()["email"].strip().lower()
        key = request.path.rsplit("/", 1)[1]
        everyone = [*self.sandbox.state.find_members(), *self.sandbox.state.find_invites()]
        return next(p["email"].lower() for p in everyone if p["id"] == key)

    def forward(self, request: Received) -> Reply:
        headers = {k: v for k, v in request.headers.items() if k not in ("host", "content-length", "connection")}
        answer = self.session.request(request.method, self.sandbox.base_url + request.target, headers=headers,
                                      data=request.body or None, timeout=30)
        kept = {k: v for k, v in answer.headers.items() if k.lower() in ("content-type", "retry-after")}
        return Reply(answer.status_code, body=answer.content, headers=kept)

    def heal(self) -> None:
        self.blind.clear()

    def close(self) -> None:
        self.upstream.stop()
        self.session.close()


@pytest.fixture
def proxied(sandbox, tmp_path):
    proxy = LosingProxy(sandbox)
    # The send limits would hold back a retry within a minute of the lost send: this test is about the retry.
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'invite.db'}",
                           JUNCTION_API_BASE_URL=proxy.upstream.base_url, INVITE_RESEND_MIN_INTERVAL_SECONDS="0"))
    app.extensions["bulk_queue"].wake = lambda job_id: None  # the test runs the job, in this process
    try:
        yield app, proxy
    finally:
        app.extensions["upstream"].client.close()
        proxy.close()


def _id_of(sandbox, email: str) -> str:
    everyone = [*sandbox.state.find_members(), *sandbox.state.find_invites()]
    return next(p["id"] for p in everyone if p["email"].lower() == email)


def test_retrying_unknown_rows_settles_them_first_and_makes_no_change_twice(proxied, sandbox):
    app, proxy = proxied
    client = app.extensions["upstream"].client
    # Of each kind one change whose answer is lost after Junction made it ("after") and one lost on its way
    # ("before"): every row of the job ends unknown.
    wanted = {
        "made.invite@example.com": ("no_role", []), "lost.invite@example.com": ("no_role", []),
        "sam.oconnor@acmehealth.com": ("team_admin", [CARDIOLOGY]),
        "jordan.blake@acmehealth.com": ("team_admin", [DIABETES]),
        "noor.haddad@acmehealth.com": ("team_admin", [DIABETES]),
        "olusegun.adeyemi@acmehealth.com": ("team_admin", [CARDIOLOGY]),
        "r.kowalski@partner-clinic.eu": None, "anna.berg@acmehealth.eu": None,  # revoked
        "lena.fischer@acmehealth.eu": None, "tomas.alvarez@acmehealth.eu": None,  # removed
    }
    made = {"made.invite@example.com", "sam.oconnor@acmehealth.com", "noor.haddad@acmehealth.com",
            "r.kowalski@partner-clinic.eu", "lena.fischer@acmehealth.eu"}
    method = {INVITE: "POST", REINVITE: "POST", UPDATE: "PATCH", REVOKE: "DELETE", REMOVE: "DELETE"}
    with app.app_context():
        wanted_file = file_as_org_is(client, changes=wanted, manage=MANAGE_ALL)
        plan = compute_plan(wanted_file, read_state(client), source="access.yaml")
        assert Counter(c.kind for c in plan.changes) == {INVITE: 2, UPDATE: 2, REINVITE: 2, REVOKE: 2, REMOVE: 2}
        keys = {}
        for change in plan.changes:
            key = change.email if method[change.kind] == "POST" else (change.member_id or change.invite_id)
            keys[change.email] = (method[change.kind], key)
            proxy.lose[keys[change.email]] = "after" if change.email in made else "before"
        job_id = access_apply.apply_plan(FLASK, plan, actor=Actor(email=ACTOR, role="admin", channel="cli"),
                                         client=client, max_removals=2)
    assert jobs.run_job(app, job_id) == "done"
    with app.app_context():
        rows = jobs.job_rows(job_id)
        assert {r.email: r.outcome_kind for r in rows} == dict.fromkeys(wanted, "unknown"), \
            [(r.email, r.outcome_kind, r.message) for r in rows]
        assert jobs.unknown_count(job_id) == 10
    assert not proxy.lose  # every rule struck

    # Retried while Junction's lists still cannot be read: nothing is made, every row stays unknown.
    writes = len(proxy.writes)
    with app.app_context():
        assert jobs.retry_unknown(job_id, Actor(email=ACTOR, role="admin", channel="web")) == 10
    assert jobs.run_job(app, job_id) == "done"
    assert proxy.writes[writes:] == []
    with app.app_context():
        assert jobs.unknown_count(job_id) == 10

    # Junction answers again; a person retries the unknown rows.
    proxy.heal()
    sandbox_log_before = len(sandbox.state.requests_log())
    with app.app_context():
        assert jobs.retry_unknown(job_id, Actor(email=ACTOR, role="admin", channel="web")) == 10
    assert jobs.run_job(app, job_id) == "done"

    # Every change reached Junction exactly once over the whole job: the ones made while their answer was
    # lost were not made again, the ones lost on their way were made by the retry.
    asked = Counter(proxy.writes)
    for email, key in keys.items():
        assert asked[key] == (1 if email in made else 2), (email, proxy.writes)
    retried = [(e["method"], e["path"]) for e in sandbox.state.requests_log()[sandbox_log_before:]
               if e["method"] != "GET"]
    assert len(retried) == 5, retried
    with app.app_context():
        assert compute_plan(wanted_file, read_state(client)).changes == ()  # Junction is as the file says
        rows = jobs.job_rows(job_id)
        job = db.session.get(BulkJob, job_id)
        status = jobs.job_status(job_id)
        assert job.state == "done" and status.counts["sent"] == 10, [(r.email, r.outcome_kind, r.message)
                                                                     for r in rows if r.outcome_kind not in (
                                                                         "invite_created", "confirmed_pending")]
        # The rows made before the retry say so: settled from Junction's lists, not made again.
        settled = {r.email: db.session.get(Action, r.action_id) for r in rows if r.email in made}
        for email, action in settled.items():
            assert action.outcome_kind in ("confirmed_pending", "invite_resent", "member_changed", "revoked",
                                           "member_removed"), (email, action.outcome_kind, action.outcome)
        trail = list(db.session.scalars(db.select(Action).where(Action.bulk_job_id == job_id)))
        assert len(trail) == 30 and Counter(a.outcome_kind for a in trail)["unknown"] == 20
        assert all(r.attempts == 3 for r in db.session.scalars(db.select(BulkRow).where(BulkRow.job_id == job_id)))


# ------------------------------------------------------------------------------ 2. inviters, on both databases


@pytest.fixture
def trail_app(sandbox, database_url):
    app = make_app(app_env(sandbox, database_url))
    with app.app_context():
        yield app
        db.session.remove()
    app.extensions["upstream"].client.close()


def _sends(rows: list[dict]) -> None:
    base = {"state": "done", "actor_role": "admin", "teams": [], "channel": "web", "role": "no_role"}
    db.session.execute(Action.__table__.insert(), [{**base, **row} for row in rows])
    db.session.commit()


def test_inviters_finds_the_earliest_send_that_went_out_for_many_addresses_without_case(trail_app, database_url):
    from invite.activity.history import inviters

    t0 = utcnow() - timedelta(days=3)
    rows: list[dict] = []
    addresses = [f"Person.{i:04d}@Example.COM" for i in range(1203)]  # more than two batches of 500
    for i, address in enumerate(addresses):
        if i % 10 == 9:
            continue  # nobody invited them through this dashboard
        stored = address if i % 2 else address.lower()  # the trail keeps addresses as typed
        at = t0 + timedelta(seconds=i)
        rows += [
            # A send that did not go out, earlier: not who invited them.
            {"token": f"bad-{i}", "action": "send", "target_email": stored, "outcome_kind": "validation_error",
             "actor_email": "refused@acme.test", "created_at": at - timedelta(hours=1)},
            {"token": f"first-{i}", "action": "send", "target_email": stored, "outcome_kind": "invite_created",
             "actor_email": f"first{i}@acme.test", "created_at": at},
            {"token": f"again-{i}", "action": "resend", "target_email": stored.upper(),
             "outcome_kind": "invite_resent", "actor_email": "later@acme.test", "created_at": at + timedelta(hours=2)},
            {"token": f"revoke-{i}", "action": "revoke", "target_email": stored, "outcome_kind": "revoked",
             "actor_email": "revoker@acme.test", "created_at": at - timedelta(hours=2)},
        ]
    # An invitation confirmed after a lost answer counts; two sends at the same moment: the first recorded.
    rows += [
        {"token": "lost", "action": "send", "target_email": "Lost@Example.com", "outcome_kind": "confirmed_pending",
         "actor_email": "lost@acme.test", "created_at": t0},
        {"token": "tie-1", "action": "send", "target_email": "tie@example.com", "outcome_kind": "invite_created",
         "actor_email": "one@acme.test", "created_at": t0},
        {"token": "tie-2", "action": "send", "target_email": "TIE@example.com", "outcome_kind": "invite_created",
         "actor_email": "two@acme.test", "created_at": t0},
    ]
    _sends(rows)
    asked = [*(a if i % 3 else f"  {a.upper()} " for i, a in enumerate(addresses)), "lost@example.COM",
             "Tie@Example.com", "nobody@example.com"]
    expected = {a.lower(): f"first{i}@acme.test" for i, a in enumerate(addresses) if i % 10 != 9}
    expected |= {"lost@example.com": "lost@acme.test", "tie@example.com": "one@acme.test"}
    for batch in (500, 7, 5000):
        found = inviters(asked, batch=batch)
        assert {key: row.actor_email for key, row in found.items()} == expected, (database_url, batch)
    assert inviters([]) == {}
    # The export's comment is built from the row found: the first send's own address as the trail keeps it.
    assert inviters(["person.0001@example.com"])["person.0001@example.com"].target_email == addresses[1]


# ------------------------------------------------------------------------------ 3. a team Junction no longer lists


def test_the_export_says_which_team_it_left_out_and_the_plan_shows_only_its_removal(sandbox, tmp_path):
    from tests.test_access_apply import MONITORING
    from tests.test_cli_process import command_env, run

    database_url = f"sqlite:///{tmp_path / 'invite.db'}"
    make_app(app_env(sandbox, database_url))
    env = command_env(sandbox, database_url)
    # Remote Patient Monitoring is deleted from Junction's team list; Priya (a member, Team admin of Cardiology
    # and of it) and Devon (invited as Team admin of Diabetes Program and of it) still carry its id.
    with sandbox.state.lock:
        sandbox.state.teams = [t for t in sandbox.state.teams if t["id"] != MONITORING]
    carrying = {"priya.natarajan@acmehealth.com", "devon.price@acmehealth.com"}

    exported = run(env, "access", "export")
    assert exported.returncode == 0, exported.stderr
    lines = exported.stdout.splitlines()
    for email in carrying:
        [line] = [x for x in lines if f"- email: {email}" in x]
        # The comment names what was left out, by the only name Junction still gives it: its id.
        assert line.endswith(f"left out teams the org does not list: {MONITORING}"), line
    noted = [x for x in lines if "left out teams" in x]
    assert len(noted) == 2, noted
    priya = lines[lines.index(next(x for x in lines if "- email: priya.natarajan" in x)) + 2]
    assert priya.strip() == "teams: [Cardiology]"
    path = tmp_path / "access.yaml"
    path.write_text(exported.stdout, encoding="utf-8")

    planned = run(env, "access", "plan", str(path), "--json")
    assert planned.returncode == 2, (planned.stdout, planned.stderr)  # something would change
    plan = json.loads(planned.stdout)
    changes = {c["email"]: c for c in plan["changes"]}
    assert set(changes) == carrying and {k: n for k, n in plan["counts"].items() if n} == {"update": 1, "reinvite": 1}
    for change in changes.values():
        before, after = change["before"], change["after"]
        # The same role; the teams before are exactly the teams after plus the deleted one (named by its id).
        assert before["role"] == after["role"] == "team_admin", change
        assert before["teams"] == sorted([*after["teams"], {"id": MONITORING, "name": MONITORING}],
                                         key=lambda t: t["id"]), change
        assert MONITORING not in {t["id"] for t in after["teams"]}
    assert changes["priya.natarajan@acmehealth.com"]["kind"] == "update"
    assert changes["devon.price@acmehealth.com"]["kind"] == "reinvite"
    assert plan["left_alone"] == []

    # In words, a reviewer reads the removal of that one team.
    worded = run(env, "access", "plan", str(path))
    assert worded.returncode == 2, worded.stderr
    assert (f"Change Priya Natarajan <priya.natarajan@acmehealth.com>: Team admin of {MONITORING} and Cardiology "
            "→ Team admin of Cardiology  (line") in worded.stdout, worded.stdout
    assert (f"Re-invite devon.price@acmehealth.com: Team admin of {MONITORING} and Diabetes Program → Team admin "
            "of Diabetes Program  (line") in worded.stdout
    assert "2 changes: 1 to change, 1 to re-invite." in worded.stdout
