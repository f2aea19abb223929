"""/access through the real app, the real client and the sandbox on loopback: admins only (support gets the 403
in the admin role's words), CSRF, a file's mistakes each with its line and the upload's name, the plan as a
grouped diff with its counts, and the one-time confirmation: a forged, foreign or reused token refused, removals
only when allowed, a plan refused once the org moved since ("plan again"), and the applied plan's job."""

from __future__ import annotations

import html
import re
import socket
from datetime import UTC, datetime, timedelta

import pytest
from conftest import app_env, make_app

from invite.access_pages import forms
from invite.adapters import access_records as records
from invite.adapters.access_records import AccessPlanRecord
from invite.adapters.storage import db
from invite.bulk.models import BulkJob

PROXY = "10.0.0.9"
ADMIN = {"X-Forwarded-Email": "ada@corp.example", "X-Forwarded-Groups": "staff,junction-admins"}
OTHER_ADMIN = {"X-Forwarded-Email": "grace@corp.example", "X-Forwarded-Groups": "junction-admins"}
SUPPORT = {"X-Forwarded-Email": "sam@corp.example", "X-Forwarded-Groups": "staff,helpdesk"}

# The sandbox's org: Priya is a Team admin of Cardiology and Remote Patient Monitoring, Jordan has no role, and
# kofi.mensah@ holds a pending invitation as Team admin of Cardiology.
FILE = b"""\
people:
  - email: priya.natarajan@acmehealth.com
    role: team_admin
    teams: [Cardiology]
  - email: jordan.blake@acmehealth.com
    role: org_admin
  - email: kofi.mensah@acmehealth.com
    role: team_admin
    teams: [Cardiology, Sleep Clinic]
  - email: new.hire@acmehealth.com
    role: no_role
"""


@pytest.fixture
def access_file(tmp_path):
    path = tmp_path / "access.yaml"
    path.write_bytes(FILE)
    return path


@pytest.fixture
def app(sandbox, tmp_path, access_file):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'access-pages.db'}", AUTH_MODE="header",
                           AUTH_TRUSTED_PROXIES="10.0.0.0/24", ADMIN_GROUPS="junction-admins",
                           SUPPORT_GROUPS="helpdesk", ACCESS_FILE=str(access_file)))
    yield app
    app.extensions["upstream"].client.close()


def as_(app, headers):
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": PROXY, **{f"HTTP_{k.upper().replace('-', '_')}": v
                                                         for k, v in headers.items()}})
    return client


def text(response) -> str:
    words = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))
    return re.sub(r" ([,.])", r"\1", words)


def csrf(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/access").get_data(as_text=True))[1]


def hidden(page: str) -> dict[str, str]:
    form = page[page.index('action="/access/apply"'):]
    return {n: html.unescape(v) for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)}


def upload(client, data: bytes, name: str = "access.yaml"):
    from io import BytesIO

    return client.post("/access/plan", data={"csrf_token": csrf(client), "file": (BytesIO(data), name)},
                       content_type="multipart/form-data")


def plan_through_the_page(client, data: bytes = FILE):
    answer = upload(client, data)
    assert answer.status_code == 303, text(answer)
    return client.get(answer.headers["Location"])


def jobs(app) -> list[BulkJob]:
    with app.app_context():
        found = list(db.session.scalars(db.select(BulkJob)))
        db.session.commit()
    return found


def plan_row(app, plan_id: str) -> AccessPlanRecord:
    with app.app_context():
        return records.get_plan(plan_id)


def test_support_gets_the_403_in_the_admin_roles_words_and_no_nav_entry(app, sandbox):
    support = as_(app, SUPPORT)
    token = re.search(r'name="csrf_token" value="([^"]+)"', support.get("/invitations").get_data(as_text=True))[1]
    before = len(sandbox.state.requests_log())
    answer = support.get("/access")
    assert answer.status_code == 403
    shown = text(answer)
    assert "You need the admin role for this" in shown
    assert "cannot plan and apply the org's access file" in shown
    for path in ("/access/plan", "/access/apply"):
        assert support.post(path, data={"csrf_token": token, "source": "setting"}).status_code == 403
    assert support.get("/access/plan?id=" + "0" * 32).status_code == 403
    assert len(sandbox.state.requests_log()) == before  # Junction never asked on their behalf
    assert 'href="/access"' not in support.get("/invitations").get_data(as_text=True)
    assert 'href="/access"' in as_(app, ADMIN).get("/invitations").get_data(as_text=True)


def test_a_post_without_the_csrf_token_is_refused_and_plans_nothing(app):
    admin = as_(app, ADMIN)
    assert admin.post("/access/plan", data={"source": "setting"}).status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(AccessPlanRecord)) == 0


def test_the_plan_is_a_grouped_diff_with_its_counts(app):
    page = plan_through_the_page(as_(app, ADMIN))
    shown = text(page)
    assert page.status_code == 200
    assert "Plan for access.yaml" in shown and "Nothing has changed yet" in shown
    # invite.core.access_words' summary, as `invite access plan` prints it
    assert "15 changes: 1 to invite, 2 to change, 1 to re-invite, 11 to revoke. 6 not in the file, left alone." in shown
    invite = shown[shown.index("To invite (1)"):shown.index("To change (2)")]
    assert "new.hire@acmehealth.com 10 Invited as No role" in invite
    change = shown[shown.index("To change (2)"):shown.index("To re-invite with the file's role and teams (1)")]
    assert "jordan.blake@acmehealth.com Jordan Blake 5 No role → Org admin" in change
    assert "priya.natarajan@acmehealth.com Priya Natarajan 2 Teams taken away: Remote Patient Monitoring" in change
    reinvite = shown[shown.index("To re-invite with the file's role and teams (1)"):shown.index("To revoke")]
    assert "kofi.mensah@acmehealth.com 7 Teams added: Sleep Clinic" in reinvite
    left = shown[shown.index("Not in the file, left alone"):]
    assert "dana.whitfield@acmehealth.com Dana Whitfield not in the file Keeps Org admin" in left
    assert "To revoke (pending, not in the file) (11)" in shown  # the other pending invitations
    assert "anna.berg@acmehealth.eu not in the file Invitation as Org admin revoked" in shown
    assert 'data-count="invite">1<' in page.get_data(as_text=True)
    assert "Apply these" in shown and "allow_removals" not in page.get_data(as_text=True)


def test_file_errors_show_each_with_its_line_and_the_uploads_name(app, sandbox):
    bad = (b"people:\n  - email: not-an-address\n    role: team_admin\n    teams: [Cardiologyy]\n"
           b"  - email: a@b.example\n    role: boss\n")
    answer = upload(as_(app, ADMIN), bad, name="team-access.yaml")
    assert answer.status_code == 422
    shown = text(answer)
    assert "team-access.yaml has 3 problems; nothing was planned." in shown
    assert "Line 2: “not-an-address” is not an email address" in shown
    assert "Line 4: The org has no team named “Cardiologyy”. Did you mean Cardiology?" in shown
    assert "Line 6: “boss” is not a role" in shown
    assert "Last chosen: team-access.yaml" in shown
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(AccessPlanRecord)) == 0


def test_no_file_chosen_says_so(app):
    admin = as_(app, ADMIN)
    answer = admin.post("/access/plan", data={"csrf_token": csrf(admin)})
    assert answer.status_code == 422 and "Choose the access file to plan" in text(answer)


def test_junction_unreachable_plans_nothing_and_says_so(sandbox, tmp_path, access_file):
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'dead.db'}", ACCESS_FILE=str(access_file),
                           JUNCTION_API_BASE_URL=f"http://127.0.0.1:{dead}"))
    try:
        client = app.test_client()
        answer = client.post("/access/plan", data={"csrf_token": csrf(client), "source": "setting"})
    finally:
        app.extensions["upstream"].client.close()
    assert answer.status_code == 502
    shown = text(answer)
    assert "Nothing was planned: the org could not be read from Junction" in shown
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(AccessPlanRecord)) == 0


def test_the_setting_plans_access_file_and_the_confirmation_applies_that_plan_once(app, sandbox):
    admin = as_(app, ADMIN)
    answer = admin.post("/access/plan", data={"csrf_token": csrf(admin), "source": "setting"})
    assert answer.status_code == 303
    page = admin.get(answer.headers["Location"])
    fields = hidden(page.get_data(as_text=True))
    done = admin.post("/access/apply", data=fields)
    assert done.status_code == 303 and re.fullmatch(r"/bulk/\d+", done.headers["Location"])
    [job] = jobs(app)
    assert done.headers["Location"] == f"/bulk/{job.id}" and job.created_by == "ada@corp.example"
    row = plan_row(app, fields["plan_id"])
    assert (row.state, row.job_id, row.applied_by) == (records.APPLIED, job.id, "ada@corp.example")
    # The same confirmation again (a second click, a second tab, a replay): refused, nothing more applied.
    again = admin.post("/access/apply", data=fields, follow_redirects=True)
    assert "This plan was confirmed already: nothing more was applied." in text(again)
    assert f"Follow job {job.id}" in text(again)
    assert len(jobs(app)) == 1


@pytest.mark.parametrize("forge", ["made_up", "another_plan", "another_admin", "missing"])
def test_a_forged_or_foreign_confirmation_token_is_refused(app, forge):
    admin = as_(app, ADMIN)
    fields = hidden(plan_through_the_page(admin).get_data(as_text=True))
    other = hidden(plan_through_the_page(admin).get_data(as_text=True))
    fields["submission_token"] = {
        "made_up": "r-" + "A" * 38,
        "another_plan": other["submission_token"],
        "another_admin": forms.issue_apply_token(app.secret_key, fields["plan_id"], OTHER_ADMIN["X-Forwarded-Email"]),
        "missing": "",
    }[forge]
    answer = admin.post("/access/apply", data=fields, follow_redirects=True)
    assert "The confirmation had expired or was not issued here: nothing was applied." in text(answer)
    assert jobs(app) == [] and plan_row(app, fields["plan_id"]).state == records.PLANNED


def test_a_plan_is_refused_once_the_org_moved_and_planned_again_on_request(app, sandbox):
    admin = as_(app, ADMIN)
    fields = hidden(plan_through_the_page(admin).get_data(as_text=True))
    sandbox.state.add_member("Late Joiner", "late.joiner@acmehealth.com")  # the org moves meanwhile
    answer = admin.post("/access/apply", data=fields)
    assert answer.status_code == 409
    shown = text(answer)
    assert "The org changed since this plan was made: plan again. Nothing was changed." in shown
    assert "Plan again" in shown
    assert jobs(app) == [] and plan_row(app, fields["plan_id"]).state == records.DRIFTED
    assert admin.post("/access/apply", data=fields).status_code == 303  # never applicable again
    assert jobs(app) == []
    again = admin.post("/access/plan", data={"csrf_token": csrf(admin), "plan_id": fields["plan_id"]})
    assert again.status_code == 303
    page = admin.get(again.headers["Location"])
    assert "late.joiner@acmehealth.com" in text(page)  # against the org as it is now, from the same file
    fresh = hidden(page.get_data(as_text=True))
    assert fresh["plan_id"] != fields["plan_id"]
    # The same file's bytes: the same sha256 as the first plan's, as `invite access plan` would give.
    assert plan_row(app, fresh["plan_id"]).plan["file_sha256"] == plan_row(app, fields["plan_id"]).plan["file_sha256"]
    assert admin.post("/access/apply", data=fresh).status_code == 303 and len(jobs(app)) == 1


def test_removals_need_the_explicit_allowance(app):
    admin = as_(app, ADMIN)
    page = plan_through_the_page(admin, b"manage: [invites, members, removals]\n" + FILE)
    shown = text(page)
    assert "This plan removes 6 people from the org." in shown and "Allow these 6 removals" in shown
    fields = hidden(page.get_data(as_text=True))
    refused = admin.post("/access/apply", data=fields)
    assert refused.status_code == 422
    assert "This plan removes 6 people from the org. Tick the box to allow them" in text(refused)
    assert jobs(app) == [] and plan_row(app, fields["plan_id"]).state == records.PLANNED
    assert admin.post("/access/apply", data={**fields, "allow_removals": "5"}).status_code == 422
    done = admin.post("/access/apply", data={**fields, "allow_removals": "6"})
    assert done.status_code == 303 and len(jobs(app)) == 1


def test_plans_nobody_applied_are_dropped_after_30_days(app):
    admin = as_(app, ADMIN)
    old = hidden(plan_through_the_page(admin).get_data(as_text=True))["plan_id"]
    applied = hidden(plan_through_the_page(admin).get_data(as_text=True))
    assert admin.post("/access/apply", data=applied).status_code == 303
    with app.app_context():
        db.session.execute(db.update(AccessPlanRecord).values(
            created_at=datetime.now(UTC) - records.KEEP_UNAPPLIED - timedelta(minutes=1)))
        db.session.commit()
    plan_through_the_page(admin)
    assert plan_row(app, old) is None and plan_row(app, applied["plan_id"]).state == records.APPLIED


def test_an_unknown_plan_is_a_404_with_the_way_back(app):
    answer = as_(app, ADMIN).get("/access/plan?id=" + "f" * 32)
    assert answer.status_code == 404 and "No such plan." in text(answer)
    assert as_(app, ADMIN).get("/access/plan?id=%2E%2E%2F%2E%2E%2Fetc").status_code == 404


def test_the_latest_drift_check_is_shown(app, access_file):
    from invite.services import access_drift

    admin = as_(app, ADMIN)
    assert "Not checked yet. The worker compares the org with access.yaml every hour." in text(admin.get("/access"))
    with app.app_context():
        access_drift.check(app.extensions["upstream"].client, access_file)
    shown = text(admin.get("/access"))
    assert "Drift from access.yaml" in shown
    assert re.search(r"\d+ people differ from the file, checked less than a minute ago\.", shown), shown
    access_file.write_bytes(b"people:\n  - email: x@y.example\n    role: chief\n")
    with app.app_context():
        access_drift.check(app.extensions["upstream"].client, access_file)
    shown = text(admin.get("/access"))
    assert "could not compare the org with the file" in shown and "line 3: “chief” is not a role" in shown
    assert re.search(r"The check before, \d+ people differ from the file, found less than a minute ago", shown)


def test_one_confirmation_of_a_plan_wins_however_many_race(sandbox, database_url):
    """claim_plan is one conditional UPDATE: of eight confirmations at once, on SQLite and PostgreSQL, one
    applies the plan; after a refusal that applied nothing the plan can be confirmed again."""
    import threading

    app = make_app(app_env(sandbox, database_url))
    try:
        with app.app_context():
            records.save_plan({"id": "a" * 32, "changes": []}, actor_email="ada@corp.example", source="access.yaml",
                              file_text="people: []\n")
        won, start = [], threading.Barrier(8)

        def confirm():
            with app.app_context():
                start.wait()
                if records.claim_plan("a" * 32, "ada@corp.example"):
                    won.append(1)

        threads = [threading.Thread(target=confirm) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(won) == 1
        with app.app_context():
            assert records.get_plan("a" * 32).state == records.APPLYING
            records.settle_plan("a" * 32, records.PLANNED)
            assert records.claim_plan("a" * 32, "ada@corp.example")
            records.settle_plan("a" * 32, records.APPLIED, 7)
            row = records.get_plan("a" * 32)
            assert (row.state, row.job_id, row.applied_by) == (records.APPLIED, 7, "ada@corp.example")
            assert not records.claim_plan("a" * 32, "ada@corp.example")
    finally:
        app.extensions["upstream"].client.close()
