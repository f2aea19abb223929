"""The reminders on the pages (issue 26), through the real app and a sandbox on loopback: /invitations says per row
what the reminders will do; admins and support switch one invitation's reminders off and on (a server-issued
token, recorded with who); an admin pauses all; /reminders shows the next 7 days and the stale invitations, which
are revoked only behind a confirmation, through the core's revoke."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from test_access import as_
from test_support_flow import form_fields

from invite.adapters.reminder_switches import ReminderSwitch
from invite.adapters.storage import Action, db
from invite.adapters.unit_of_work import FLASK
from tests.conftest import app_env, make_app

ADMIN = {"X-Forwarded-Email": "ada@corp.example", "X-Forwarded-Groups": "junction-admins"}
SUPPORT = {"X-Forwarded-Email": "sam@corp.example", "X-Forwarded-Groups": "helpdesk"}
ON = {"INVITE_REMIND_AFTER": "3d", "INVITE_REMIND_HOURS": "00-24", "INVITE_REMIND_DAYS": "mon-sun"}


@pytest.fixture
def app(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'pages.db'}", AUTH_MODE="header",
                           AUTH_TRUSTED_PROXIES="127.0.0.1/32", ADMIN_GROUPS="junction-admins",
                           SUPPORT_GROUPS="helpdesk", **ON))
    yield app
    app.extensions["upstream"].client.close()


def _text(page: str) -> str:
    return re.sub(r" ([,.:])", r"\1", re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))))


def _row(page: str, email: str) -> str:
    match = re.search(rf'<tr id="invite-[0-9a-f-]{{36}}">\s*<th scope="row" class="email">{re.escape(email)}.*?</tr>',
                      page, re.S)
    assert match, f"no row for {email}"
    return match.group(0)


def _client(app, headers):
    return as_(app, headers, peer="127.0.0.1")


def test_each_row_says_what_the_reminders_will_do(app, sandbox):
    sandbox.state.seed_invite("due@example.org", datetime.now(UTC) - timedelta(days=4))
    sandbox.state.seed_invite("soon@example.org", datetime.now(UTC) - timedelta(hours=12))
    page = _client(app, SUPPORT).get("/invitations?q=example.org").get_data(as_text=True)
    assert "reminded 0 of 2 times; next reminder due now" in _text(_row(page, "due@example.org"))
    assert "reminded 0 of 2 times; next reminder in 2 days" in _text(_row(page, "soon@example.org"))
    stale = _client(app, SUPPORT).get("/invitations?q=kofi").get_data(as_text=True)
    assert "will not be reminded: stale" in _text(_row(stale, "kofi.mensah@acmehealth.com"))


def test_support_switches_one_invitations_reminders_off_and_on_recorded(app, sandbox):
    invite = sandbox.state.seed_invite("due@example.org", datetime.now(UTC) - timedelta(days=4))
    client = _client(app, SUPPORT)
    action = f"/invitations/{invite['id']}/reminders"
    fields = form_fields(client.get("/invitations?q=due@").get_data(as_text=True), action)
    assert fields["action"] == "reminders_off"
    forged = client.post(action, data={**fields, "submission_token": fields["submission_token"][:-2] + "xx"})
    assert forged.status_code == 303 and "notice=expired" in forged.headers["Location"]
    answer = client.post(action, data={**fields, "next": "//evil.example/invitations"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/invitations"  # never another site
    assert client.post(action, data=fields).status_code == 303  # a double click records once
    page = client.get("/invitations?q=due@").get_data(as_text=True)
    assert "will not be reminded: switched off by sam@corp.example" in _text(_row(page, "due@example.org"))
    again = form_fields(page, action)
    assert again["action"] == "reminders_on"
    client.post(action, data=again)
    assert "next reminder due now" in _text(_row(client.get("/invitations?q=due@").get_data(as_text=True),
                                                 "due@example.org"))
    with app.app_context():
        trail = [(r.scope, r.off, r.actor_email, r.email) for r in db.session.scalars(db.select(ReminderSwitch))]
    assert trail == [(invite["id"], True, "sam@corp.example", "due@example.org"),
                     (invite["id"], False, "sam@corp.example", "due@example.org")]


def test_only_an_admin_pauses_and_resumes_all_reminders(app, sandbox):
    sandbox.state.seed_invite("due@example.org", datetime.now(UTC) - timedelta(days=4))
    support = _client(app, SUPPORT)
    page = support.get("/reminders").get_data(as_text=True)
    assert "Pause all reminders" not in page
    csrf = re.search(r'name="csrf_token" value="([^"]*)"', support.get("/invitations").get_data(as_text=True))
    assert support.post("/reminders/pause", data={"csrf_token": html.unescape(csrf.group(1))}).status_code == 403
    admin = _client(app, ADMIN)
    page = admin.get("/reminders").get_data(as_text=True)
    assert "due@example.org" in _text(page) and "At the next check" in _text(page)
    answer = admin.post("/reminders/pause", data=form_fields(page, "/reminders/pause"))
    assert answer.status_code == 303
    paused = admin.get("/reminders").get_data(as_text=True)
    assert "All reminders are paused, by ada@corp.example" in _text(paused)
    assert "Nothing: reminders are paused." in _text(paused)
    assert "paused by ada@corp.example" in _text(_row(admin.get("/invitations?q=due@").get_data(as_text=True),
                                                      "due@example.org"))
    admin.post("/reminders/resume", data=form_fields(paused, "/reminders/resume"))
    assert "ada@corp.example resumed all reminders" in _text(admin.get("/reminders").get_data(as_text=True))


def test_stale_invitations_are_revoked_only_behind_a_confirmation_through_the_core(app, sandbox):
    admin = _client(app, ADMIN)
    page = admin.get("/reminders").get_data(as_text=True)
    assert "kofi.mensah@acmehealth.com" in _text(page) and "Revoke these" in page
    assert not [e for e in sandbox.state.requests_log() if e["method"] == "DELETE"]  # looking revokes nothing
    confirm = admin.get("/reminders/stale/revoke").get_data(as_text=True)
    assert "Revoke 12 stale invitations?" in _text(confirm)
    fields = re.search(r'<form method="post" action="/reminders/stale/revoke"[^>]*>(.*?)</form>', confirm, re.S)
    data = {"csrf_token": re.search(r'name="csrf_token" value="([^"]*)"', fields.group(1)).group(1),
            "invite_id": re.findall(r'name="invite_id" value="([^"]*)"', fields.group(1)),
            "submission_token": re.findall(r'name="submission_token" value="([^"]*)"', fields.group(1))}
    data.update({f"email-{i}": e for i, e in re.findall(r'name="email-([^"]*)" value="([^"]*)"', fields.group(1))})
    done = admin.post("/reminders/stale/revoke", data=data)
    assert done.status_code == 200 and _text(done.get_data(as_text=True)).count("Revoked") == 12
    with app.app_context():
        rows = list(db.session.scalars(db.select(Action).where(Action.action == "revoke")))
    assert len(rows) == 12 and {r.actor_email for r in rows} == {"ada@corp.example"}
    assert len(sandbox.state.invites) == 0
    again = admin.post("/reminders/stale/revoke", data=data)  # the same tokens: nothing revoked twice
    assert _text(again.get_data(as_text=True)).count("No longer pending") == 12
    assert sum(1 for e in sandbox.state.requests_log() if e["method"] == "DELETE") == 12


def test_support_cannot_revoke_stale_invitations(app, sandbox):
    support = _client(app, SUPPORT)
    assert "Revoke these" not in support.get("/reminders").get_data(as_text=True)
    assert support.get("/reminders/stale/revoke").status_code == 403


def test_activity_filters_by_the_reminder_channel(app, sandbox):
    from invite.services import reminders

    sandbox.state.seed_invite("due@example.org", datetime.now(UTC) - timedelta(days=4))
    upstream = app.extensions["upstream"]
    with app.app_context():
        reminders.run_check(FLASK, upstream.client, app.secret_key, upstream.limits,
                            app.extensions["settings"].reminders,
                            upstream.team_names(), in_doubt_after=reminders.in_doubt_after(1))
    admin = _client(app, ADMIN)
    page = admin.get("/invitations?q=kofi").get_data(as_text=True)
    admin.post(f"/invitations/{_row_id(page)}/resend", data=form_fields(page, f"/invitations/{_row_id(page)}/resend"))
    only = _text(admin.get("/activity?channel=reminder").get_data(as_text=True))
    assert "due@example.org" in only and "kofi.mensah@acmehealth.com" not in only
    every = _text(admin.get("/activity").get_data(as_text=True))
    assert "due@example.org" in every and "kofi.mensah@acmehealth.com" in every
    assert 'value="reminder"' in admin.get("/activity").get_data(as_text=True)


def _row_id(page: str) -> str:
    return re.search(r'<tr id="invite-([0-9a-f-]{36})">', page).group(1)


def test_the_reminders_alert_names_exported_series():
    import yaml
    from test_monitoring_docs import DOCS, metric_names

    from invite.adapters.metrics import exported_series

    rules = {r["alert"]: r for g in yaml.safe_load((DOCS / "alerts.yml").read_text())["groups"] for r in g["rules"]}
    named = metric_names(rules["RemindersFailing"]["expr"])
    assert named == {"invite_reminders_total"} and named <= exported_series()


def test_no_reminders_column_while_reminders_are_off(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'off.db'}", AUTH_MODE="dev"))
    page = app.test_client().get("/invitations").get_data(as_text=True)
    assert "Reminders</th>" not in page and "reminder-cell" not in page
    assert "Reminders are off: INVITE_REMIND_AFTER is not set" in _text(app.test_client().get("/reminders")
                                                                         .get_data(as_text=True))
