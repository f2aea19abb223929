"""The reminders' parts of the pages in headless Chromium (Debian's /usr/bin/chromium through Playwright): the
Reminders column of /invitations with its switch, /reminders with the pause, and the stale invitations'
confirmation; axe-core on each at 1280 and 390 px, and no sideways scrolling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

# chromium_browser, serve, live, new_context, page: see tests/browser_fixtures.py
pytest_plugins = ["browser_fixtures"]
pytestmark = pytest.mark.browser

ON = {"INVITE_REMIND_AFTER": "3d", "INVITE_REMIND_HOURS": "00-24", "INVITE_REMIND_DAYS": "mon-sun"}


@pytest.fixture
def reminding(serve, sandbox):
    sandbox.state.seed_invite("due@example.org", datetime.now(UTC) - timedelta(days=4))
    sandbox.state.seed_invite("soon@example.org", datetime.now(UTC) - timedelta(hours=12))
    return serve(**ON)


def test_switch_one_invitations_reminders_off_and_on_from_the_list(page: Page, reminding):
    page.goto(reminding.url + "/invitations?q=due@")
    row = page.locator("tr", has_text="due@example.org")
    expect(row.locator(".reminder-words")).to_have_text("reminded 0 of 2 times; next reminder due now")
    row.get_by_role("button", name="Switch reminders off for due@example.org").click()
    row = page.locator("tr", has_text="due@example.org")
    expect(row.locator(".reminder-words")).to_have_text("will not be reminded: switched off by dev@localhost")
    row.get_by_role("button", name="Switch reminders on for due@example.org").click()
    expect(page.locator("tr", has_text="due@example.org").locator(".reminder-words")).to_contain_text("due now")


def test_pause_from_the_reminders_page(page: Page, reminding):
    page.goto(reminding.url + "/reminders")
    expect(page.get_by_role("row", name="due@example.org")).to_contain_text("At the next check")
    page.get_by_role("button", name="Pause all reminders").click()
    expect(page.get_by_role("status")).to_contain_text("All reminders are paused.")
    expect(page.get_by_text("Nothing: reminders are paused.")).to_be_visible()
    page.get_by_role("button", name="Resume all reminders").click()
    expect(page.get_by_role("status")).to_contain_text("Reminders resumed.")


def _list(page, url):
    page.goto(url + "/invitations?q=example.org")
    return page.locator(".reminder-words").first


def _overview(page, url):
    page.goto(url + "/reminders")
    return page.get_by_role("heading", name="The next 7 days")


def _stale_confirmation(page, url):
    page.goto(url + "/reminders")
    page.get_by_role("link", name="Revoke these…").click()
    return page.get_by_role("button", name="Revoke these 12")


VARIANTS = {"invitations": _list, "reminders": _overview, "stale-confirmation": _stale_confirmation}


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_no_serious_accessibility_violations(variant, width, page: Page, reminding, tmp_path):
    page.set_viewport_size({"width": width, "height": 900})
    proof = VARIANTS[variant](page, reminding.url)
    expect(proof).to_be_visible()
    page.screenshot(path=str(tmp_path / f"{variant}-{width}.png"), full_page=True)
    scroll_width, window_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= window_width, f"{variant} is {scroll_width} px wide at {window_width} px"
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
    assert not serious, "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in serious)
