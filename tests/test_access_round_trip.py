"""Access as code end to end, as an operator runs it (issue 27's round trip): `invite access export` writes
the org as a file; the org then moves (a role changed, an invitation revoked, a stray one sent, a newcomer
joined); `plan` of the exported file lists the way back and exits 2; `apply` of that saved plan, carried out by
a real worker, takes the org back; and the plan then says nothing would change (exit 0). Every step is the
real command line in a subprocess, against the sandbox over HTTP."""

from __future__ import annotations

import json
import uuid
from collections import Counter

import pytest

from invite.cli import exits
from invite.core.access import INVITE, REVOKE, UPDATE
from tests.test_access_apply import ACTOR, Setup, changes_made

PLAN_CHANGES = 2  # `invite access plan`'s exit code when something would change (Terraform's -detailed-exitcode)


@pytest.fixture
def setup(sandbox, tmp_path):
    ready = Setup(sandbox, tmp_path, f"sqlite:///{tmp_path / 'invite.db'}")
    try:
        yield ready
    finally:
        ready.close()


def test_export_then_the_org_moves_then_plan_and_apply_take_it_back_and_plan_says_nothing(setup, sandbox):
    exported = setup.invite("access", "export")
    assert exported.returncode == exits.DONE, exported.stderr
    access_file = setup.tmp_path / "access.yaml"
    access_file.write_text(exported.stdout, encoding="utf-8")

    unchanged = setup.invite("access", "plan", str(access_file))
    assert unchanged.returncode == exits.DONE, (unchanged.stdout, unchanged.stderr)
    assert "No changes." in unchanged.stdout

    # The org moves behind the file's back, as it would through Junction's own dashboard.
    state = sandbox.state
    [sam] = [m for m in state.find_members() if m["email"] == "sam.oconnor@acmehealth.com"]
    assert sam["role"] == "no_role"
    state.update_member(uuid.UUID(sam["id"]), "org_admin", None)
    kowalski = state.find_invite_by_email("r.kowalski@partner-clinic.eu")
    assert kowalski is not None
    state.revoke_invite(uuid.UUID(kowalski["id"]))
    state.create_or_resend_invite("stray.invite@example.com", "no_role", [])
    state.add_member("New Joiner", "new.joiner@acmehealth.com")  # not in the file: left alone, removals unmanaged
    before_apply = len(state.requests_log())

    plan_path = setup.tmp_path / "plan.json"
    planned = setup.invite("access", "plan", str(access_file), "--out", str(plan_path))
    assert planned.returncode == PLAN_CHANGES, (planned.stdout, planned.stderr)
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    assert Counter(c["kind"] for c in plan["changes"]) == {UPDATE: 1, INVITE: 1, REVOKE: 1}
    assert [c["email"] for c in plan["left_alone"]] == ["new.joiner@acmehealth.com"]
    assert "sam.oconnor@acmehealth.com" in planned.stdout and "new.joiner@acmehealth.com" in planned.stdout
    assert changes_made(sandbox, before_apply) == [], "planning must change nothing"

    setup.worker.start()
    applied = setup.invite("access", "apply", str(plan_path), "--as", ACTOR, "--wait", "--timeout", "120")
    assert applied.returncode == exits.DONE, (applied.stdout, applied.stderr, setup.worker.log()[-3000:])
    assert Counter(method for method, _ in changes_made(sandbox, before_apply)) == {"PATCH": 1, "POST": 1,
                                                                                   "DELETE": 1}

    settled = setup.invite("access", "plan", str(access_file))
    assert settled.returncode == exits.DONE, (settled.stdout, settled.stderr)
    assert "No changes." in settled.stdout
    [sam_now] = [m for m in state.find_members() if m["email"] == "sam.oconnor@acmehealth.com"]
    assert sam_now["role"] == "no_role"
    assert state.find_invite_by_email("stray.invite@example.com") is None
    assert state.find_invite_by_email("r.kowalski@partner-clinic.eu") is not None
    assert any(m["email"] == "new.joiner@acmehealth.com" for m in state.find_members())
