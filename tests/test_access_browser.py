"""Roles and the audit trail in headless Chromium: what a support user sees and may do, and /activity."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

pytest_plugins = ["browser_fixtures"]
pytestmark = pytest.mark.browser


def junction_writes(sandbox) -> list[dict]:
    return [e for e in sandbox.state.requests_log() if e["method"] in {"POST", "DELETE"}]


def assert_axe_clean(page) -> None:
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
    assert not serious, [(v["id"], [n["target"] for n in v["nodes"]]) for v in serious]


def test_support_user_has_no_send_or_revoke_controls_and_direct_posts_are_refused(page, serve, sandbox):
    live = serve(AUTH_DEV_ROLE="support", AUTH_DEV_EMAIL="sam@corp.example")
    page.goto(live.url + "/")
    expect(page).to_have_url(re.compile(r"/invitations$"))  # the invite form is not theirs
    expect(page.locator("header")).to_contain_text("sam@corp.example")
    expect(page.locator("header")).to_contain_text("support")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Invite", exact=True)).to_have_count(0)
    expect(nav.get_by_role("link", name="Invitations")).to_be_visible()
    rows = page.locator("tbody tr")
    expect(rows.first).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Resend")).first).to_be_visible()
    expect(page.get_by_text(re.compile("^Revoke"))).to_have_count(0)

    # Posting straight at the admin-only routes, with a valid CSRF token from this very session.
    csrf = page.locator("input[name='csrf_token']").first.input_value()
    with sandbox.state.lock:
        invite = dict(sandbox.state.invites[0])
    refused = [
        page.request.post(live.url + "/", form={"csrf_token": csrf, "email": "x@example.org", "role": "org_admin",
                                                "submission_token": "A" * 24}),
        page.request.get(f"{live.url}/invitations/{invite['id']}/revoke?email={invite['email']}"),
        page.request.post(f"{live.url}/invitations/{invite['id']}/revoke",
                          form={"csrf_token": csrf, "email": invite["email"], "submission_token": "B" * 24}),
    ]
    assert [r.status for r in refused] == [403, 403, 403]
    assert "send new invitations" in refused[0].text()
    assert junction_writes(sandbox) == []
    assert_axe_clean(page)


def test_activity_page_shows_who_did_what_filters_and_exports(page, live, sandbox):
    page.goto(live.url + "/")
    page.get_by_label("Email", exact=True).fill("audited@example.org")
    page.get_by_label("Role", exact=True).select_option("no_role")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invitation sent to audited@example.org")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Activity").click()
    expect(page).to_have_title(re.compile("^Activity"))
    table = page.locator("table.activity")
    expect(table).to_contain_text("audited@example.org")
    expect(table).to_contain_text("dev@localhost")
    expect(table).to_contain_text("Invitation sent")
    expect(page.locator("svg.chart > rect")).to_have_count(1)

    page.get_by_label("Target email").fill("nobody-like-this")
    page.get_by_label("Target email").press("Enter")
    expect(page.get_by_text("No activity matches these filters.")).to_be_visible()
    page.get_by_label("Target email").fill("audited")
    page.get_by_role("button", name="Filter").click()
    expect(table).to_contain_text("audited@example.org")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [(r["who"], r["action"], r["target_email"], r["outcome"]) for r in rows] == [
        ("dev@localhost", "send", "audited@example.org", "invite_created")]
    assert_axe_clean(page)
