"""A team Junction no longer lists reads "a deleted team" on every page that names teams, never its id (issue 23,
finding 9): /invitations, the resend's result, /activity, /members, a member's page and the stale invitations'
confirmation on /reminders. In headless Chromium (Debian's /usr/bin/chromium through Playwright) at 1280 and
390 px, axe-core clean, no sideways scrolling. Each check reads the text a person sees, so an id shown anywhere
on the page fails it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from invite.core.rows import DELETED_TEAM

# chromium_browser, serve, live, new_context, page: see tests/browser_fixtures.py
pytest_plugins = ["browser_fixtures"]
pytestmark = pytest.mark.browser

INVITED = "left.behind@example.org"
MEMBER = "gone.team.member@example.org"
ON = {"INVITE_REMIND_AFTER": "3d", "INVITE_REMIND_HOURS": "00-24", "INVITE_REMIND_DAYS": "mon-sun",
      "INVITE_RESEND_MIN_INTERVAL_SECONDS": "0"}


@pytest.fixture
def deleted(serve, sandbox):
    """Cardiology deleted in Junction (no longer listed) while an invitation and a member still name it; the
    dashboard starts after, so it has never known the name."""
    with sandbox.state.lock:
        gone = next(t for t in sandbox.state.teams if t["name"] == "Cardiology")
        kept = next(t for t in sandbox.state.teams if t["name"] == "Sleep Clinic")
        sandbox.state.teams = [t for t in sandbox.state.teams if t["id"] != gone["id"]]
    # Invited long ago: stale, so it is on the reminders' "Revoke these" confirmation too.
    sandbox.state.seed_invite(INVITED, datetime.now(UTC) - timedelta(days=60), role="team_admin",
                              team_ids=[gone["id"], kept["id"]])
    member = sandbox.state.add_member("Gone Team Member", MEMBER, "team_admin", [gone["id"]])
    return serve(**ON), gone["id"], member["id"]


def _shows_deleted_team(page: Page, where, gone_id: str) -> None:
    expect(where).to_contain_text(DELETED_TEAM)
    visible = page.locator("body").inner_text()
    assert gone_id not in visible and gone_id.upper() not in visible, f"{page.url} shows the deleted team's id"


def _invitations(page: Page, url: str, gone_id: str, member_id: str) -> None:
    page.goto(url + f"/invitations?q={INVITED}")
    row = page.locator("tr", has_text=INVITED)
    _shows_deleted_team(page, row, gone_id)
    expect(row).to_contain_text("Sleep Clinic")


def _resent(page: Page, url: str, gone_id: str, member_id: str) -> None:
    page.goto(url + f"/invitations?q={INVITED}")
    page.get_by_role("button", name=f"Resend to {INVITED}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(INVITED)
    _shows_deleted_team(page, page.locator("main"), gone_id)


def _activity(page: Page, url: str, gone_id: str, member_id: str) -> None:
    _resent(page, url, gone_id, member_id)
    page.goto(url + f"/activity?target={INVITED}")
    row = page.locator("table.activity tbody tr").first
    expect(row).to_contain_text(INVITED)
    _shows_deleted_team(page, row, gone_id)


def _members(page: Page, url: str, gone_id: str, member_id: str) -> None:
    page.goto(url + f"/members?q={MEMBER}")
    row = page.locator("tr", has_text=MEMBER)
    _shows_deleted_team(page, row, gone_id)


def _member(page: Page, url: str, gone_id: str, member_id: str) -> None:
    page.goto(url + f"/members/{member_id}")
    _shows_deleted_team(page, page.locator("main"), gone_id)


def _stale(page: Page, url: str, gone_id: str, member_id: str) -> None:
    page.goto(url + "/reminders/stale/revoke")
    item = page.locator("li", has_text=INVITED)
    _shows_deleted_team(page, item, gone_id)


PAGES = {"invitations": _invitations, "resend-result": _resent, "activity": _activity, "members": _members,
         "member": _member, "stale-confirmation": _stale}


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("name", list(PAGES))
def test_a_deleted_team_is_named_so_never_by_its_id(name, width, page: Page, deleted, tmp_path):
    live, gone_id, member_id = deleted
    page.set_viewport_size({"width": width, "height": 900})
    PAGES[name](page, live.url, gone_id, member_id)
    page.screenshot(path=str(tmp_path / f"{name}-{width}.png"), full_page=True)
    scroll_width, window_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= window_width, f"{name} is {scroll_width} px wide at {window_width} px"
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
    assert not serious, "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in serious)
