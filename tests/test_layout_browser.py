"""Every page at a real org's scale, in headless Chromium at 1280 and 390 px wide (a desktop and a phone).

The org has hundreds of teams, dozens of pending invitations with long addresses and long team lists. On
each page, result page and error page: nothing is wider than the window (no sideways scroll), and axe-core
finds no serious or critical violation, at both widths. Then the team picker with 2,000 teams, by keyboard.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from browser_support import LONG_ADDRESSES, LiveServer, grow_org, live_server
from playwright.sync_api import Locator, Page, expect

from invite.bulk.preview import VERDICTS
from invite.bulk.routes import VERDICT_LABELS
from invite.sandbox import SandboxServer
from tests.bulk_support import running_bulk

pytest_plugins = ["browser_fixtures"]
pytestmark = pytest.mark.browser

WIDTHS = (1280, 390)
ORG_TEAMS = 300  # extra teams on top of the sandbox's 16


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    # Overrides conftest's: a bigger org, and pages of 10 as a real list would have.
    server = SandboxServer(port=0, slow_seconds=1.5, page_size=10, extra_teams=ORG_TEAMS).start()
    grow_org(server.state)
    try:
        yield server
    finally:
        server.stop()


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def fits(page: Page, label: str) -> None:
    """At each width the page is no wider than the window."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844 if width < 600 else 900})
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{label} at {width} px: the page is {widths[0]} px wide in {widths[1]} px"


def assert_axe_clean_at_each_width(page: Page, label: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844 if width < 600 else 900})
        results = Axe().run(page)
        serious = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
        assert not serious, (label, width, [(v["id"], [n["target"] for n in v["nodes"]]) for v in serious])


def fits_and_is_accessible(page: Page, label: str) -> None:
    """At each width: the page is no wider than the window, and axe finds nothing serious."""
    fits(page, label)
    assert_axe_clean_at_each_width(page, label)


def send_form(page: Page, url: str, email: str, role: str) -> None:
    page.goto(url + "/")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Role", exact=True).select_option(role)
    page.get_by_role("button", name="Send invitation").click()


# --- the pages ------------------------------------------------------------------------------------------


def _form_for_a_team_admin(page, live, sandbox):
    page.goto(live.url + "/")
    page.get_by_label("Email", exact=True).fill(LONG_ADDRESSES[0].replace("@", "+new@"))
    page.get_by_label("Role", exact=True).select_option("team_admin")
    for box in page.locator("#team-list input").all()[:6]:
        box.check()
    return page.locator(".team-chips").get_by_text("6 selected")


def _form_with_a_flagged_team(page, live, sandbox):
    page.goto(live.url + "/")
    with sandbox.state.lock:
        gone = sandbox.state.teams.pop(200)
    page.get_by_label("Email", exact=True).fill("flagged@example.org")
    page.get_by_label("Role", exact=True).select_option("team_admin")
    page.locator(f"#team-{gone['id']}").check()
    page.get_by_role("button", name="Send invitation").click()
    return page.locator(".team-problem").get_by_text(f"Untick {gone['name']}, or refresh the team list.")


def _form_without_a_role(page, live, sandbox):
    page.goto(live.url + "/")
    page.get_by_label("Email", exact=True).fill("no-role-chosen@example.org")
    page.get_by_role("button", name="Send invitation").click()
    return page.locator("#role-error").get_by_text("Choose a role")


def _result_created(page, live, sandbox):
    send_form(page, live.url, LONG_ADDRESSES[1].replace("@", "+created@"), "no_role")
    return heading(page).get_by_text("Invitation sent to")


def _result_already_a_member(page, live, sandbox):
    with sandbox.state.lock:
        member = sandbox.state.members[0]["email"]
    send_form(page, live.url, member, "org_admin")
    return page.locator(".summary").get_by_text("Requested by")


def _result_of_a_resend_from_invitations(page, live, sandbox):
    page.goto(live.url + "/invitations?q=regional")
    page.get_by_role("button", name=re.compile("^Resend")).first.click()
    return page.get_by_role("link", name="Back to invitations")


def _invitations(page, live, sandbox):
    page.goto(live.url + "/invitations")
    return page.locator("#list-position").get_by_text("more on the next page")


def _invitations_filtered(page, live, sandbox):
    page.goto(live.url + "/invitations?role=team_admin&older_than=7")
    return page.locator("#list-title").get_by_text("Invitations for Team admins last sent more than 7 days ago")


def _members(page, live, sandbox):
    page.goto(live.url + "/members")
    return heading(page).get_by_text("Members")


def _resend_prompt(page, live, sandbox):
    page.goto(live.url + "/invitations?q=northwest")
    email = page.locator("table.invitations tbody th").first.inner_text().strip()
    sandbox.state.create_or_resend_invite(email, "no_role")  # sent just now: the cooldown asks first
    page.get_by_role("button", name=re.compile("^Resend")).first.click()
    return page.get_by_role("button", name="Resend anyway")


def _revoke_confirmation(page, live, sandbox):
    page.goto(live.url + "/invitations?q=cardiology.acmehealth")
    page.get_by_role("link", name=re.compile("^Revoke")).first.click()
    return page.get_by_role("button", name="Revoke invitation")


def _activity(page, live, sandbox):
    send_form(page, live.url, LONG_ADDRESSES[2].replace("@", "+audit@"), "no_role")
    send_form(page, live.url, "status409@example.com", "no_role")
    page.goto(live.url + "/activity")
    return page.locator("table.activity").get_by_text("Conflict")


def _not_an_invitation(page, live, sandbox):
    page.goto(live.url + "/invitations/not-a-uuid/revoke")
    return heading(page).get_by_text("does not name an invitation")


def _page_not_found(page, live, sandbox):
    page.goto(live.url + "/no/such/page")
    return heading(page).get_by_text("Not Found")


PAGES = {
    "form-team-admin": _form_for_a_team_admin,
    "form-flagged-team": _form_with_a_flagged_team,
    "form-no-role": _form_without_a_role,
    "result-created": _result_created,
    "result-already-member": _result_already_a_member,
    "result-resend": _result_of_a_resend_from_invitations,
    "invitations": _invitations,
    "invitations-filtered": _invitations_filtered,
    "members": _members,
    "resend-prompt": _resend_prompt,
    "revoke-confirmation": _revoke_confirmation,
    "activity": _activity,
    "not-an-invitation": _not_an_invitation,
    "404": _page_not_found,
}


@pytest.mark.parametrize("name", list(PAGES))
def test_page_fits_a_phone_and_a_desktop(name, page, live, sandbox):
    proof = PAGES[name](page, live, sandbox)
    expect(proof).to_be_visible()
    fits_and_is_accessible(proof.page, name)


HEADER_AUTH = {"AUTH_MODE": "header", "AUTH_TRUSTED_PROXIES": "127.0.0.0/8", "ADMIN_GROUPS": "invite-admins",
               "SUPPORT_GROUPS": "invite-support", "AUTH_SIGN_IN_URL": "https://sso.example.com/oauth2/start"}


def test_sign_in_required_page(new_context, serve, sandbox):
    live = serve(**HEADER_AUTH)
    page = new_context().new_page()
    response = page.goto(live.url + "/invitations")
    assert response.status == 401
    expect(page.get_by_role("navigation")).to_have_count(0)  # every nav link would lead back here
    expect(page.get_by_text("name unavailable")).to_have_count(0)
    expect(page.get_by_role("link", name="Sign in again")).to_have_attribute("href", HEADER_AUTH["AUTH_SIGN_IN_URL"])
    block = page.locator("pre.copy-block")
    expect(block).to_contain_text("Request id: ")
    expect(block).to_contain_text("Time: ")
    fits_and_is_accessible(page, "401")


def test_no_access_page_says_who_you_are_and_which_groups_grant_access(new_context, serve, sandbox):
    live = serve(**HEADER_AUTH)
    page = new_context(extra_http_headers={"X-Forwarded-Email": "newcomer@corp.example",
                                           "X-Forwarded-Groups": "engineering,oncall"}).new_page()
    response = page.goto(live.url + "/activity")
    assert response.status == 403
    expect(page.get_by_role("navigation")).to_have_count(0)
    expect(page.get_by_role("link", name="Sign in again")).to_be_visible()
    block = page.locator("pre.copy-block")
    expect(block).to_contain_text("Signed in as: newcomer@corp.example")
    expect(block).to_contain_text("My groups: engineering, oncall")
    expect(block).to_contain_text("Groups that grant access: invite-admins (admin), invite-support (support)")
    expect(block).to_contain_text(re.compile(r"Request id: \S+"))
    expect(page.get_by_role("button", name="Copy these details")).to_be_visible()
    fits_and_is_accessible(page, "403")


# --- the team picker with 2,000 teams -------------------------------------------------------------------


@pytest.fixture
def big_org() -> Iterator[SandboxServer]:
    server = SandboxServer(port=0, page_size=200, extra_teams=2000 - 16).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def big_live(big_org, tmp_path) -> Iterator[LiveServer]:
    with live_server(big_org, f"sqlite:///{tmp_path / 'big.db'}") as server:
        yield server


def test_team_picker_with_2000_teams_by_keyboard(page, big_live, big_org):
    assert len(big_org.state.teams) == 2000
    page.goto(big_live.url + "/")
    role = page.get_by_label("Role", exact=True)
    expect(role).to_have_value("")  # least privilege: nothing chosen
    teams = page.locator("fieldset#teams")
    expect(teams).to_be_hidden()  # only for Team admin

    # With Org admin, the 2,000 checkboxes are out of the Tab order: Email -> Role -> Send.
    page.get_by_label("Email", exact=True).fill("picker@example.org")
    role.select_option("org_admin")
    role.focus()
    page.keyboard.press("Tab")
    expect(page.locator("button.primary")).to_be_focused()

    role.select_option("team_admin")
    expect(teams).to_be_visible()
    search = page.get_by_role("searchbox", name="Filter teams")
    search.focus()
    page.keyboard.type("Oslo Research")
    visible = page.locator("#team-list li:visible")
    shown = visible.count()
    assert 0 < shown < 2000
    expect(page.locator(".filter-count")).to_have_text(f"{shown} of 2000 teams shown")  # what can be seen

    page.keyboard.press("Tab")  # the first team shown
    first = visible.nth(0).locator("input")
    expect(first).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(visible.nth(1).locator("input")).to_be_checked()
    chips = page.locator(".team-chips")
    expect(chips).to_contain_text("2 selected")
    first_name = visible.nth(0).locator("label").get_attribute("data-name")
    remove = chips.get_by_role("button", name=f"Remove {first_name}")
    expect(remove).to_be_visible()
    remove.press("Enter")
    expect(chips).to_contain_text("1 selected")
    expect(first).not_to_be_checked()
    # The list is one column that scrolls down: nothing hides to the right.
    overflow = page.evaluate("(() => { const l = document.getElementById('team-list');"
                             " return [l.scrollWidth, l.clientWidth]; })()")
    assert overflow[0] <= overflow[1]


def test_a_flagged_team_among_2000_is_in_view_with_its_fix(page, big_live, big_org):
    page.goto(big_live.url + "/")
    with big_org.state.lock:
        far_down = big_org.state.teams[1700]
        big_org.state.teams = [t for t in big_org.state.teams if t["id"] != far_down["id"]]
    page.get_by_label("Email", exact=True).fill("flagged@example.org")
    page.get_by_label("Role", exact=True).select_option("team_admin")
    page.get_by_label("Filter teams").fill(far_down["name"])
    page.locator(f"#team-{far_down['id']}").check()
    page.get_by_label("Filter teams").fill("")
    page.get_by_role("button", name="Send invitation").click()

    flagged = page.locator("#team-list li").first
    expect(flagged).to_contain_text(far_down["name"])
    expect(flagged.locator(".team-problem")).to_have_text(f"Untick {far_down['name']}, or refresh the team list.")
    expect(flagged).to_be_in_viewport()
    expect(page.locator(".team-chips")).to_contain_text("1 selected")
    fits(page, "form with a flagged team among 2,000")
    # Axe then reads the page with only the first few of the 2,000 teams left in it: the flagged one and its
    # neighbours. Every team's markup is the same, and the form with hundreds of teams is checked whole above;
    # all 2,000 took axe 20-60 s at each width (an include or exclude context does not spare axe the tree).
    page.evaluate("document.querySelectorAll('#team-list > li:nth-child(n+6)').forEach(li => li.remove())")
    assert_axe_clean_at_each_width(page, "form with a flagged team among 2,000")


def test_activity_on_a_phone_keeps_the_chart_legible_and_the_request_id_copyable(page, live, sandbox):
    page.set_viewport_size({"width": 390, "height": 844})
    send_form(page, live.url, "phone.audit@example.org", "no_role")
    page.goto(live.url + "/activity")
    # The chart is drawn at its own width inside a box that scrolls, so its text is never shrunk.
    chart_width = page.locator("svg.chart").evaluate("svg => svg.getBoundingClientRect().width")
    assert chart_width >= 720
    expect(page.locator(".chart-scroll")).to_have_attribute("tabindex", "0")
    row = page.locator("table.activity tbody tr").first
    expect(row).to_contain_text("Invited")
    expect(row.locator(".pill")).to_have_text("Invitation sent")
    row.get_by_text("Request details").click()
    request_id = row.locator(".copy-ref code").inner_text()
    expect(row.get_by_role("button", name=f"Copy request id {request_id}")).to_be_visible()


# --- the bulk pages -------------------------------------------------------------------------------------


@pytest.fixture
def bulk_live(sandbox, tmp_path) -> Iterator[LiveServer]:
    # No worker: the job stays "Sending", so its page shows every control it can have at once.
    with running_bulk(sandbox, tmp_path, workers=0) as (app, _client, _workers):
        server = LiveServer(app).start()
        try:
            yield server
        finally:
            server.stop()


def realistic_bulk_list(sandbox: SandboxServer) -> str:
    """Long addresses and every verdict: ready, invalid address, duplicate, already a member, invalid role,
    unknown team, ambiguous team, already pending."""
    with sandbox.state.lock:
        twin = dict(sandbox.state.teams[0], id=str(uuid.uuid4()), name=sandbox.state.teams[0]["name"].upper())
        sandbox.state.teams.append(twin)
        member = sandbox.state.members[0]["email"]
        pending = sandbox.state.invites[0]["email"]
        team = sandbox.state.teams[1]["name"]
    new = [address.replace("@", "+bulk@") for address in LONG_ADDRESSES]
    return "\n".join([
        "email,role,teams",
        f"{new[0]},team_admin,{team};{sandbox.state.teams[2]['name']};{sandbox.state.teams[3]['name']}",
        f"{new[1]},,",
        f"{new[2]},Org admin,",
        "not-an-address@,no_role,",
        f"{new[1].upper()},no_role,",
        f"{member},team_admin,{team}",
        f"{new[3]},superuser,",
        f"unknown.team.{new[3]},team_admin,{team}x",
        f"ambiguous.team.{new[0]},team_admin,{twin['name'].lower()}",
        f"{pending},no_role,",
    ]) + "\n"


def assert_counts_do_not_overlap(page: Page, name: str) -> None:
    """Each count sits in its own box, its text inside it: nothing runs into the next count."""
    boxes = page.get_by_role("list", name=name).locator("li").evaluate_all(
        "items => items.map(li => { const r = li.getBoundingClientRect();"
        " return [r.left, r.top, r.right, r.bottom, li.scrollWidth <= li.clientWidth]; })")
    assert len(boxes) > 1
    for i, (left, top, right, bottom, fits) in enumerate(boxes):
        assert fits, f"{name}: count {i} is wider than its box"
        for other in boxes[i + 1:]:
            apart = right <= other[0] or other[2] <= left or bottom <= other[1] or other[3] <= top
            assert apart, f"{name}: count {i} overlaps another ({boxes})"


def test_bulk_pages_fit_a_phone_and_a_desktop(page, bulk_live, sandbox):
    page.goto(bulk_live.url + "/bulk")
    expect(page.get_by_label("Role for rows that name none")).to_have_value("no_role")
    fits_and_is_accessible(page, "bulk list")

    page.get_by_role("textbox", name="Addresses").fill(realistic_bulk_list(sandbox))
    page.get_by_role("button", name="Preview").click()
    counts = page.get_by_role("list", name="Rows per verdict")
    for verdict in VERDICTS:
        expect(counts.locator(f"[data-count='{verdict}']")).to_be_visible()
        expect(counts).to_contain_text(VERDICT_LABELS[verdict])
    expect(page.locator("tr.verdict-ready")).to_have_count(3)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844})
        assert_counts_do_not_overlap(page, "Rows per verdict")
    fits_and_is_accessible(page, "bulk preview")

    page.get_by_role("button", name="Send 3 invitations").click()
    expect(page).to_have_url(re.compile(r"/bulk/\d+$"))
    bar = page.get_by_role("progressbar", name="0 of 3 rows finished")
    expect(bar).to_have_attribute("max", "3")
    controls = [page.get_by_role("button", name="Pause"), page.get_by_role("button", name="Cancel the unsent rows"),
                page.get_by_role("link", name="Results CSV"),
                page.get_by_role("link", name="This job in the activity trail")]
    expect(controls[1]).to_have_css("background-color", "rgb(164, 22, 26)")  # filled red, as on confirmations
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844})
        assert_counts_do_not_overlap(page, "Rows per outcome")
        main = page.locator("main").evaluate("m => m.clientWidth - parseFloat(getComputedStyle(m).paddingLeft)"
                                             " - parseFloat(getComputedStyle(m).paddingRight)")
        assert bar.bounding_box()["width"] >= main - 1, f"the progress bar is not full width at {width} px"
        boxes = [control.bounding_box() for control in controls]
        assert all(b["x"] >= 0 and b["x"] + b["width"] <= width for b in boxes), (width, boxes)
        if width == 1280:  # one row, centred on one line
            middles = {round(b["y"] + b["height"] / 2) for b in boxes}
            assert max(middles) - min(middles) <= 1, boxes
    fits_and_is_accessible(page, "bulk job")

    page.goto(bulk_live.url + "/bulk")
    expect(page.locator("table.bulk-jobs tbody tr")).to_have_count(1)
    fits_and_is_accessible(page, "bulk list with a job")
