"""Reminders switched off and on, paused and resumed, as rows of the audit trail (issue 26): written in the same
transaction as the decision (one never without the other), once per decision however often the form is posted,
never for a refused one; shown on /activity (found by the Action filter), in its CSV and JSON Lines and in
`invite activity`; and never taken for a send: not by the send limits, the reminders' "last send", the metrics of
Junction calls, the chart, a member's history or an exit code. Through the real app, a sandbox on loopback, real
SQLite and PostgreSQL, the real command in a subprocess and real Chromium."""

from __future__ import annotations

import csv
import getpass
import html
import io
import json
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import app_env, make_app
from prometheus_client import REGISTRY
from test_access import as_
from test_cli_process import ACTOR, command_env, run
from test_support_flow import form_fields

from invite.activity import queries
from invite.adapters.reminder_switches import ReminderSwitch
from invite.adapters.storage import Action, db
from invite.adapters.unit_of_work import FLASK
from invite.cli import exits
from invite.core.actor import Actor
from invite.core.vocabulary import REMINDER_SWITCHES
from invite.services import reminders

pytest_plugins = ["browser_fixtures"]

ADMIN = {"X-Forwarded-Email": "ada@corp.example", "X-Forwarded-Groups": "junction-admins"}
SUPPORT = {"X-Forwarded-Email": "sam@corp.example", "X-Forwarded-Groups": "helpdesk"}
NOBODY = {"X-Forwarded-Email": "eve@corp.example", "X-Forwarded-Groups": "staff"}
ON = {"INVITE_REMIND_AFTER": "3d", "INVITE_REMIND_HOURS": "00-24", "INVITE_REMIND_DAYS": "mon-sun"}


def _env(sandbox, url: str) -> dict[str, str]:
    return app_env(sandbox, url, AUTH_MODE="header", AUTH_TRUSTED_PROXIES="127.0.0.1/32",
                   ADMIN_GROUPS="junction-admins", SUPPORT_GROUPS="helpdesk", **ON)


@pytest.fixture
def app(sandbox, tmp_path):
    app = make_app(_env(sandbox, f"sqlite:///{tmp_path / 'trail.db'}"))
    yield app
    app.extensions["upstream"].client.close()


def _client(app, headers):
    return as_(app, headers, peer="127.0.0.1")


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _trail(app) -> list[Action]:
    """The trail's rows of reminder switches and pauses, oldest first."""
    with app.app_context():
        rows = list(db.session.scalars(sa.select(Action).where(Action.action.in_(REMINDER_SWITCHES))
                                       .order_by(Action.id)))
        db.session.commit()
    return rows


def _switches(app) -> list[ReminderSwitch]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(ReminderSwitch).order_by(ReminderSwitch.id)))
        db.session.commit()
    return rows


def _switch_form(client, email: str, invite_id: str) -> dict[str, str]:
    page = client.get(f"/invitations?q={email}").get_data(as_text=True)
    return form_fields(page, f"/invitations/{invite_id}/reminders")


def _activity_rows(page: str) -> list[str]:
    return [_text(row) for row in re.findall(r"<tr>\s*<td data-label=\"When\">.*?</tr>", page, re.S)]


# ------------------------------------------------------------------------------------------ from the pages


def test_a_switch_from_the_page_is_one_trail_row_however_often_it_is_posted(app, sandbox):
    invite = sandbox.state.seed_invite("due@example.org", datetime.now(UTC) - timedelta(days=4))
    support = _client(app, SUPPORT)
    action = f"/invitations/{invite['id']}/reminders"
    fields = _switch_form(support, "due@example.org", invite["id"])
    assert fields["action"] == "reminders_off"
    for _ in range(3):  # a double (triple) click: the same form posted again
        assert support.post(action, data=fields).status_code == 303
    [off] = _trail(app)
    [switch] = _switches(app)
    assert (off.action, off.actor_email, off.actor_role, off.target_email, off.invite_id, off.channel) == (
        "reminders_off", "sam@corp.example", "support", "due@example.org", invite["id"], "web")
    assert (off.state, off.outcome_kind, off.http_status, off.client_addr) == ("done", "recorded", None, "127.0.0.1")
    assert off.request_id and off.created_at == switch.at and off.completed_at == switch.at

    again = _switch_form(support, "due@example.org", invite["id"])
    assert again["action"] == "reminders_on"
    support.post(action, data=again)
    support.post(action, data=again)
    assert [r.action for r in _trail(app)] == ["reminders_off", "reminders_on"]
    assert [s.off for s in _switches(app)] == [True, False]

    found = _activity_rows(_client(app, ADMIN).get("/activity?action=reminder_switches").get_data(as_text=True))
    assert len(found) == 2
    assert "Switched reminders on" in found[0] and "Switched reminders off" in found[1]  # newest first
    for row in found:
        assert "sam@corp.example" in row and "due@example.org" in row and "Recorded" in row
    # Not Junction calls: no "Invited", "Resent" … filter finds them, the reminders' channel does not either.
    admin = _client(app, ADMIN)
    for query in ("action=send", "action=resend", "channel=reminder", "outcome=succeeded"):
        assert not _activity_rows(admin.get(f"/activity?{query}").get_data(as_text=True)), query
    assert len(_activity_rows(admin.get("/activity?outcome=recorded").get_data(as_text=True))) == 2
    assert len(_activity_rows(admin.get("/activity?action=reminders_off&channel=web").get_data(as_text=True))) == 1


def test_a_pause_and_a_resume_from_the_page_are_trail_rows_for_all_invitations(app, sandbox):
    admin = _client(app, ADMIN)
    page = admin.get("/reminders").get_data(as_text=True)
    pause = form_fields(page, "/reminders/pause")
    admin.post("/reminders/pause", data=pause)
    admin.post("/reminders/pause", data=pause)  # a double click
    paused = admin.get("/reminders").get_data(as_text=True)
    resume = form_fields(paused, "/reminders/resume")
    admin.post("/reminders/resume", data=resume)
    admin.post("/reminders/pause", data=pause)  # the first page's form, posted again later: already used
    rows = _trail(app)
    assert [(r.action, r.actor_email, r.actor_role, r.target_email, r.invite_id) for r in rows] == [
        ("reminders_pause", "ada@corp.example", "admin", "", None),
        ("reminders_resume", "ada@corp.example", "admin", "", None)]
    assert [s.off for s in _switches(app)] == [True, False]
    found = _activity_rows(admin.get("/activity?action=reminder_switches").get_data(as_text=True))
    assert ["Resumed all reminders" in found[0], "Paused all reminders" in found[1]] == [True, True]
    assert all("All invitations" in row and "Recorded" in row for row in found)
    overview = _text(admin.get("/reminders").get_data(as_text=True))
    assert "Every switch and pause in Activity" in overview
    assert "ada@corp.example paused all reminders on the pages" in overview


def test_a_refused_switch_writes_no_row(app, sandbox):
    invite = sandbox.state.seed_invite("due@example.org", datetime.now(UTC) - timedelta(days=4))
    action = f"/invitations/{invite['id']}/reminders"
    support = _client(app, SUPPORT)
    fields = _switch_form(support, "due@example.org", invite["id"])
    forged = {**fields, "submission_token": fields["submission_token"][:-2] + ("xx" if not fields[
        "submission_token"].endswith("xx") else "yy")}
    assert "notice=expired" in support.post(action, data=forged).headers["Location"]
    # The token names the address: another address in the form would be recorded as switched, so it is refused.
    other = {**fields, "email": "someone.else@example.org"}
    assert "notice=expired" in support.post(action, data=other).headers["Location"]
    # The "on" switch's words with the "off" switch's token.
    assert "notice=expired" in support.post(action, data={**fields, "action": "reminders_on"}).headers["Location"]
    # Someone with no role, in the same browser session (so its CSRF token holds): refused by the permission.
    nobody = _client(app, SUPPORT)
    page = nobody.get("/invitations?q=due@").get_data(as_text=True)
    assert form_fields(page, action)
    nobody.environ_base.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in NOBODY.items()})
    assert nobody.post(action, data=fields).status_code == 403
    # Support may switch one invitation, not pause them all.
    assert support.post("/reminders/pause", data={"csrf_token": fields["csrf_token"]}).status_code == 403
    admin = _client(app, ADMIN)
    pause = form_fields(admin.get("/reminders").get_data(as_text=True), "/reminders/pause")
    assert "notice=expired" in admin.post("/reminders/resume", data=pause).headers["Location"]  # pause's token
    assert _trail(app) == [] and _switches(app) == []
    assert not _activity_rows(admin.get("/activity").get_data(as_text=True))


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _junction_calls() -> float:
    return sum(sample.value for metric in REGISTRY.collect() if metric.name == "invite_junction_calls"
               for sample in metric.samples if sample.name == "invite_junction_calls_total")


def test_a_switch_is_never_taken_for_a_send(app, sandbox):
    invite = sandbox.state.seed_invite("due@example.org", datetime.now(UTC) - timedelta(days=4))
    support = _client(app, SUPPORT)
    action = f"/invitations/{invite['id']}/reminders"
    off = _switch_form(support, "due@example.org", invite["id"])
    calls_before = _junction_calls()
    support.post(action, data=off)
    assert _junction_calls() == calls_before  # the switch itself asks Junction nothing
    on = _switch_form(support, "due@example.org", invite["id"])
    calls_before = _junction_calls()
    support.post(action, data=on)
    assert _junction_calls() == calls_before
    assert len(_trail(app)) == 2
    for name in REMINDER_SWITCHES:  # nor is it counted as an action on Junction
        assert _sample("invite_audit_actions_started_total", action=name) == 0
    # The reminders' "last send" is still Junction's four days ago: due now, not in three days.
    page = support.get("/invitations?q=due@").get_data(as_text=True)
    assert "next reminder due now" in _text(page)
    # The send limits (60 s between mailings of an address) see no mailing in the switches: a resend goes out.
    invite_id = invite["id"]
    resend = form_fields(page, f"/invitations/{invite_id}/resend")
    done = support.post(f"/invitations/{invite_id}/resend", data=resend, follow_redirects=True)
    assert "Invitation sent again to due@example.org" in _text(done.get_data(as_text=True))
    with app.app_context():
        kinds = [r.outcome_kind for r in db.session.scalars(sa.select(Action).where(Action.action == "resend"))]
        # Neither in the chart of Junction's outcomes nor in a member's history.
        today = datetime.now(UTC).date()
        counts = queries.per_day(queries.filtered(action="reminder_switches"), today - timedelta(days=1), today)
        from invite.activity.history import history
        shown = [r.action for r in history("due@example.org")]
    assert kinds == ["invite_resent"]
    assert all(not c for c in counts.values())
    assert shown == ["resend"]


# ------------------------------------------------------------------------------------------ one transaction


def test_the_decision_and_its_trail_row_commit_together(sandbox, database_url):
    app = make_app(_env(sandbox, database_url))
    ada = Actor(email="ada@corp.example", role="admin", channel="web")
    invite_id = "5b1f6a52-7d3e-4c1a-9f6e-0a7b8c9d0e1f"
    with app.app_context():
        assert reminders.set_switch(FLASK, invite_id, True, ada, "due@example.org", form_token="r-the-same-form")
        # The trail row cannot be written (its token was used): the decision is rolled back with it.
        assert not reminders.set_switch(FLASK, invite_id, False, ada, "due@example.org", form_token="r-the-same-form")
        assert reminders.decisions  # the service stays usable after the rollback
    assert [s.off for s in _switches(app)] == [True]
    assert [r.action for r in _trail(app)] == ["reminders_off"]
    with app.app_context():
        assert reminders.set_switch(FLASK, invite_id, False, ada, "due@example.org", form_token="r-another-form")
    assert [s.off for s in _switches(app)] == [True, False]
    assert [r.action for r in _trail(app)] == ["reminders_off", "reminders_on"]
    app.extensions["upstream"].client.close()


def test_two_tabs_switching_at_once_record_one_decision(sandbox, database_url):
    app = make_app(_env(sandbox, database_url))
    invite_id = "5b1f6a52-7d3e-4c1a-9f6e-0a7b8c9d0e1f"
    barrier = threading.Barrier(6)
    recorded: list[bool] = []

    def switch(n: int) -> None:
        with app.app_context():
            barrier.wait()
            recorded.append(reminders.set_switch(FLASK, invite_id, True, Actor(email=f"tab{n}@corp.example"),
                                                 "due@example.org", form_token=f"r-tab-{n}"))
            db.session.remove()

    threads = [threading.Thread(target=switch, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(recorded) == [False] * 5 + [True]
    [switch_row] = _switches(app)
    [trail_row] = _trail(app)
    assert trail_row.actor_email == switch_row.actor_email and trail_row.created_at == switch_row.at
    app.extensions["upstream"].client.close()


# ------------------------------------------------------------------------------------------ the command line


def test_pause_and_resume_on_the_command_line_are_trail_rows_in_invite_activity(sandbox, tmp_path):
    url = f"sqlite:///{tmp_path / 'invite.db'}"
    make_app(app_env(sandbox, url)).extensions["upstream"].client.close()
    env = command_env(sandbox, url, **ON)
    paused = run(env, "reminders", "pause", "--as", ACTOR)
    assert paused.returncode == exits.DONE and f"recorded as {ACTOR}" in paused.stdout, paused.stderr
    twice = run(env, "reminders", "pause", "--as", ACTOR, "--json")
    assert twice.returncode == exits.DONE, twice.stderr
    assert json.loads(twice.stdout)["recorded"] is False
    resumed = run(env, "reminders", "resume", "--as", ACTOR)
    assert resumed.returncode == exits.DONE, resumed.stderr

    listed = run(env, "activity", "--action", "reminder_switches", "--json")
    assert listed.returncode == exits.DONE, listed.stderr
    records = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["action"], r["action_words"], r["outcome"], r["outcome_words"], r["who"], r["channel"])
            for r in records] == [
        ("reminders_pause", "Paused all reminders", "recorded", "Recorded", ACTOR, "cli"),
        ("reminders_resume", "Resumed all reminders", "recorded", "Recorded", ACTOR, "cli")]
    assert {(r["os_user"], r["target_email"], r["invite_id"]) for r in records} == {(getpass.getuser(), "", None)}
    as_csv = run(env, "activity", "--channel", "cli")
    assert as_csv.returncode == exits.DONE, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["action_words"] for r in rows] == ["Paused all reminders", "Resumed all reminders"]
    assert run(env, "activity", "--channel", "web").stdout.count("\n") == 1  # the header alone
    assert run(env, "activity", "--action", "send").stdout.count("\n") == 1


# ------------------------------------------------------------------------------------------ in the browser


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_activity_shows_a_switch_at_each_width(width, page, serve, sandbox, tmp_path):
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect

    sandbox.state.seed_invite("due@example.org", datetime.now(UTC) - timedelta(days=4))
    live = serve(**ON)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live.url + "/invitations?q=due@")
    page.locator("tr", has_text="due@example.org").get_by_role(
        "button", name="Switch reminders off for due@example.org").click()
    expect(page.locator("tr", has_text="due@example.org").locator(".reminder-words")).to_contain_text(
        "switched off by dev@localhost")
    page.goto(live.url + "/activity")
    if width < 700:  # the filters fold behind "Filters" on a phone
        page.get_by_text("Filters", exact=True).click()
    page.get_by_label("Action", exact=True).select_option(label="Reminders switched or paused (all four)")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("table.activity tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Switched reminders off")
    expect(row).to_contain_text("due@example.org")
    expect(row).to_contain_text("dev@localhost")
    expect(row.locator(".pill")).to_have_text("Recorded")
    page.screenshot(path=str(tmp_path / f"activity-switch-{width}.png"), full_page=True)
    scroll_width, window_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= window_width, f"/activity is {scroll_width} px wide at {window_width} px"
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
    assert not serious, "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in serious)
