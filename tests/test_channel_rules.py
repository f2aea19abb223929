"""The rules every channel obeys (issue 20), as one table: each way of reaching Junction is a row, and each
rule is a test over every row. A channel added later (member changes, reminders, access as code) joins
the table, and the check below fails until it does: its tokens' channel is listed in invite.core.tokens.

Through the real app and the real client, against a sandbox on loopback over HTTP.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from conftest import app_env, form_tokens, make_app
from test_support_flow import form_fields, invite_of

from invite.adapters.storage import Action, db
from invite.adapters.unit_of_work import FLASK
from invite.bulk import jobs
from invite.core import tokens, vocabulary
from invite.core.actor import Actor
from invite.services import actions

ACTOR = "ops.person@acme.test"  # the command line's --as and the bulk job's maker
ADDRESS = "limited.person@example.org"
WEB_PERSON = "dev@localhost"  # AUTH_MODE=dev signs every request in as this admin


@dataclass(frozen=True)
class Seen:
    """What a channel showed its person after a send, and the audit row it left."""

    shown: str
    row: Action
    exit_code: int | None = None


@pytest.fixture
def app(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'rules.db'}", AUTH_MODE="dev",
                           INVITE_RESEND_MIN_INTERVAL_SECONDS="60", INVITE_RESENDS_PER_DAY="5",
                           INVITE_RESEND_COOLDOWN_MINUTES="0"))
    yield app
    app.extensions["upstream"].client.close()


def _last_row(app, email: str) -> Action:
    with app.app_context():
        row = db.session.scalars(db.select(Action).where(db.func.lower(Action.target_email) == email.lower())
                                 .order_by(Action.id.desc()).limit(1)).one()
        db.session.expunge(row)
        return row


def _text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def send_by_form(app, sandbox, email: str) -> Seen:
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    response = client.post("/", data={**form_tokens(page), "email": email, "role": "no_role"}, follow_redirects=True)
    return Seen(_text(response), _last_row(app, email))


def resend_by_support_desk(app, sandbox, email: str) -> Seen:
    client = app.test_client()
    invite_id = invite_of(sandbox, email)["id"]
    page = client.get(f"/invitations?q={email}").get_data(as_text=True)
    fields = form_fields(page, f"/invitations/{invite_id}/resend")
    response = client.post(f"/invitations/{invite_id}/resend", data=fields, follow_redirects=True)
    return Seen(_text(response), _last_row(app, email))


def _cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["invite", *args, "--as", ACTOR, "--json"],
                                        env={"INVITE_ACTOR": None, "NO_COLOR": None})


def send_by_command_line(app, sandbox, email: str) -> Seen:
    result = _cli(app, "send", email, "--role", "no_role")
    return Seen(result.output, _last_row(app, email), result.exit_code)


def resend_by_command_line(app, sandbox, email: str) -> Seen:
    result = _cli(app, "resend", email, "--force")
    return Seen(result.output, _last_row(app, email), result.exit_code)


def send_by_bulk_job(app, sandbox, email: str) -> Seen:
    """A one-row job as the page makes it (preview stored as a draft, confirmed by its maker), run by a worker."""
    maker = Actor(email=ACTOR, role="admin", channel="web")
    with app.app_context():
        draft = jobs.create_draft([jobs.DraftRow(position=2, email=email, role="no_role", teams=[], verdict="ready",
                                                 message=None, sendable=True)], maker)
        job, started = jobs.confirm_job(draft.token, maker)
        assert started
        job_id = job.id
    jobs.run_job(app, job_id)
    with app.app_context():
        row = jobs.job_rows(job_id)[0]
        shown = f"{jobs.row_words(row)}: {row.message or ''}"
    return Seen(shown, _last_row(app, email))


def remind_on_schedule(app, sandbox, email: str) -> Seen:
    """The reminders' send of one pending invitation (the policy's timing aside: the limits are the core's)."""
    from invite.services import reminders

    upstream = app.extensions["upstream"]
    invite = upstream.client.find_pending_invite(email)
    with app.app_context():
        row = reminders.remind_next(FLASK, upstream.client, app.secret_key, upstream.limits,
                                    app.extensions["settings"].reminders, invite, upstream.team_names())
        shown = vocabulary.label(row.outcome_kind, row.action)
    return Seen(shown, _last_row(app, email))


def apply_an_access_plan(app, sandbox, email: str) -> Seen:
    """A plan that wants the address invited (or, when pending, invited with another role), applied as its
    one-row access job by a worker. Made from the org as it is, so nothing else in it changes."""
    from access_support import plan_for

    from invite.services.access_apply import apply_plan

    upstream = app.extensions["upstream"]
    pending = upstream.client.find_pending_invite(email)
    role = "no_role" if pending is None or pending.role != "no_role" else "org_admin"
    with app.app_context():
        plan = plan_for(upstream.client, changes={email: (role, [])})
        assert [c.email for c in plan.changes] == [email], plan.changes
        job_id = apply_plan(FLASK, plan, actor=Actor(email=ACTOR, role="admin", channel="cli"), client=upstream.client,
                            max_removals=0)
    jobs.run_job(app, job_id)
    with app.app_context():
        row = jobs.job_rows(job_id)[0]
        shown = f"{jobs.row_words(row)}: {row.message or ''}"
    return Seen(shown, _last_row(app, email))


@dataclass(frozen=True)
class Channel:
    name: str
    token_channel: str  # the invite.core.tokens channel its tokens are issued on
    send: Callable[..., Seen]
    needs_pending: bool = False  # a resend acts on a pending invitation only


CHANNELS = [
    Channel("invite form", "form", send_by_form),
    Channel("support desk resend", "row", resend_by_support_desk, needs_pending=True),
    Channel("invite send", "cli", send_by_command_line),
    Channel("invite resend --force", "cli", resend_by_command_line, needs_pending=True),
    Channel("bulk job", "bulk", send_by_bulk_job),
    Channel("reminder", "reminder", remind_on_schedule, needs_pending=True),
    Channel("access apply", "access", apply_an_access_plan),
]
BY_NAME = [pytest.param(channel, id=channel.name) for channel in CHANNELS]


def test_every_channel_that_issues_tokens_is_in_the_table():
    assert {channel.token_channel for channel in CHANNELS} == set(tokens.CHANNELS)


def _sandbox_sends(sandbox, email: str) -> int:
    def said(entry) -> str:
        return str(entry.get("json") or entry.get("body") or "").lower()

    return sum(1 for entry in sandbox.state.requests_log()
               if entry["method"] == "POST" and email.lower() in said(entry))


@pytest.mark.parametrize("channel", BY_NAME)
def test_a_channel_records_its_send_under_a_token_the_server_issued_on_its_own_channel(app, sandbox, channel):
    email = f"fresh.{channel.token_channel}@example.org"
    if channel.needs_pending:
        send_by_form(app, sandbox, email)
        _age_trail(app, minutes=2)  # the form's send is over a minute old: outside the limit
    seen = channel.send(app, sandbox, email)
    assert seen.row.outcome_kind in ("invite_created", "invite_resent"), seen.shown
    assert tokens.channel_of(seen.row.token) == channel.token_channel
    assert tokens.TOKEN_PATTERN.match(seen.row.token)


@pytest.mark.parametrize("channel", BY_NAME)
def test_a_send_right_after_another_channels_is_held_back_and_says_when(app, sandbox, channel):
    """The limit holds across channels: the form sends, then this channel asks within the minute."""
    first = send_by_form(app, sandbox, ADDRESS)
    assert first.row.outcome_kind == "invite_created"
    seen = channel.send(app, sandbox, ADDRESS)
    assert seen.row.outcome_kind == "held_back", seen.shown
    assert seen.row.outcome.get("retry_at")
    assert _sandbox_sends(sandbox, ADDRESS) == 1
    if seen.exit_code is not None:  # the command line: "waiting", with the moment it can go again
        assert seen.exit_code == 5, seen.shown
        assert '"outcome": "held_back"' in seen.shown and '"retry_at"' in seen.shown
    else:
        assert "Not sent" in seen.shown or vocabulary.label("held_back") in seen.shown, seen.shown


@pytest.mark.parametrize("channel", BY_NAME)
def test_six_sends_in_a_row_on_one_channel_mail_once(app, sandbox, channel):
    if channel.needs_pending:
        send_by_form(app, sandbox, ADDRESS)
        _age_trail(app, minutes=2)
    kinds = [channel.send(app, sandbox, ADDRESS).row.outcome_kind for _ in range(6)]
    assert kinds[0] in ("invite_created", "invite_resent") and set(kinds[1:]) == {"held_back"}
    assert _sandbox_sends(sandbox, ADDRESS) == (2 if channel.needs_pending else 1)


def _age_trail(app, minutes: int) -> None:
    """Move every recorded send back in time, as if it had been made `minutes` ago."""
    from datetime import timedelta

    with app.app_context():
        for row in db.session.scalars(db.select(Action)):
            row.created_at = row.created_at - timedelta(minutes=minutes)
        db.session.commit()


# ---------------------------------------------------------------------------------------- tokens


def test_a_bulk_rows_token_posted_on_the_form_sends_nothing(app, sandbox):
    """Finding 4: the form once took any 16-64 characters as its token, so a guessed bulk row token made a
    later job's row report another address's outcome."""
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    for forged in ("bulk-100-10001-1", tokens.issue("not-our-secret", "form", WEB_PERSON),
                   tokens.issue(app.secret_key, "bulk", "1", "1", "1"),
                   tokens.issue(app.secret_key, "form", "someone.else@acme.test")):
        response = client.post("/", data={**form_tokens(page), "submission_token": forged,
                                           "email": "decoy@example.org", "role": "no_role"})
        text = _text(response)
        assert response.status_code in (400, 422), forged  # 422: not even a token's shape
        assert "form has expired" in text or "form had expired" in text
        assert 'value="decoy@example.org"' in text
    assert _sandbox_sends(sandbox, "decoy@example.org") == 0
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Action)) == 0


def test_a_claim_is_honoured_only_for_its_own_person_action_and_address(app, sandbox):
    upstream = app.extensions["upstream"]
    ada = Actor(email="ada@acme.test", channel="cli")
    with app.app_context():
        token = tokens.issue(app.secret_key, "cli", ada.email)
        first = actions.send_invite(FLASK, upstream.client, token, ada, limits=upstream.limits, email="one@example.org",
                                    role="no_role", teams=[])
        assert first.is_new and first.action.outcome_kind == "invite_created"
        again = actions.send_invite(FLASK, upstream.client, token, Actor(email="ADA@acme.test", channel="cli"),
                                    limits=upstream.limits, email="One@example.org", role="no_role", teams=[])
        assert not again.is_new and again.action.id == first.action.id
        for who, email in ((Actor(email="bob@acme.test", channel="cli"), "one@example.org"),
                           (ada, "two@example.org")):
            with pytest.raises(actions.TokenClash):
                actions.send_invite(FLASK, upstream.client, token, who, limits=upstream.limits, email=email,
                                    role="no_role", teams=[])
        with pytest.raises(actions.TokenClash):
            actions.revoke_invite(FLASK, upstream.client, token, ada, invite_id="00000000-0000-4000-8000-000000000000",
                                  email="one@example.org", role=None, teams=[])
        with pytest.raises(actions.TokenClash):  # a token no server issued is refused before anything is written
            actions.send_invite(FLASK, upstream.client, "bulk-100-10001-1", ada, limits=upstream.limits,
                                email="three@example.org", role="no_role", teams=[])
    assert _sandbox_sends(sandbox, "two@example.org") == 0 and _sandbox_sends(sandbox, "three@example.org") == 0


def test_a_preview_is_confirmed_only_by_the_person_who_made_it(app, sandbox):
    """Finding 5: another admin confirming someone's preview made the job name only the second person."""
    maker, other = Actor(email=ACTOR, role="admin"), Actor(email="second.admin@acme.test", role="admin")
    with app.app_context():
        draft = jobs.create_draft([jobs.DraftRow(position=2, email="row@example.org", role="no_role", teams=[],
                                                 verdict="ready", message=None, sendable=True)], maker)
        with pytest.raises(jobs.JobError, match=f"made by {ACTOR}"):
            jobs.confirm_job(draft.token, other)
        job, started = jobs.confirm_job(draft.token, maker)
        assert started and job.created_by == ACTOR and job.state == "running"


def test_a_stale_preview_is_checked_again_instead_of_sent(app, sandbox):
    """A draft confirmed long after its preview: a row ready then may be pending or a member now."""
    from datetime import timedelta

    from invite.bulk.models import BulkJob

    maker = Actor(email=ACTOR, role="admin")
    with app.app_context():
        draft = jobs.create_draft([jobs.DraftRow(position=2, email="late@example.org", role="no_role", teams=[],
                                                 verdict="ready", message=None, sendable=True)], maker)
        draft.created_at = draft.created_at - timedelta(hours=1)
        db.session.commit()
        with pytest.raises(jobs.StaleDraft):
            jobs.confirm_job(draft.token, maker)
        assert db.session.get(BulkJob, draft.id).state == "draft"
    assert _sandbox_sends(sandbox, "late@example.org") == 0
