"""The invite flows in headless Chromium (Debian's /usr/bin/chromium through Playwright).

Each test serves the dashboard on a real port, wired to a real sandbox, and drives it as a person would:
labels, roles, the keyboard, with and without JavaScript. What reached the sandbox is checked too, so a
page that merely looks right is not enough.
"""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, expect

# chromium_browser, serve, live, new_context, page: see tests/browser_fixtures.py
pytest_plugins = ["browser_fixtures"]
pytestmark = pytest.mark.browser

CARDIOLOGY = "Cardiology"
SLEEP = "Sleep Clinic"
RESULT_URL = re.compile(r"/sent/[A-Za-z0-9_-]{16,64}$")


# --- helpers ---------------------------------------------------------------------------------------------


def team_id(sandbox, name: str) -> str:
    with sandbox.state.lock:
        return next(t["id"] for t in sandbox.state.teams if t["name"] == name)


def invite_posts(sandbox) -> list[dict]:
    return [e for e in sandbox.state.requests_log() if e["method"] == "POST" and e["path"].endswith("/invite")]


def email_box(page: Page) -> Locator:
    return page.get_by_label("Email", exact=True)


def role_select(page: Page) -> Locator:
    return page.get_by_label("Role", exact=True)


def team_box(page: Page, name: str) -> Locator:
    """A team's checkbox by its label ("Cardiology US"), found even while the filter hides it."""
    return page.get_by_role("checkbox", name=re.compile(rf"^{re.escape(name)} (US|EU)$"), include_hidden=True)


def send_button(page: Page) -> Locator:
    return page.locator("button.primary")


def fill_and_send(page: Page, url: str, email: str, role: str, teams: tuple[str, ...] = ()) -> None:
    page.goto(url + "/")
    email_box(page).fill(email)
    role_select(page).select_option(role)
    for name in teams:
        team_box(page, name).check()
    page.get_by_role("button", name="Send invitation").click()


def summary_value(page: Page, term: str) -> Locator:
    """The value next to ``term`` in the result page's summary list."""
    return page.locator(".summary div").filter(has=page.locator("dt", has_text=term)).locator("dd")


def wait_until(condition, message: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.02)


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


# --- 1. the happy path, teams found through the JS filter -------------------------------------------------


def test_send_to_two_teams_found_with_the_filter(page, live, sandbox):
    page.goto(live.url + "/")
    expect(heading(page)).to_have_text("Invite someone to Acme Health")
    email_box(page).fill("new.person@example.org")
    role_select(page).select_option("team_admin")

    total = len(sandbox.state.teams)
    search = page.get_by_role("searchbox", name="Filter teams")
    expect(search).to_be_visible()  # app.js unhides it
    count = page.locator(".filter-count")
    visible_items = page.locator("#team-list li:visible")

    search.fill("cardio")
    expect(count).to_have_text(f"2 of {total} teams shown")
    expect(visible_items).to_have_count(2)  # Cardiology, Paris Cardiologie
    expect(team_box(page, SLEEP)).to_be_hidden()
    team_box(page, CARDIOLOGY).check()

    search.fill("sleep")
    expect(count).to_have_text(f"1 of {total} teams shown")
    expect(team_box(page, CARDIOLOGY)).to_be_hidden()
    team_box(page, SLEEP).check()

    search.fill("")
    expect(visible_items).to_have_count(total)
    expect(count).to_have_text("")
    expect(team_box(page, CARDIOLOGY)).to_be_checked()  # stayed ticked while filtered out
    expect(page.get_by_role("checkbox", checked=True)).to_have_count(2)

    page.get_by_role("button", name="Send invitation").click()

    expect(page).to_have_url(RESULT_URL)
    expect(heading(page)).to_have_text("Invitation sent to new.person@example.org")
    result = page.locator(".result")
    expect(result).to_contain_text("as Team admin of Cardiology, Sleep Clinic.")
    # Said once, in the sentence (issue 23): the summary under it adds who sent it, not the role and teams again.
    expect(summary_value(page, "Teams")).to_have_count(0)
    expect(summary_value(page, "Role")).to_have_count(0)
    [sent] = invite_posts(sandbox)
    assert sent["json"] == {
        "email": "new.person@example.org",
        "role": "team_admin",
        "team_role_bindings": [{"team_id": team_id(sandbox, CARDIOLOGY)}, {"team_id": team_id(sandbox, SLEEP)}],
    }


# --- 2. resend and already a member ---------------------------------------------------------------------


def test_pending_invite_is_sent_again_and_member_is_already_a_member(page, live, sandbox):
    with sandbox.state.lock:
        pending = sandbox.state.invites[0]["email"]
        member = sandbox.state.members[0]["email"]

    fill_and_send(page, live.url, pending, "no_role")
    expect(page).to_have_url(RESULT_URL)
    expect(heading(page)).to_have_text(f"Invitation sent again to {pending}")
    expect(page.locator(".result")).to_contain_text("already had a pending invitation")

    page.get_by_role("link", name="Invite someone else").click()
    expect(email_box(page)).to_have_value("")  # a fresh form, not the previous one
    email_box(page).fill(member)
    role_select(page).select_option("no_role")
    page.get_by_role("button", name="Send invitation").click()
    expect(page).to_have_url(RESULT_URL)
    expect(heading(page)).to_have_text(f"{member} is already a member")
    expect(page.locator(".result")).to_contain_text("no invitation was sent")

    assert [p["json"]["email"] for p in invite_posts(sandbox)] == [pending, member]


# --- 3. a local field error -----------------------------------------------------------------------------


def test_invalid_email_is_marked_on_the_field_and_values_are_kept(page, live, sandbox):
    page.goto(live.url + "/")
    email_box(page).fill("not-an-email")
    role_select(page).select_option("team_admin")
    team_box(page, CARDIOLOGY).check()
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Send invitation").click()  # novalidate: the browser lets it through
    assert answer.value.status == 422

    message = "Enter a valid email address, like name@example.com."
    email = email_box(page)
    expect(email).to_have_attribute("aria-invalid", "true")
    described_by = (email.get_attribute("aria-describedby") or "").split()
    assert described_by, "the email input names no element describing it"
    texts = [page.locator(f"[id='{element_id}']").inner_text() for element_id in described_by]
    assert any(text.strip() == message for text in texts), texts
    expect(email).to_have_accessible_description(re.compile(re.escape(message)))
    # Shown under the email field, not somewhere else on the page.
    field = page.locator(".field").filter(has=email)
    expect(field.get_by_text(message)).to_be_visible()
    expect(page.locator("#teams").get_by_text(message)).to_have_count(0)

    expect(email).to_have_value("not-an-email")
    expect(role_select(page)).to_have_value("team_admin")
    expect(team_box(page, CARDIOLOGY)).to_be_checked()
    expect(page.get_by_role("checkbox", checked=True)).to_have_count(1)
    assert invite_posts(sandbox) == []


# --- 4. Junction's own 422 ------------------------------------------------------------------------------


def test_junction_422_for_a_team_removed_meanwhile_is_shown_under_teams(page, live, sandbox):
    page.goto(live.url + "/")  # the dashboard caches this team list
    gone = team_id(sandbox, SLEEP)
    with sandbox.state.lock:
        sandbox.state.teams = [t for t in sandbox.state.teams if t["id"] != gone]

    email_box(page).fill("teamless@example.org")
    role_select(page).select_option("team_admin")
    team_box(page, CARDIOLOGY).check()
    team_box(page, SLEEP).check()
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Send invitation").click()
    assert answer.value.status == 422

    expect(page.get_by_role("alert").first).to_contain_text("Junction did not accept this invitation")
    teams = page.locator("fieldset#teams")
    errors = teams.locator("#teams-error")
    expect(errors).to_be_visible()
    expect(errors).to_contain_text(f"The team {SLEEP} is no longer one of the org's teams in Junction.")
    expect(errors).to_contain_text(f"Untick {SLEEP}, or refresh the team list.")
    # Junction's own words are kept for support, folded away.
    raw = errors.locator("details")
    expect(raw.locator("code")).to_be_hidden()
    raw.locator("summary").click()
    expect(raw.locator("code")).to_contain_text("does not belong")
    # The flagged team is first in the list, with its fix beside it, in view without scrolling.
    flagged = page.locator("#team-list li").first
    expect(flagged).to_contain_text(SLEEP)
    expect(flagged.locator(".team-problem")).to_have_text(f"Untick {SLEEP}, or refresh the team list.")
    expect(flagged).to_be_in_viewport()
    expect(teams).to_have_attribute("aria-describedby", "teams-error")
    expect(team_box(page, SLEEP)).to_have_attribute("aria-invalid", "true")
    expect(team_box(page, SLEEP)).to_have_accessible_description(re.compile(SLEEP))
    # What was filled in is still there.
    expect(email_box(page)).to_have_value("teamless@example.org")
    expect(role_select(page)).to_have_value("team_admin")
    expect(team_box(page, CARDIOLOGY)).to_be_checked()
    [sent] = invite_posts(sandbox)
    assert {b["team_id"] for b in sent["json"]["team_role_bindings"]} == {team_id(sandbox, CARDIOLOGY), gone}


# --- 5. an upstream failure -----------------------------------------------------------------------------


def test_conflict_says_not_sent_and_keeps_values(page, live, sandbox):
    fill_and_send(page, live.url, "status409@example.com", "no_role")

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Not sent: Junction refused this invitation as a conflict")
    expect(alert).to_contain_text("already being processed")
    expect(alert).to_contain_text("HTTP 409")
    expect(page).not_to_have_url(RESULT_URL)
    expect(email_box(page)).to_have_value("status409@example.com")
    expect(role_select(page)).to_have_value("no_role")
    assert len(invite_posts(sandbox)) == 1


# --- 6. double click ------------------------------------------------------------------------------------


def test_double_click_sends_one_invitation(page, serve, sandbox):
    # slow@ answers after the sandbox's SLOW_SECONDS, so the second click surely lands while the first
    # request is in flight; the tests' JUNCTION_TIMEOUT lets that answer arrive.
    live = serve()
    page.goto(live.url + "/")
    email_box(page).fill("slow@example.com")
    role_select(page).select_option("no_role")
    # Record, after app.js's own listener, what each submit event looked like. sessionStorage outlives the
    # navigation to the result page; Playwright's evaluate is not subject to the page's CSP.
    page.evaluate("""() => {
      const form = document.querySelector("form[data-once]");
      const button = form.querySelector("button.primary");
      form.addEventListener("submit", (event) => {
        const seen = JSON.parse(sessionStorage.getItem("submits") || "[]");
        seen.push({prevented: event.defaultPrevented, disabled: button.getAttribute("aria-disabled"),
                   text: button.textContent});
        sessionStorage.setItem("submits", JSON.stringify(seen));
      });
    }""")
    browser_posts: list[str] = []
    page.on("request", lambda request: request.method == "POST" and browser_posts.append(request.url))

    send_button(page).dblclick()

    expect(page).to_have_url(RESULT_URL, timeout=10_000)
    expect(heading(page)).to_have_text("Invitation sent to slow@example.com")
    submits = json.loads(page.evaluate("sessionStorage.getItem('submits')") or "[]")
    assert submits == [
        {"prevented": False, "disabled": "true", "text": "Sending…"},  # the first click sends
        {"prevented": True, "disabled": "true", "text": "Sending…"},  # app.js swallows the second
    ]
    assert browser_posts == [live.url + "/"]
    assert len(invite_posts(sandbox)) == 1


# --- 7. without JavaScript ------------------------------------------------------------------------------


def test_whole_flow_works_without_javascript(new_context, live, sandbox):
    page = new_context(java_script_enabled=False).new_page()
    page.goto(live.url + "/")
    expect(page.locator(".team-filter")).to_be_hidden()
    expect(page.get_by_role("searchbox", name="Filter teams")).to_have_count(0)
    expect(page.locator("#team-list li:visible")).to_have_count(len(sandbox.state.teams))

    email_box(page).fill("no.js@example.org")
    role_select(page).select_option("team_admin")
    page.locator("#team-list label").filter(has_text=re.compile(rf"^{CARDIOLOGY} US$")).click()  # the label ticks it
    team_box(page, SLEEP).check()
    expect(team_box(page, CARDIOLOGY)).to_be_checked()
    page.get_by_role("button", name="Send invitation").click()

    expect(page).to_have_url(RESULT_URL)
    expect(heading(page)).to_have_text("Invitation sent to no.js@example.org")
    expect(page.locator(".result")).to_contain_text("as Team admin of Cardiology, Sleep Clinic.")
    [sent] = invite_posts(sandbox)
    assert sent["json"]["team_role_bindings"] == [{"team_id": team_id(sandbox, CARDIOLOGY)},
                                                  {"team_id": team_id(sandbox, SLEEP)}]


# --- 8. keyboard only -----------------------------------------------------------------------------------


def test_keyboard_only(page, live, sandbox):
    keyboard = page.keyboard
    page.goto(live.url + "/")
    total = len(sandbox.state.teams)

    keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    keyboard.press("Tab")
    expect(email_box(page)).to_be_focused()
    keyboard.type("keys.only@example.org")

    keyboard.press("Tab")
    expect(role_select(page)).to_be_focused()
    keyboard.press("ArrowDown")  # Choose a role -> Org admin
    keyboard.press("ArrowDown")  # Org admin -> Team admin
    expect(role_select(page)).to_have_value("team_admin")

    keyboard.press("Tab")
    expect(page.get_by_role("searchbox", name="Filter teams")).to_be_focused()
    keyboard.type("sleep")
    keyboard.press("Enter")  # must filter, not send
    expect(page.locator(".filter-count")).to_have_text(f"1 of {total} teams shown")

    keyboard.press("Tab")  # the teams filtered out are skipped
    expect(team_box(page, SLEEP)).to_be_focused()
    keyboard.press("Space")
    expect(team_box(page, SLEEP)).to_be_checked()

    # With a team picked, the "no team anyway" override is gone from the page and the tab order.
    expect(page.get_by_label("Invite as a team admin of no team anyway")).to_be_hidden()
    keyboard.press("Tab")
    expect(page.get_by_role("button", name="Refresh teams")).to_be_focused()
    keyboard.press("Tab")
    expect(send_button(page)).to_be_focused()
    assert invite_posts(sandbox) == []
    keyboard.press("Enter")

    expect(page).to_have_url(RESULT_URL)
    expect(heading(page)).to_have_text("Invitation sent to keys.only@example.org")
    expect(page.locator(".result")).to_contain_text("as Team admin of Sleep Clinic.")
    [sent] = invite_posts(sandbox)
    assert sent["json"] == {"email": "keys.only@example.org", "role": "team_admin",
                            "team_role_bindings": [{"team_id": team_id(sandbox, SLEEP)}]}


# --- 9. accessibility (axe-core) ------------------------------------------------------------------------


def _form(page, live, sandbox):
    page.goto(live.url + "/")
    return page.get_by_role("button", name="Send invitation")


def _form_local_errors(page, live, sandbox):
    page.goto(live.url + "/")
    email_box(page).fill("not-an-email")
    role_select(page).select_option("team_admin")  # and no team: a second field error
    page.get_by_role("button", name="Send invitation").click()
    return page.locator("#teams-error")


def _form_upstream_errors(page, live, sandbox):
    page.goto(live.url + "/")
    gone = team_id(sandbox, SLEEP)
    with sandbox.state.lock:
        sandbox.state.teams = [t for t in sandbox.state.teams if t["id"] != gone]
    email_box(page).fill("teamless@example.org")
    role_select(page).select_option("team_admin")
    team_box(page, SLEEP).check()
    page.get_by_role("button", name="Send invitation").click()
    return page.locator("#teams-error").get_by_text(f"Untick {SLEEP}, or refresh the team list.")


def _form_error_alert(page, live, sandbox):
    fill_and_send(page, live.url, "status409@example.com", "org_admin")
    return page.get_by_role("alert").get_by_text("Not sent")


def _result_created(page, live, sandbox):
    fill_and_send(page, live.url, "axe.created@example.org", "team_admin", (CARDIOLOGY, SLEEP))
    return heading(page).get_by_text("Invitation sent to axe.created@example.org")


def _result_resent(page, live, sandbox):
    with sandbox.state.lock:
        pending = sandbox.state.invites[0]["email"]
    fill_and_send(page, live.url, pending, "org_admin")
    return heading(page).get_by_text("Invitation sent again")


def _result_already_member(page, live, sandbox):
    with sandbox.state.lock:
        member = sandbox.state.members[0]["email"]
    fill_and_send(page, live.url, member, "org_admin")
    return heading(page).get_by_text("is already a member")


def _form_maybe_sent_alert(page, live, sandbox):
    # A 500 for an address Junction already lists as pending: the amber "may not have gone out" alert.
    with sandbox.state.lock:
        old = sandbox.state.invites[-1]
        sandbox.state.invites.append({**old, "id": str(uuid.uuid4()), "email": "status500@example.com"})
    fill_and_send(page, live.url, "status500@example.com", "org_admin")
    return page.locator(".alert-warning").get_by_text("An invitation for status500@example.com was already pending")


def _result_still_sending(page, live, sandbox):
    # What reloading the result address (or opening it in another tab) shows while Junction has not
    # answered yet: slow@ keeps the first request in flight for SLOW_SECONDS.
    page.goto(live.url + "/")
    token = page.locator("input[name='submission_token']").input_value()
    email_box(page).fill("slow@example.com")
    role_select(page).select_option("no_role")
    page.get_by_role("button", name="Send invitation").click(no_wait_after=True)
    wait_until(lambda: invite_posts(sandbox), "the invitation never reached the sandbox")
    second = page.context.new_page()
    second.goto(f"{live.url}/sent/{token}")
    return heading(second).get_by_text("Sending the invitation to slow@example.com")


PAGE_VARIANTS = {
    "form": _form,
    "form-local-errors": _form_local_errors,
    "form-upstream-422": _form_upstream_errors,
    "form-error-alert": _form_error_alert,
    "form-maybe-sent-alert": _form_maybe_sent_alert,
    "result-created": _result_created,
    "result-resent": _result_resent,
    "result-already-member": _result_already_member,
    "result-still-sending": _result_still_sending,
}
# Real problems reported to the templates' owners, ignored here so the rest of the page is still checked.
# The test fails once they are fixed, so that an entry cannot outlive its bug.
KNOWN_PROBLEMS: dict[str, set[str]] = {}


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("variant", list(PAGE_VARIANTS))
def test_no_serious_accessibility_violations(variant, width, page, serve, sandbox):
    live = serve()
    page.set_viewport_size({"width": width, "height": 900})
    proof = PAGE_VARIANTS[variant](page, live, sandbox)
    expect(proof).to_be_visible()  # the page under test really is the variant named
    page = proof.page
    page.set_viewport_size({"width": width, "height": 900})  # a page opened by the variant itself
    scroll_width, window_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= window_width, f"{variant} is {scroll_width} px wide at {window_width} px"

    # axe is injected through Playwright's evaluate (DevTools protocol), which the page's
    # Content-Security-Policy does not block: no bypass_csp needed.
    results = Axe().run(page)
    assert results.response["url"] == page.url  # axe ran against this very page
    serious = {v["id"]: v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}}
    known = KNOWN_PROBLEMS.get(variant, set())
    blocking = [v for rule, v in serious.items() if rule not in known]
    assert not blocking, "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in blocking
    )
    assert known <= serious.keys(), f"fixed: {sorted(known - serious.keys())}; remove from KNOWN_PROBLEMS"


# --- fixes found by the checks above --------------------------------------------------------------------


@pytest.mark.parametrize("javascript", [True, False])
def test_enter_in_the_email_field_sends_rather_than_refreshing_teams(new_context, live, sandbox, javascript):
    page = new_context(java_script_enabled=javascript).new_page()
    page.goto(live.url + "/")
    email_box(page).fill("enter@example.org")
    role_select(page).select_option("no_role")
    email_box(page).press("Enter")
    expect(page).to_have_url(RESULT_URL)
    expect(heading(page)).to_contain_text("Invitation sent to enter@example.org")
    assert [p["json"]["email"] for p in invite_posts(sandbox)] == ["enter@example.org"]


def test_after_an_error_focus_is_on_the_problem_and_the_title_says_so(page, live, sandbox):
    page.goto(live.url + "/")
    email_box(page).fill("nope")
    page.get_by_role("button", name="Send invitation").click()
    expect(email_box(page)).to_be_focused()
    expect(page).to_have_title(re.compile(r"^Error: "))
    fill_and_send(page, live.url, "status409@example.com", "no_role")
    expect(page.locator("main .alert").first).to_be_focused()


def test_team_filter_matches_names_not_the_region_badge(page, live, sandbox):
    page.goto(live.url + "/")
    role_select(page).select_option("team_admin")
    page.get_by_label("Filter teams").fill("us")
    names = [t["name"] for t in sandbox.state.teams if "us" in t["name"].lower()]
    expect(page.locator("#team-list li:visible")).to_have_count(len(names))
    assert len(names) < len(sandbox.state.teams)


def test_still_sending_page_shows_the_outcome_by_itself(page, serve, sandbox):
    live = serve()
    page.goto(live.url + "/")
    token = page.locator("input[name='submission_token']").input_value()
    email_box(page).fill("slow@example.com")
    role_select(page).select_option("no_role")
    page.get_by_role("button", name="Send invitation").click(no_wait_after=True)
    wait_until(lambda: invite_posts(sandbox), "the invitation never reached the sandbox")
    watcher = page.context.new_page()
    watcher.goto(f"{live.url}/sent/{token}")
    expect(heading(watcher)).to_contain_text("Sending the invitation")
    expect(watcher.get_by_role("link", name="Check again")).to_be_visible()
    expect(heading(watcher)).to_contain_text("Invitation sent to slow@example.com", timeout=10_000)
