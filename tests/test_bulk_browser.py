"""Bulk invites in headless Chromium: paste -> preview -> send -> the job page updates itself to done, by
keyboard only; the same without JavaScript through the Refresh link; axe-core on each page. A real worker
process sends the rows to the sandbox."""

from __future__ import annotations

import re
import time

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


# --- issue 23, finding 2: a problem row fixed (or any row removed) where it is, without the big box ----------

WIDTHS = (1280, 390)
FIXABLE = "\n".join([
    "email,role,teams",
    "fix.role@example.com,admin,Cardiology",        # row 2: not a role
    "fix.team@example.com,team_admin,Cardiolgy",    # row 3: a misspelt team, Cardiology suggested
    "twice@example.com,no_role,",                   # row 4: ready
    "not-an-address@,no_role,",                     # row 5: not an address
    "TWICE@example.com,no_role,",                   # row 6: the same address as row 4
]) + "\n"


def fits_and_is_accessible(page: Page, label: str, *, axe: bool = True) -> None:
    """At 1280 and 390 px: no wider than the window, and axe finds nothing serious (axe runs in the page, so
    not where JavaScript is off: the with-JavaScript run checks the same markup)."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844 if width < 600 else 900})
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{label} at {width} px: the page is {widths[0]} px wide in {widths[1]} px"
        if axe:
            assert_axe_clean(page)
    page.set_viewport_size({"width": 1280, "height": 900})


def row(page: Page, number: int) -> Locator:
    return page.locator(f"tr#row-{number}")


def row_numbers(page: Page) -> list[str]:
    return sorted(page.locator("tbody tr td[data-label='Row']").all_inner_texts())


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_problem_row_is_fixed_or_removed_in_place_and_the_others_keep_their_numbers(
        new_context, live_bulk, sandbox, javascript):
    page = new_context(java_script_enabled=javascript).new_page()
    page.goto(live_bulk.url + "/bulk")
    page.get_by_role("textbox", name="Addresses").fill(FIXABLE)
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the list before sending")
    assert row_numbers(page) == ["2", "3", "4", "5", "6"]
    page.evaluate("window.samePage = true")  # gone after a page load: tells an in-place swap from a reload

    # Row 2: its own form, opened where the row is, its role chosen, checked again by the server.
    fix = row(page, 2).get_by_text("Fix row 2")
    fix.click()
    role = page.get_by_label("Role of row 2")
    expect(role).to_be_visible()
    assert row(page, 2).bounding_box()["y"] < 1400  # where the problem is, not a box 2,500 px below
    fits_and_is_accessible(page, "bulk preview with a row's fix open", axe=javascript)
    role.select_option("team_admin")
    page.get_by_role("button", name="Check row 2 again").click()
    expect(row(page, 2).locator("td[data-label='Verdict']")).to_contain_text("Ready")
    expect(page.get_by_role("alert")).to_contain_text("Row 2 was checked again and is ready to send.")
    expect(row(page, 2).locator("td[data-label='Role']")).to_have_text("Team admin")

    # Row 3: the suggested team in one click.
    row(page, 3).get_by_role("button", name="Use Cardiology in row 3").click()
    expect(row(page, 3).locator("td[data-label='Verdict']")).to_contain_text("Ready")
    expect(row(page, 3).locator("td[data-label='Teams']")).to_have_text("Cardiology")

    # Row 4 removed: row 6, its duplicate, is now the address's first row, checked against Junction, ready.
    row(page, 4).get_by_text("Change row 4").click()
    page.get_by_role("button", name="Remove row 4").click()
    expect(page.get_by_role("alert")).to_contain_text("Removed row 4 (twice@example.com)")
    expect(row(page, 6).locator("td[data-label='Verdict']")).to_contain_text("Ready")
    # Row 5 removed as well.
    row(page, 5).get_by_text("Fix row 5").click()
    page.get_by_role("button", name="Remove row 5").click()
    expect(row(page, 5)).to_have_count(0)
    assert row_numbers(page) == ["2", "3", "6"]  # the file's numbers, never renumbered
    expect(page.get_by_role("region", name=re.compile("problem"))).to_have_count(0)
    if javascript:
        assert page.evaluate("window.samePage === true"), "the fixes reloaded the page"
        assert page.evaluate("document.activeElement.closest('#fix-notice, tr') !== null")
    else:
        assert page.url.endswith("#fix-notice")
    fits_and_is_accessible(page, "bulk preview after fixes", axe=javascript)
    assert posted_addresses(sandbox) == {}  # fixing sends nothing

    page.get_by_role("button", name="Send 3 invitations").click()
    expect(page).to_have_url(JOB_URL)
    deadline = time.monotonic() + 60
    while len(posted_addresses(sandbox)) < 3 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert posted_addresses(sandbox) == {"fix.role@example.com": 1, "fix.team@example.com": 1, "twice@example.com": 1}
