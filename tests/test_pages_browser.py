"""Issue 23's findings, each in headless Chromium at 1280 and 390 px: axe-core clean, no sideways scroll.

The bulk flow (a preview that shows every cell as typed, the problem rows fixed quickly, a finished job that
leads with what needs attention), the same words for one event everywhere, and the list pages' finish.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from browser_support import LONG_ADDRESSES, LiveServer, grow_org
from playwright.sync_api import Page, expect

from invite.sandbox import SandboxServer
from tests.bulk_support import running_bulk

pytest_plugins = ["browser_fixtures"]
pytestmark = pytest.mark.browser

WIDTHS = (1280, 390)
JOB_URL = re.compile(r"/bulk/\d+$")


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    # Overrides conftest's: an org at a real scale (hundreds of teams, long addresses), pages of 10.
    server = SandboxServer(port=0, page_size=10, extra_teams=200).start()
    grow_org(server.state, invites=24)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bulk_live(sandbox, tmp_path) -> Iterator[LiveServer]:
    with running_bulk(sandbox, tmp_path) as (app, _client, _workers):
        server = LiveServer(app).start()
        try:
            yield server
        finally:
            server.stop()


def fits_and_is_accessible(page: Page, label: str) -> None:
    """At each width: the page is no wider than the window, and axe finds nothing serious."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844 if width < 600 else 900})
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{label} at {width} px: the page is {widths[0]} px wide in {widths[1]} px"
        results = Axe().run(page)
        serious = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
        assert not serious, (label, width, [(v["id"], [n["target"] for n in v["nodes"]]) for v in serious])
    page.set_viewport_size({"width": 1280, "height": 900})


MIXED = "\n".join([
    "email,role,teams",
    f"{LONG_ADDRESSES[0].replace('@', '+b1@')},team_admin,Berln Clinic;Dublin Telehealth",
    f"{LONG_ADDRESSES[1].replace('@', '+b2@')},admin,Cardio",
    f"{LONG_ADDRESSES[2].replace('@', '+b3@')},team_admin,Cardiology",
    "not-an-address@,no_role,",
]) + "\n"


def preview(page: Page, url: str, text: str = MIXED) -> None:
    page.goto(url + "/bulk")
    page.get_by_role("textbox", name="Addresses").fill(text)
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the list before sending")


# --- 1. every cell as typed, the bad part marked, the suggestion beside it ------------------------------


def test_preview_and_job_show_every_cell_as_typed_with_the_bad_part_marked(page, bulk_live):
    preview(page, bulk_live.url)
    row = page.locator("tbody tr", has_text="+b1@")
    teams = row.locator("td[data-label='Teams']")
    expect(teams).to_contain_text("Berln Clinic")
    expect(teams).to_contain_text("Dublin Telehealth")
    expect(teams.locator("mark")).to_have_text("Berln Clinic")  # only the bad part is marked
    expect(teams).to_contain_text("did you mean Berlin Clinic?")
    second = page.locator("tbody tr", has_text="+b2@")
    expect(second.locator("td[data-label='Role'] mark")).to_have_text("admin")
    expect(page.locator("tbody tr", has_text="not-an-address@").locator("td.email mark")).to_have_text(
        "not-an-address@")
    fits_and_is_accessible(page, "bulk preview")

    page.get_by_role("button", name="Send 1 invitation").click()
    expect(page).to_have_url(JOB_URL)
    expect(page.locator("main")).to_contain_text("Invitation sent", timeout=30_000)
    page.reload()
    row = page.locator("tbody tr", has_text="+b2@")
    expect(row.locator("td[data-label='Role'] mark")).to_have_text("admin")  # not a blank cell
    expect(row.locator("td[data-label='Teams'] mark")).to_have_text("Cardio")
    expect(page.locator("tbody tr", has_text="+b1@").locator("td[data-label='Teams']")).to_contain_text(
        "Berln Clinic")
    fits_and_is_accessible(page, "bulk job")


# --- 2. fixing the problem rows: where they are, in one click, as a file; row numbers as in the file -----


def row_numbers(page: Page) -> list[str]:
    return page.locator("tbody tr td[data-label='Row']").all_inner_texts()


def test_problem_rows_are_removed_fixed_or_downloaded_right_above_the_table(page, bulk_live):
    preview(page, bulk_live.url)
    bar = page.get_by_role("region", name=re.compile("3 rows have problems"))
    table_top = page.locator("table.bulk-rows").bounding_box()["y"]
    assert bar.bounding_box()["y"] < table_top < 1400  # the fixes sit just above the rows, not 2,500 px below
    box = page.get_by_role("textbox", name="Addresses").input_value().split("\n")
    assert box[0] == "email,role,teams" and "+b1@" in box[1] and "+b3@" in box[3]  # line n is row n

    csv_link = bar.get_by_role("link", name="Download the problem rows (CSV)")
    body = page.request.get(bulk_live.url + csv_link.get_attribute("href")).text().splitlines()
    assert body[0] == "email,role,teams,row,problem,suggestion"
    assert [line.split(",")[3] for line in body[1:]] == ["2", "3", "5"]
    assert "Berln Clinic;Dublin Telehealth" in body[1] and body[1].endswith("Berlin Clinic")
    fits_and_is_accessible(page, "bulk preview with its fixes")

    bar.get_by_role("button", name=re.compile("Use the suggested team")).click()
    fixed = page.locator("tbody tr", has_text="+b1@")
    expect(fixed.locator("td[data-label='Verdict']")).to_contain_text("Ready")
    expect(fixed.locator("td[data-label='Teams']")).to_have_text("Berlin Clinic; Dublin Telehealth")
    expect(fixed.locator("td[data-label='Row']")).to_have_text("2")

    page.get_by_role("button", name="Remove the rows with problems").click()
    expect(page.get_by_role("alert")).to_contain_text("row 3, 5")
    assert sorted(row_numbers(page)) == ["2", "4"]  # the numbers of the file, not 1 and 2
    expect(page.get_by_role("region", name=re.compile("problem"))).to_have_count(0)
    page.get_by_role("button", name="Send 2 invitations").click()
    expect(page).to_have_url(JOB_URL)


# --- 3. a finished job leads with what needs attention --------------------------------------------------


def finished_job(page: Page, url: str) -> None:
    people = [f"finished.{i}@example.com" for i in range(6)]
    preview(page, url, "email\n" + "\n".join(people + ["status409@example.com", "status500@example.com",
                                                          "broken-address"]) + "\n")
    page.get_by_role("button", name="Send 8 invitations").click()
    expect(page).to_have_url(JOB_URL)
    expect(page.get_by_role("heading", name="Progress: Done")).to_be_visible(timeout=40_000)


def test_a_finished_job_says_how_it_went_first_and_its_tiles_filter_the_rows(page, bulk_live):
    finished_job(page, bulk_live.url)
    summary = page.locator("main > p.job-summary")
    expect(summary).to_contain_text(re.compile(r"^Finished: 6 of 8 invitations sent\..* need your attention"))
    first_rows = page.locator("tbody tr").all_inner_texts()[:2]
    assert "status409@" in first_rows[0] and "status500@" in first_rows[1], first_rows
    expect(page.locator("tbody tr", has_text="status409@").locator(".pill.outcome-failed")).to_be_visible()
    expect(page.locator("tbody tr", has_text="finished.0@").locator(".pill.outcome-succeeded")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Rate:")
    expect(page.locator("main")).not_to_contain_text("Time left")
    fits_and_is_accessible(page, "finished bulk job")

    tiles = page.get_by_role("list", name="Rows per outcome")
    tiles.get_by_role("link", name=re.compile("Not sent")).click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr")).to_contain_text("status409@example.com")
    expect(tiles.get_by_role("link", name=re.compile("Not sent"))).to_have_attribute("aria-current", "true")
    tiles.get_by_role("link", name=re.compile("All rows")).click()
    expect(page.locator("tbody tr")).to_have_count(9)


# --- 4. one event, one description, and the right next step ---------------------------------------------


def test_an_unknown_send_reads_the_same_everywhere_and_its_next_step_is_to_look(page, bulk_live):
    page.goto(bulk_live.url + "/")
    page.get_by_label("Email", exact=True).fill("status502@example.com")
    page.get_by_label("Role", exact=True).select_option("no_role")
    page.get_by_role("button", name="Send invitation").click()
    alert = page.get_by_role("alert")
    expect(alert.locator(".alert-title")).to_have_text("Unknown: may have been sent.")
    expect(alert).to_contain_text("For support: HTTP 502")
    check = alert.get_by_role("link", name="Check status502@example.com on the Invitations page")
    expect(check).to_have_class(re.compile(r"\bprimary\b"))
    send = page.locator("form.invite-form .actions button")
    expect(send).to_have_text("Send invitation")
    expect(send).not_to_have_class(re.compile(r"\bprimary\b"))  # sending again is not the main step
    fits_and_is_accessible(page, "form after an unknown send")
    check.click()
    expect(page).to_have_url(re.compile(r"/invitations\?q=status502(%40|@)example.com$"))

    page.goto(bulk_live.url + "/activity")
    expect(page.locator("tbody tr", has_text="status502@example.com").locator(".pill")).to_have_text(
        "Unknown: may have been sent")

    finished_job(page, bulk_live.url)
    row = page.locator("tbody tr", has_text="status500@example.com")
    expect(row.locator(".pill")).to_have_text("Unknown: may have been sent")
    message = row.locator("[data-field='message']").inner_text()
    assert message.startswith("Junction failed while handling it") and "HTTP" not in message, message


# --- 5 and 6. /activity: one toolbar, one control height; on a phone, folded filters and today in view ---


def send_one(page: Page, url: str, email: str = "activity.person@example.com") -> None:
    page.goto(url + "/")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Role", exact=True).select_option("no_role")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invitation sent")


def test_activity_filters_are_one_toolbar_of_one_control_height(page, live):
    send_one(page, live.url)
    page.goto(live.url + "/activity?action=send")
    toolbar = page.get_by_role("search", name="Filter activity")
    expect(toolbar).to_be_visible()
    controls = toolbar.locator("input, select, button, a.button").all() + [
        page.get_by_role("link", name=re.compile("Export CSV"))]
    heights = {round(c.bounding_box()["height"]) for c in controls}
    assert len(heights) == 1, f"controls of {sorted(heights)} px"
    rows: dict[int, set[int]] = {}
    for label in toolbar.locator("label").all():
        box = label.bounding_box()
        rows.setdefault(round(box["y"] // 60), set()).add(round(box["y"]))
    assert all(len(tops) == 1 for tops in rows.values()), f"labels on several baselines: {rows}"
    buttons = [toolbar.get_by_role("button", name="Filter"), toolbar.get_by_role("link", name="Clear")]
    middles = {round(b.bounding_box()["y"] + b.bounding_box()["height"] / 2) for b in buttons}
    assert len(middles) == 1
    expect(toolbar.get_by_role("link", name="Clear")).to_have_css("border-top-color", "rgb(138, 147, 163)")
    fits_and_is_accessible(page, "activity, filtered")


def test_activity_on_a_phone_folds_the_filters_and_opens_on_the_latest_days(new_context, live):
    desk = new_context().new_page()
    send_one(desk, live.url)
    for javascript in (True, False):
        page = new_context(java_script_enabled=javascript).new_page()
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(live.url + "/activity")
        toggle = page.locator("summary", has_text="Filters")
        expect(toggle).to_be_visible()
        expect(page.get_by_label("Who")).to_be_hidden()
        if javascript:  # bounding boxes and axe-core are scripts run in the page
            chart = page.locator(".chart-scroll")
            assert chart.bounding_box()["y"] < 600, "the chart is pushed below the fold"  # (7 filters: ~1,100)
            scroller = chart.bounding_box()
            today_bar = page.locator(".chart rect").last.bounding_box()
            assert scroller["x"] <= today_bar["x"] <= scroller["x"] + scroller["width"] - today_bar["width"], (
                "today's bar is off-screen", scroller, today_bar)
        toggle.click()  # the <details> opens without any script
        expect(page.get_by_label("Who")).to_be_visible()
        if javascript:
            fits_and_is_accessible(page, "activity on a phone")


# --- 7 and 8. one width per kind of page, fixed columns, the sender, one filter bar, quiet rows, members ---

INVITATION_COLUMNS = ["Email", "Role", "Teams", "Sent by", "Last sent", "Actions"]


def test_invitations_keep_their_width_and_columns_and_name_the_sender(page, live):
    send_one(page, live.url, "sent.here@example.com")
    boxes = []
    for query in ("", "?q=sent.here", "?q=nobody-matches-this", "?role=team_admin"):
        page.goto(live.url + "/invitations" + query)
        boxes.append(page.get_by_role("searchbox").bounding_box())
        if "nobody" not in query:
            assert page.locator("table.invitations thead th").all_inner_texts() == INVITATION_COLUMNS, query
    assert all(box == boxes[0] for box in boxes), boxes  # the search box never moves

    page.goto(live.url + "/invitations?q=sent.here")
    expect(page.locator("tbody tr td[data-label='Sent by']")).to_have_text(
        re.compile(r"^dev@localhost\s*through this dashboard$"))
    page.goto(live.url + "/invitations")
    outside = page.locator("tbody tr", has_text=LONG_ADDRESSES[0]).first.locator("td[data-label='Sent by']")
    expect(outside).to_contain_text("Management Key")
    expect(outside).to_contain_text("outside this dashboard")
    fits_and_is_accessible(page, "invitations")


def test_invitations_have_one_filter_bar_quiet_rows_and_a_heading_that_says_what_is_shown(page, live):
    page.goto(live.url + "/invitations")
    expect(page.locator("main form")).to_have_count(1 + page.locator("tbody form").count())  # one bar
    reds = page.locator("tbody a, tbody button").evaluate_all(
        "els => els.filter(e => getComputedStyle(e).borderTopColor === 'rgb(164, 22, 26)'"
        " || getComputedStyle(e).color === 'rgb(164, 22, 26)').length")
    assert reds == 0, f"{reds} red buttons in the rows"
    page.get_by_label("Role").select_option("team_admin")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#list-title")).to_have_text("Invitations for Team admins")
    plain_count = re.compile(r"^\d+ invitations?( here; more on the next page)?\.$")
    expect(page.locator("#list-position")).to_have_text(plain_count)
    fits_and_is_accessible(page, "invitations, filtered")


def test_members_have_a_count_a_role_filter_row_actions_and_an_invite_action(page, live):
    page.goto(live.url + "/members")
    expect(page.locator(".page-head").get_by_role("link", name="Invite someone")).to_be_visible()
    expect(page.locator("#list-position")).to_have_text(re.compile(r"^\d+ members?"))
    first = page.locator("tbody tr").first
    expect(first.get_by_role("link", name=re.compile("^Change or remove"))).to_have_attribute(
        "href", re.compile(r"/members/"))
    page.get_by_label("Role").select_option("org_admin")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#list-title")).to_have_text("Org admins")
    roles = page.locator("tbody td[data-label='Role']").all_inner_texts()
    assert roles and set(roles) == {"Org admin"}, roles
    fits_and_is_accessible(page, "members, filtered")


# --- 9. one rule for times; no internal words -----------------------------------------------------------


def test_every_exact_time_names_its_zone_and_keeps_utc_on_hover_and_no_internal_words_show(new_context, live):
    page = new_context(timezone_id="Europe/Berlin").new_page()
    send_one(page, live.url)
    for path in ("/members", "/activity"):
        page.goto(live.url + path)
        first = page.locator("main time").first
        expect(first).to_have_text(re.compile(r"\d{1,2}:\d\d.*(GMT|CET|UTC)"))  # the zone is named
        expect(first).to_have_attribute("title", re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$"))
    page.goto(live.url + "/invitations?q=kowalski")
    expect(page.locator("main")).not_to_contain_text("removed member")
    expect(page.locator("td[data-label='Sent by']").first).to_contain_text("a former member")


# --- 10. phone and finish --------------------------------------------------------------------------------


def test_phone_cards_nav_headings_controls_and_warnings_are_finished(new_context, live, serve, sandbox):
    page = new_context().new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live.url + "/invitations")
    card = page.locator("tbody tr").first
    sizes = set(card.locator("th, td").evaluate_all("cells => cells.map(c => getComputedStyle(c).fontSize)"))
    assert len(sizes) == 1, f"one card, font sizes {sizes}"
    lefts = page.get_by_role("navigation", name="Main").locator("a").evaluate_all(
        "links => links.map(a => Math.round(a.getBoundingClientRect().left))")
    assert len(set(lefts)) <= 3, f"the nav's links start at {lefts}"  # a grid of three columns, not ragged

    page.set_viewport_size({"width": 1280, "height": 900})
    long = "jamie.rivera-montgomery@acmehealth-regional-partners.com"
    send_one(page, live.url, long)
    heading = page.get_by_role("heading", level=1)
    # The address's end, "ners.com", sits on one line: ".com" is never alone.
    tops = heading.evaluate("h => { const text = h.textContent; const end = text.lastIndexOf('.com') + 4;"
                            " const walker = document.createTreeWalker(h, NodeFilter.SHOW_TEXT); let seen = 0, node;"
                            " const r = document.createRange(); let set = 0;"
                            " while ((node = walker.nextNode())) { const len = node.length;"
                            "  if (!set && seen + len >= end - 8) { r.setStart(node, end - 8 - seen); set = 1; }"
                            "  if (seen + len >= end) { r.setEnd(node, end - seen); break; } seen += len; }"
                            " return [...r.getClientRects()].map(x => Math.round(x.top)); }")
    assert tops and len(set(tops)) == 1, f"the address's end breaks over lines: {tops}"
    text = page.locator("main").inner_text()
    assert text.count(long) <= 2, f"the address {text.count(long)} times"  # heading and at most one more

    page.goto(live.url + "/bulk")
    picker = page.locator("input[type='file']")
    button = picker.evaluate("i => getComputedStyle(i, '::file-selector-button').borderTopColor")
    assert button == "rgb(138, 147, 163)", button  # drawn as the other controls
    assert page.get_by_label("Role for rows that name none").evaluate("s => getComputedStyle(s).appearance") == "none"

    # The resend warning: going back is the main step.
    page.goto(live.url + f"/invitations?q={long}")
    page.get_by_role("button", name=f"Resend to {long}").click()
    expect(page.get_by_role("link", name="Back to invitations")).to_have_class(re.compile(r"\bprimary\b"))
    expect(page.get_by_role("button", name="Resend anyway")).not_to_have_class(re.compile(r"\bprimary\b"))
    fits_and_is_accessible(page, "resend warning")

    # Support opening /bulk: signed in, with the nav, told which role it takes.
    support = serve(AUTH_MODE="header", AUTH_TRUSTED_PROXIES="127.0.0.0/8", ADMIN_GROUPS="invite-admins",
                    SUPPORT_GROUPS="invite-support")
    other = new_context(extra_http_headers={"X-Forwarded-Email": "sam@corp.example",
                                            "X-Forwarded-Groups": "invite-support"}).new_page()
    other.goto(support.url + "/bulk")
    expect(other.get_by_role("heading", level=1)).to_have_text("You need the admin role for this")
    expect(other.get_by_role("navigation", name="Main")).to_be_visible()
    expect(other.get_by_role("link", name="Sign in again")).to_have_count(0)
    fits_and_is_accessible(other, "support on /bulk")
