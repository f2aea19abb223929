"""The member pages in headless Chromium (Debian's /usr/bin/chromium through Playwright): from /members to a
member's page, a change reviewed as before → after, a removal confirmed with its red button, and axe-core on
the member page, the change form, both confirmations and the result, at 1280 and 390 px."""

from __future__ import annotations

import uuid

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, expect

# chromium_browser, serve, live, new_context, page: see tests/browser_fixtures.py
pytest_plugins = ["browser_fixtures"]
pytestmark = pytest.mark.browser


def member(sandbox, name: str) -> dict:
    with sandbox.state.lock:
        return dict(next(m for m in sandbox.state.members if m["name"] == name))


def changes(sandbox) -> list[dict]:
    return [e for e in sandbox.state.requests_log() if e["method"] in ("PATCH", "DELETE")]


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def test_from_the_list_to_a_change_reviewed_as_before_and_after(page, live, sandbox):
    page.goto(live.url + "/members?q=sam.oconnor")
    page.get_by_role("link", name="Sam O'Connor", exact=True).click()
    expect(heading(page)).to_have_text("Sam O'Connor")
    page.get_by_role("link", name="Change role and teams").click()
    expect(page.get_by_label("Role")).to_have_value("no_role")  # pre-filled with what they are
    page.get_by_label("Role").select_option("team_admin")
    page.locator("label", has_text="Cardiology").first.click()
    page.get_by_role("button", name="Review the change").click()
    expect(heading(page)).to_have_text("Change Sam O'Connor's role and teams?")
    expect(page.locator(".before-after dd")).to_have_text(["No role", "Team admin: Cardiology"])
    page.get_by_role("button", name="Change role and teams").dblclick()  # a double click changes once
    expect(heading(page)).to_have_text("Role and teams changed")
    expect(page.get_by_role("status")).to_contain_text("Changed Sam O'Connor: Team admin of Cardiology.")
    assert [e["method"] for e in changes(sandbox)] == ["PATCH"]


def test_a_removal_names_what_they_lose_behind_a_red_button(page, live, sandbox):
    priya = member(sandbox, "Priya Natarajan")
    page.goto(f"{live.url}/members/{priya['id']}")
    page.get_by_role("link", name="Remove from the org").click()
    expect(page.locator(".lead")).to_contain_text("(Team admin; Cardiology, Remote Patient Monitoring)")
    button = page.get_by_role("button", name="Remove Priya Natarajan")
    assert button.evaluate("el => getComputedStyle(el).backgroundColor") not in ("rgba(0, 0, 0, 0)", "")
    button.click()
    expect(page.get_by_role("status")).to_contain_text("Removed Priya Natarajan (priya.natarajan@acmehealth.com)")
    assert sandbox.state.get_member(uuid.UUID(priya["id"])) is None


# --- accessibility (axe-core) at 1280 and 390 px -----------------------------------------------------------


def _member_page(page, live, sandbox):
    page.goto(f"{live.url}/members/{member(sandbox, 'Lena Fischer')['id']}")
    return page.get_by_role("link", name="Remove from the org")


def _change_form(page, live, sandbox):
    page.goto(f"{live.url}/members/{member(sandbox, 'Lena Fischer')['id']}/change")
    return page.get_by_role("button", name="Review the change")


def _change_confirmation(page, live, sandbox):
    _change_form(page, live, sandbox)
    page.get_by_label("Role").select_option("org_admin")
    page.get_by_role("button", name="Review the change").click()
    return page.locator(".before-after")


def _remove_confirmation(page, live, sandbox):
    page.goto(f"{live.url}/members/{member(sandbox, 'Lena Fischer')['id']}/remove")
    return page.get_by_role("button", name="Remove Lena Fischer")


def _refused_result(page, live, sandbox):
    sandbox.state.update_member(uuid.UUID(member(sandbox, "Marcus Oyelaran")["id"]), "no_role", None)
    page.goto(f"{live.url}/members/{member(sandbox, 'Dana Whitfield')['id']}/remove")
    page.get_by_role("button", name="Remove Dana Whitfield").click()
    return page.get_by_role("alert").get_by_text("last Org admin")


PAGE_VARIANTS = {
    "member-page": _member_page,
    "change-form": _change_form,
    "change-confirmation": _change_confirmation,
    "remove-confirmation": _remove_confirmation,
    "refused-result": _refused_result,
}


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("variant", list(PAGE_VARIANTS))
def test_no_serious_accessibility_violations(variant, width, page, live, sandbox):
    page.set_viewport_size({"width": width, "height": 900})
    proof = PAGE_VARIANTS[variant](page, live, sandbox)
    expect(proof.first).to_be_visible()
    scroll_width, window_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= window_width, f"{variant} is {scroll_width} px wide at {window_width} px"
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
    assert not serious, "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in serious
    )
