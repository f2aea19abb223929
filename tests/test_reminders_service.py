"""The reminders' service (invite/services/reminders.py) through the real app, the real client and a sandbox on
loopback, on SQLite and PostgreSQL: a due invitation is resent once, as the reminders, on the channel "reminder";
two checks at once send it once; a reminder left under way by a dead worker is settled, never posted again; the
switches and a resend from Junction's side hold it back."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from invite.adapters.storage import Action, claim_action, db
from invite.adapters.unit_of_work import FLASK
from invite.core import tokens
from invite.services import reminders
from tests.bulk_support import posted_addresses
from tests.conftest import app_env, make_app

ALWAYS = {"INVITE_REMIND_AFTER": "3d", "INVITE_REMIND_HOURS": "00-24", "INVITE_REMIND_DAYS": "mon-sun"}


def _app(sandbox, database_url, **extra):
    return make_app(app_env(sandbox, database_url, **{**ALWAYS, **extra}))


def _check(app, now=None):
    upstream = app.extensions["upstream"]
    settings = app.extensions["settings"]
    with app.app_context():
        return reminders.run_check(FLASK, upstream.client, app.secret_key, upstream.limits, settings.reminders,
                                   upstream.team_names(), in_doubt_after=reminders.in_doubt_after(1), now=now)


def _rows(app, email):
    with app.app_context():
        rows = list(db.session.scalars(db.select(Action).where(Action.target_email == email).order_by(Action.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def test_a_due_invitation_is_reminded_once_as_the_reminders(sandbox, database_url):
    sandbox.state.seed_invite("late@example.org", datetime.now(UTC) - timedelta(days=4))
    sandbox.state.seed_invite("recent@example.org", datetime.now(UTC) - timedelta(days=1))
    app = _app(sandbox, database_url)
    first = _check(app)
    assert first.outcomes == {"invite_resent": 1}, first
    second = _check(app)
    assert not second.outcomes
    assert posted_addresses(sandbox) == {"late@example.org": 1}
    [row] = _rows(app, "late@example.org")
    assert row.channel == "reminder" and row.actor_email == "reminders" and row.action == "resend"
    assert row.actor_role == "INVITE_REMIND_AFTER=3d" and tokens.channel_of(row.token) == "reminder"
    # The seed's old invitations are stale: listed, never reminded.
    stale = [p for p in second.planned if p.decision.stale]
    assert len(stale) >= 10 and all(p.decision.state == "never" for p in stale)


def test_two_checks_at_once_send_each_reminder_once(sandbox, database_url):
    for i in range(6):
        sandbox.state.seed_invite(f"pair{i}@example.org", datetime.now(UTC) - timedelta(days=5))
    # The send limits off: the tokens alone must hold.
    app = _app(sandbox, database_url, INVITE_RESEND_MIN_INTERVAL_SECONDS="0", INVITE_RESENDS_PER_DAY="0")
    other = _app(sandbox, database_url, INVITE_RESEND_MIN_INTERVAL_SECONDS="0", INVITE_RESENDS_PER_DAY="0")
    results = []
    threads = [threading.Thread(target=lambda a=a: results.append(_check(a))) for a in (app, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    posts = posted_addresses(sandbox)
    assert {a: n for a, n in posts.items() if a.startswith("pair")} == {f"pair{i}@example.org": 1 for i in range(6)}


def test_a_reminder_left_under_way_is_settled_from_the_list_never_posted_again(sandbox, database_url):
    invite = sandbox.state.seed_invite("killed@example.org", datetime.now(UTC) - timedelta(days=5))
    app = _app(sandbox, database_url)
    with app.app_context():
        from invite.junction.parsing import parse_invite

        parsed = parse_invite(invite)
        policy = app.extensions["settings"].reminders
        # What a worker killed mid-call leaves: the write-ahead row, never completed, a minute old.
        claim = claim_action(FLASK, reminders.token_for(app.secret_key, parsed, 0), actor_email="reminders",
                             channel="reminder", action="resend", target_email=parsed.email, role="no_role",
                             teams=[], invite_id=parsed.id, actor_role=reminders.actor(policy).role)
        row = db.session.get(Action, claim.action.id)
        row.created_at = row.created_at - timedelta(minutes=1)
        db.session.commit()
    result = _check(app)
    assert result.settled == 1 and not result.outcomes
    [row] = _rows(app, "killed@example.org")
    # Nothing had gone out, and List Invites shows no recent resend: the core's honest word is "unknown", and
    # the reminder counts as made (never a second mail on a guess).
    assert row.state == "done" and row.outcome_kind == "unknown"
    assert _check(app).outcomes == {}
    assert posted_addresses(sandbox)["killed@example.org"] == 0
    assert any(e["method"] == "GET" and "killed@example.org" in str(e.get("query"))
               for e in sandbox.state.requests_log())


def test_switched_off_paused_and_resent_from_junction_are_not_reminded(sandbox, database_url, caplog):
    from invite.core.actor import Actor

    off = sandbox.state.seed_invite("off@example.org", datetime.now(UTC) - timedelta(days=5))
    sandbox.state.seed_invite("resent@example.org", datetime.now(UTC) - timedelta(days=9),
                              datetime.now(UTC) - timedelta(days=1))
    sandbox.state.seed_invite("paused@example.org", datetime.now(UTC) - timedelta(days=5))
    app = _app(sandbox, database_url)
    ada = Actor(email="ada@acme.test", role="support", channel="web")
    with app.app_context(), caplog.at_level("INFO", logger="invite.audit"):
        reminders.set_switch(FLASK, off["id"], True, ada, off["email"])
        reminders.set_paused(FLASK, True, ada)
    audited = [r.fields for r in caplog.records if r.name == "invite.audit"]
    assert {"audit": "reminder_switch", "invite_id": off["id"], "off": True, "actor_email": "ada@acme.test",
            "channel": "web"} in audited
    assert any(f.get("audit") == "reminder_pause" and f["paused"] for f in audited)
    paused = _check(app)
    assert not paused.outcomes
    words = {p.invite.email: p.decision for p in paused.planned}
    assert words["off@example.org"].reason == "switched off by ada@acme.test"
    assert words["paused@example.org"].reason == "paused by ada@acme.test"
    with app.app_context():
        reminders.set_paused(FLASK, False, ada)
    resumed = _check(app)
    assert resumed.outcomes == {"invite_resent": 1}
    assert posted_addresses(sandbox) == {"paused@example.org": 1}


def test_the_sandbox_seeds_an_old_invitation_over_http(sandbox):
    import requests

    answer = requests.post(f"{sandbox.base_url}/_sandbox/invites", json={"email": "demo@example.org",
                                                                         "invited_days_ago": 6, "resent_days_ago": 2},
                           timeout=5)
    assert answer.status_code == 201
    seeded = sandbox.state.find_invite_by_email("demo@example.org")
    invited = datetime.fromisoformat(seeded["invited_at"].replace("Z", "+00:00"))
    assert timedelta(days=5, hours=23) < datetime.now(UTC) - invited < timedelta(days=6, hours=1)
    assert seeded["resent_at"] is not None
    refused = requests.post(f"{sandbox.base_url}/_sandbox/invites", json={"email": "x@example.org",
                                                                          "invited_days_ago": "long"}, timeout=5)
    assert refused.status_code == 400 and "must be numbers" in refused.text
