"""Bulk invites in headless Chromium: paste -> preview -> send -> the job page updates itself to done, by
keyboard only; the same without JavaScript through the Refresh link; axe-core on each page. A real worker
process sends the rows to the sandbox."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from browser_support import LiveServer
from playwright.sync_api import Locator, Page, expect

from tests.bulk_support import posted_addresses, running_bulk

# chromium_browser, new_context: see tests/browser_fixtures.py
pytest_plugins = ["browser_fixtures"]
pytestmark = pytest.mark.browser

LIST = "email,role,teams\nkeys.one@example.com,team_admin,Cardiology\nkeys.two@example.com,,\nbroken-address,,\n"
JOB_URL = re.compile(r"/bulk/\d+$")


@pytest.fixture
def live_bulk(sandbox, tmp_path):
    with running_bulk(sandbox, tmp_path) as (app, client, workers):
        server = LiveServer(app).start()
        try:
            yield server
        finally:
            server.stop()


def tab_to(page: Page, target: Locator, limit: int = 25) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{target} not reached with {limit} presses of Tab")


def assert_axe_clean(page: Page) -> None:
    results = Axe().run(page)
    assert results.response["url"] == page.url
    serious = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
    assert not serious, "\n".join(f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']]}" for v in serious)


def test_paste_preview_send_by_keyboard_and_the_page_updates_to_done(new_context, live_bulk, sandbox):
    page = new_context().new_page()
    page.goto(live_bulk.url + "/bulk")
    expect(page.get_by_role("link", name="Bulk invite")).to_have_attribute("aria-current", "page")
    assert_axe_clean(page)
    box = page.get_by_role("textbox", name="Addresses")
    tab_to(page, box)
    page.keyboard.type(LIST)
    tab_to(page, page.get_by_role("button", name="Preview"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Check the list before sending")
    counts = page.get_by_role("list", name="Rows per verdict")
    expect(counts).to_contain_text("1 Invalid address")
    expect(counts).to_contain_text("2 Ready")
    assert posted_addresses(sandbox) == {}  # nothing is sent by a preview
    assert_axe_clean(page)
    send = page.get_by_role("button", name="Send 2 invitations")
    tab_to(page, send)
    page.keyboard.press("Enter")

    expect(page).to_have_url(JOB_URL)
    # bulk.js polls the job and, once it is done, reloads the page with the final outcome.
    expect(page.get_by_role("heading", name=re.compile("^Progress: Done$"))).to_be_visible(timeout=30_000)
    expect(page.locator("tr", has_text="keys.one@example.com")).to_contain_text("Invitation sent")
    expect(page.locator("tr", has_text="broken-address")).to_contain_text("Skipped")
    expect(page.get_by_role("progressbar")).to_have_attribute("value", "2")
    assert_axe_clean(page)
    assert posted_addresses(sandbox) == {"keys.one@example.com": 1, "keys.two@example.com": 1}


def test_without_javascript_the_refresh_link_shows_the_job_finish(new_context, live_bulk, sandbox):
    page = new_context(java_script_enabled=False).new_page()
    page.goto(live_bulk.url + "/bulk")
    page.get_by_role("textbox", name="Addresses").fill("nojs.one@example.com\nnojs.two@example.com\n")
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Send 2 invitations").click()
    expect(page).to_have_url(JOB_URL)
    for _ in range(60):
        if page.get_by_role("heading", name="Progress: Done").count():
            break
        page.get_by_role("link", name="Refresh").click()
        page.wait_for_timeout(500)
    expect(page.get_by_role("heading", name="Progress: Done")).to_be_visible()
    expect(page.locator("tr", has_text="nojs.two@example.com")).to_contain_text("Invitation sent")
    # The job is listed on /bulk, newest first, with who started it.
    page.get_by_role("link", name="Bulk invite").click()
    expect(page.locator("table.bulk-jobs tbody tr").first).to_contain_text("dev@localhost")
    assert posted_addresses(sandbox) == {"nojs.one@example.com": 1, "nojs.two@example.com": 1}
