"""An access job's page (/bulk/N) in headless Chromium at 1280 and 390 px: each row says what change it is,
the plan and the file's hash are named, a change a guard refused says why; axe-core clean, no sideways scroll.
The plan is applied by apply_plan and run by jobs.run_job in the test's process, against the sandbox."""

from __future__ import annotations

import pytest
from access_support import plan_for
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from invite.adapters.unit_of_work import FLASK
from invite.bulk import jobs
from invite.core.actor import Actor
from invite.services.access_apply import apply_plan

# chromium_browser, serve, live, new_context, page: see tests/browser_fixtures.py
pytest_plugins = ["browser_fixtures"]
pytestmark = pytest.mark.browser

CARDIOLOGY = "80240536-14a5-521a-a7ab-b13f2741d88b"
MONITORING = "c861e2a6-7c64-5557-9120-662721111b1a"


@pytest.fixture
def applied(live, sandbox):
    app = live.app
    client = app.extensions["upstream"].client
    app.extensions["bulk_queue"].wake = lambda job_id: None  # run below, in this process
    with app.app_context():
        plan = plan_for(client, manage=frozenset({"invites", "members", "removals"}), changes={
            "a.rather.long.address.for.a.narrow.screen@partner-clinic.example": ("team_admin", [CARDIOLOGY,
                                                                                               MONITORING]),
            "priya.natarajan@acmehealth.com": ("team_admin", [CARDIOLOGY]),
            "sam.oconnor@acmehealth.com": ("org_admin", []),
            "noor.haddad@acmehealth.com": ("team_admin", [MONITORING]),
            "jordan.blake@acmehealth.com": None,
        })
        job_id = apply_plan(FLASK, plan, actor=Actor(email="dev@localhost", role="admin"), client=client,
                            max_removals=1)
    # Someone changes Priya in Junction before the job reaches her: her row is refused, nothing applied.
    priya = next(m for m in sandbox.state.find_members() if m["email"] == "priya.natarajan@acmehealth.com")
    sandbox.state.update_member(priya["id"], "no_role", None)
    jobs.run_job(app, job_id)
    return live, job_id, plan


@pytest.mark.parametrize("width", [1280, 390])
def test_an_access_jobs_page_says_each_change_and_is_accessible(width, page, applied):
    live, job_id, plan = applied
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live.url}/bulk/{job_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Access job {job_id}")
    expect(page.get_by_text(plan.id)).to_be_visible()
    expect(page.locator("tr", has_text="sam.oconnor")).to_contain_text("Change role: No role → Org admin")
    expect(page.locator("tr", has_text="sam.oconnor")).to_contain_text("Role and teams changed")
    expect(page.locator("tr", has_text="jordan.blake")).to_contain_text("Removed from the org")
    expect(page.locator("tr", has_text="noor.haddad")).to_contain_text("Re-invite: No role → Team admin")
    refused = page.locator("tr", has_text="priya.natarajan")
    expect(refused).to_contain_text("Not changed: changed meanwhile")
    expect(refused).to_contain_text("membership changed since you looked")
    expect(page.locator(".job-summary")).to_have_text(
        "Finished: 4 of 5 changes made. 1 not done needs your attention; listed first.")
    scroll_width, window_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= window_width, f"the page is {scroll_width} px wide at {window_width} px"
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
    assert not serious, "\n".join(f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']]}" for v in serious)
