"""/access in headless Chromium (Debian's /usr/bin/chromium through Playwright), on an org at a real org's scale
(hundreds of teams and members, long addresses, Team admins of dozens of teams): a file uploaded, its plan read
as grouped changes, the removals allowed, applied, and followed to its job; a file's mistakes by line; the drift
report. axe-core finds nothing serious and nothing scrolls sideways, at 1280 and 390 px."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from browser_support import LONG_ADDRESSES, grow_org
from playwright.sync_api import Page, expect

from invite.sandbox import SandboxServer
from invite.services import access_drift

# chromium_browser, serve, live, new_context, page: see tests/browser_fixtures.py
pytest_plugins = ["browser_fixtures"]
pytestmark = pytest.mark.browser

WIDTHS = (1280, 390)
ORG_TEAMS = 400  # extra teams on top of the sandbox's 16
MEMBERS = 240
LEAVING = 3  # members the file leaves out, removed because it manages removals


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    # Overrides conftest's: a bigger org, read in pages of 50.
    server = SandboxServer(port=0, page_size=50, extra_teams=ORG_TEAMS).start()
    grow_org(server.state)
    teams = [t["id"] for t in server.state.teams]
    for i in range(MEMBERS):
        base = LONG_ADDRESSES[i % len(LONG_ADDRESSES)]
        role = ("team_admin", "no_role", "team_admin", "org_admin")[i % 4]
        count = 40 if i % 20 == 0 else 3
        server.state.add_member(f"Member {i:03d} of a long-named department", base.replace("@", f"+m{i}@"), role,
                                teams[5 * i % len(teams):5 * i % len(teams) + count] if role == "team_admin" else None)
    try:
        yield server
    finally:
        server.stop()


def access_yaml(sandbox) -> bytes:
    """Today's org as a file, with what a review would bring: some Team admins' teams changed, a promotion,
    new people with long addresses, LEAVING members left out (removals are managed)."""
    with sandbox.state.lock:
        members = [dict(m) for m in sandbox.state.members]
        invites = [dict(i) for i in sandbox.state.invites]
        names = {t["id"]: t["name"] for t in sandbox.state.teams}
        all_names = [t["name"] for t in sandbox.state.teams]
    lines = ["manage: [invites, members, removals]", "people:"]

    def person(email: str, role: str, teams: list[str]) -> None:
        lines.append(f"  - email: {email}")
        lines.append(f"    role: {role}")
        if role == "team_admin":
            lines.append("    teams: [" + ", ".join(f'"{t}"' for t in teams) + "]")

    for i, m in enumerate(members[LEAVING:]):
        teams = [names[b["team_id"]] for b in m["team_role_bindings"] or []]
        role = m["role"]
        if i % 9 == 0 and role == "team_admin":
            teams = teams[1:] + all_names[200 + i % 150:203 + i % 150]
        elif i % 13 == 0 and role == "no_role":
            role, teams = "team_admin", all_names[100 + i % 200:130 + i % 200]
        person(m["email"], role, teams)
    for invite in invites:
        teams = [names[b["team_id"]] for b in invite["team_role_bindings"] or []]
        person(invite["email"], invite["role"], teams)
    for i in range(6):
        person(LONG_ADDRESSES[i % len(LONG_ADDRESSES)].replace("@", f"+new{i}@"), "team_admin",
               all_names[10 * i:10 * i + 25])
    return ("\n".join(lines) + "\n").encode()


def fits_and_is_accessible(page: Page, label: str, tmp_path) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844 if width < 600 else 900})
        page.screenshot(path=str(tmp_path / f"access-{label}-{width}.png"), full_page=True)
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{label} at {width} px: the page is {widths[0]} px wide in {widths[1]} px"
        results = Axe().run(page)
        serious = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
        assert not serious, (label, width, [(v["id"], [n["target"] for n in v["nodes"]]) for v in serious])


@pytest.fixture
def access_file(tmp_path, sandbox):
    path = tmp_path / "access.yaml"
    path.write_bytes(access_yaml(sandbox))
    return path


@pytest.fixture
def site(serve, access_file):
    return serve(ACCESS_FILE=str(access_file))


def test_upload_read_the_plan_allow_the_removals_apply_and_follow_the_job(page: Page, site, access_file, tmp_path):
    page.goto(site.url + "/invitations")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Access").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Access as code")
    page.get_by_label("Access file").set_input_files(str(access_file))
    page.get_by_role("button", name="Plan", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Plan for access.yaml")
    summary = page.locator(".plan-summary")
    expect(summary).to_contain_text(f"{LEAVING} to remove")
    expect(page.get_by_role("heading", name=re.compile(r"^To invite \(6\)"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^To remove from the org"))).to_be_visible()
    fits_and_is_accessible(page, "plan", tmp_path)
    page.set_viewport_size({"width": 1280, "height": 900})
    # Refused without the removals allowed; then allowed, applied, and followed on the job's page.
    apply = page.get_by_role("button", name=re.compile(r"^Apply these \d+ changes$"))
    apply.click()
    expect(page.locator("#allow_removals-error")).to_contain_text(f"This plan removes {LEAVING} people")
    page.get_by_label(f"Allow these {LEAVING} removals").check()
    page.get_by_role("button", name=re.compile(r"^Apply these \d+ changes$")).click()
    expect(page).to_have_url(re.compile(r"/bulk/\d+$"))


def test_a_files_mistakes_by_line(page: Page, site, tmp_path):
    bad = tmp_path / "team-access-with-a-rather-long-name-for-review.yaml"
    bad.write_text("people:\n  - email: not-an-address\n    role: team_admin\n    teams: [Cardiologyy, Telehealth]\n"
                   "  - email: " + LONG_ADDRESSES[0] + "\n    role: boss\n" + "  - nobody\n" * 3)
    page.goto(site.url + "/access")
    page.get_by_label("Access file").set_input_files(str(bad))
    page.get_by_role("button", name="Plan", exact=True).click()
    problems = page.get_by_role("alert")
    expect(problems).to_contain_text(f"{bad.name} has 7 problems; nothing was planned.")
    expect(problems).to_contain_text("Line 4: The org has no team named “Cardiologyy”. Did you mean Cardiology?")
    expect(page.locator("#file-chosen")).to_contain_text(bad.name)
    fits_and_is_accessible(page, "file-errors", tmp_path)


def test_the_drift_report(page: Page, site, access_file, tmp_path):
    with site.app.app_context():
        access_drift.check(site.app.extensions["upstream"].client, access_file)
    page.goto(site.url + "/access")
    expect(page.locator(".drift-summary")).to_contain_text("differ from the file, checked less than a minute ago")
    page.get_by_text("Show who differs, as the check found it").click()
    expect(page.get_by_role("heading", name=re.compile(r"^To change"))).to_be_visible()
    fits_and_is_accessible(page, "overview", tmp_path)
