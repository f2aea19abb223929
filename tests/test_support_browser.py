"""The invitations and members pages in headless Chromium (Debian's /usr/bin/chromium through Playwright).

Search → resend (by keyboard, with the cooldown prompt), revoke with its confirmation, a double click on a
row's resend, times shown in the viewer's zone, and axe-core on each new page. What reached the sandbox is
checked too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, expect

# chromium_browser, serve, live, new_context, page: see tests/browser_fixtures.py
pytest_plugins = ["browser_fixtures"]
pytestmark = pytest.mark.browser

RESULT_URL = re.compile(r"/sent/[A-Za-z0-9_-]{16,64}(\?q=[^&]*)?$")
HELENA = "Helena.Sousa@AcmeHealth.eu"  # team admin of Berlin Clinic and Dublin Telehealth
GRACE = "grace.lin@acmehealth.com"  # team admin of Sleep Clinic


def invite_posts(sandbox) -> list[dict]:
    return [e for e in sandbox.state.requests_log() if e["method"] == "POST" and e["path"].endswith("/invite")]


def deletes(sandbox) -> list[dict]:
    return [e for e in sandbox.state.requests_log() if e["method"] == "DELETE"]


def team_id(sandbox, name: str) -> str:
    with sandbox.state.lock:
        return next(t["id"] for t in sandbox.state.teams if t["name"] == name)


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def search_box(page: Page) -> Locator:
    return page.get_by_role("searchbox", name="Search invitations by email")


def rows(page: Page) -> Locator:
    return page.locator("table.invitations tbody tr")


def tab_to(page: Page, target: Locator, limit: int = 15) -> None:
    """Press Tab until ``target`` has focus: proves it is reachable by keyboard, in a sane number of steps."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{target} not reached with {limit} presses of Tab")


def test_search_then_resend_by_keyboard_with_the_cooldown_prompt(new_context, serve, sandbox):
    # The prompt, not the hard limit of one resend a minute (tested in test_security_resend.py), is shown here.
    live = serve(INVITE_RESEND_MIN_INTERVAL_SECONDS="0")
    page = new_context(timezone_id="Asia/Tokyo", locale="en-US").new_page()
    page.goto(live.url + "/invitations")
    expect(heading(page)).to_have_text("Pending invitations")
    expect(page.get_by_role("link", name="Invitations")).to_have_attribute("aria-current", "page")
    expect(search_box(page)).to_be_focused()  # focus on load: type straight away

    page.keyboard.type("helena")
    page.keyboard.press("Enter")  # Enter searches
    expect(page).to_have_url(re.compile(r"/invitations\?q=helena$"))
    expect(rows(page)).to_have_count(1)
    row = rows(page).first
    expect(row.get_by_role("rowheader")).to_have_text(HELENA)
    expect(row).to_contain_text("Berlin Clinic, Dublin Telehealth")
    # Invited 2026-03-05 08:45 UTC: shown relative to now, the exact UTC time kept as the tooltip.
    invited = row.locator("time").first
    expect(invited).to_have_text(re.compile(r"^\d+ (days|months) ago$"))
    expect(invited).to_have_attribute("title", "2026-03-05 08:45 UTC")
    expect(invited).to_have_attribute("datetime", "2026-03-05T08:45:00+00:00")
    expect(search_box(page)).to_be_focused()

    resend = page.get_by_role("button", name=f"Resend to {HELENA}")
    tab_to(page, resend)
    page.keyboard.press("Enter")

    expect(page).to_have_url(RESULT_URL)
    expect(heading(page)).to_have_text(f"Invitation sent again to {HELENA}")
    [sent] = invite_posts(sandbox)
    assert sent["json"] == {"email": HELENA, "role": "team_admin",
                            "team_role_bindings": [{"team_id": team_id(sandbox, "Berlin Clinic")},
                                                   {"team_id": team_id(sandbox, "Dublin Telehealth")}]}

    # The result links back to the very row; resending it again now asks first.
    page.get_by_role("link", name="See it in Invitations").click()
    expect(page).to_have_url(re.compile(r"/invitations\?q=Helena\.Sousa@AcmeHealth\.eu#invite-"))
    expect(page.locator("tr:target")).to_have_count(1)
    page.get_by_role("button", name=f"Resend to {HELENA}").click()
    expect(heading(page)).to_have_text(f"{HELENA} was sent an invitation less than a minute ago")
    resent_at = sandbox.state.find_invite_by_email(HELENA)["resent_at"]
    moment = datetime.fromisoformat(resent_at).astimezone(UTC)
    expect(page.locator("p.lead time.local")).to_have_attribute("title", moment.strftime("%Y-%m-%d %H:%M UTC"))
    assert len(invite_posts(sandbox)) == 1  # nothing sent by the prompt itself
    anyway = page.get_by_role("button", name="Resend anyway")
    tab_to(page, anyway)
    page.keyboard.press("Enter")
    expect(heading(page)).to_have_text(f"Invitation sent again to {HELENA}")
    assert len(invite_posts(sandbox)) == 2


def test_revoke_with_confirmation(page, live, sandbox):
    grace_id = sandbox.state.find_invite_by_email(GRACE)["id"]
    page.goto(f"{live.url}/invitations?q={GRACE}")
    expect(search_box(page)).to_have_value(GRACE)
    expect(rows(page)).to_have_count(1)
    tab_to(page, page.get_by_role("link", name=f"Revoke invitation for {GRACE}"))  # by keyboard, from the box
    page.keyboard.press("Enter")

    expect(heading(page)).to_have_text(f"Revoke the invitation for {GRACE}?")
    summary = page.locator(".summary")
    expect(summary).to_contain_text("Team admin")
    expect(summary).to_contain_text("Sleep Clinic")
    assert deletes(sandbox) == []
    tab_to(page, page.get_by_role("button", name="Revoke invitation"))
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(rf"/invitations\?q={re.escape(GRACE)}&done="))
    expect(page.get_by_role("status")).to_contain_text(f"Revoked the invitation for {GRACE}.")
    expect(rows(page)).to_have_count(0)
    expect(page.locator("main")).to_contain_text(f"No pending invitation matches “{GRACE}”")
    [deleted] = deletes(sandbox)
    assert deleted["path"].endswith(f"/invite/{grace_id}")
    assert sandbox.state.find_invite_by_email(GRACE) is None


def test_revoke_confirmation_cancel_changes_nothing(page, live, sandbox):
    page.goto(f"{live.url}/invitations?q={GRACE}")
    page.get_by_role("link", name=f"Revoke invitation for {GRACE}").click()
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(f"{live.url}/invitations?q={GRACE}")
    expect(rows(page)).to_have_count(1)
    assert deletes(sandbox) == []


def test_double_click_on_resend_sends_one_email(page, serve, sandbox):
    # slow@ answers after the sandbox's SLOW_SECONDS (conftest), so the second click lands while the first
    # is in flight; the tests' JUNCTION_TIMEOUT lets that answer arrive.
    live = serve()
    sandbox.state.clock = lambda: datetime(2026, 1, 1, tzinfo=UTC)  # long ago: no cooldown prompt
    sandbox.state.create_or_resend_invite("slow@example.com", "no_role")
    sandbox.state.clock = lambda: datetime.now(UTC)
    page.goto(f"{live.url}/invitations?q=slow@example.com")
    posts: list[str] = []
    page.on("request", lambda request: request.method == "POST" and posts.append(request.url))
    page.get_by_role("button", name="Resend to slow@example.com").dblclick()
    expect(page).to_have_url(RESULT_URL, timeout=10_000)
    expect(heading(page)).to_have_text("Invitation sent again to slow@example.com")
    assert len(posts) == 1
    assert len(invite_posts(sandbox)) == 1


# --- accessibility (axe-core) on each new page ----------------------------------------------------------


def _invitations(page, live, sandbox):
    page.goto(live.url + "/invitations")
    return page.get_by_role("navigation", name="Pages of invitations")


def _invitations_after_revoke(page, live, sandbox):
    page.goto(f"{live.url}/invitations?q={GRACE}")
    page.get_by_role("link", name=f"Revoke invitation for {GRACE}").click()
    page.get_by_role("button", name="Revoke invitation").click()
    return page.get_by_role("status").get_by_text("Revoked the invitation")


def _invitations_failure(page, live, sandbox):
    with sandbox.state.lock:
        sandbox.state.org = {**sandbox.state.org, "id": "00000000-0000-4000-8000-000000000000"}
    page.goto(live.url + "/invitations")
    return page.get_by_role("alert").get_by_text("Could not load the invitations")


def _members(page, live, sandbox):
    page.goto(live.url + "/members?q=lena.fischer@acmehealth.eu")
    return page.locator("tr.match")


def _resend_prompt(page, live, sandbox):
    page.goto(f"{live.url}/invitations?q={HELENA}")
    page.get_by_role("button", name=f"Resend to {HELENA}").click()
    page.get_by_role("link", name="See it in Invitations").click()
    page.get_by_role("button", name=f"Resend to {HELENA}").click()
    return page.get_by_role("button", name="Resend anyway")


def _revoke_confirmation(page, live, sandbox):
    page.goto(f"{live.url}/invitations?q={GRACE}")
    page.get_by_role("link", name=f"Revoke invitation for {GRACE}").click()
    return page.get_by_role("button", name="Revoke invitation")


def _not_an_invitation(page, live, sandbox):
    page.goto(live.url + "/invitations/not-a-uuid/revoke")
    return heading(page).get_by_text("does not name an invitation")


PAGE_VARIANTS = {
    "invitations": _invitations,
    "invitations-after-revoke": _invitations_after_revoke,
    "invitations-upstream-failure": _invitations_failure,
    "members": _members,
    "resend-cooldown-prompt": _resend_prompt,
    "revoke-confirmation": _revoke_confirmation,
    "not-an-invitation": _not_an_invitation,
}


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("variant", list(PAGE_VARIANTS))
def test_no_serious_accessibility_violations(variant, width, page, live, sandbox):
    page.set_viewport_size({"width": width, "height": 900})
    proof = PAGE_VARIANTS[variant](page, live, sandbox)
    expect(proof.first).to_be_visible()  # the page under test really is the variant named
    page.wait_for_load_state("load")  # its stylesheet applied: on a loaded machine the text can come first
    scroll_width, window_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= window_width, f"{variant} is {scroll_width} px wide at {window_width} px"
    results = Axe().run(page)
    assert results.response["url"] == page.url
    serious = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
    assert not serious, "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in serious
    )
