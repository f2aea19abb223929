"""One vocabulary (issue 21): every outcome kind has one name, and every channel's renderer shows that name
for it: /activity, the activity CSV and JSON Lines (the page's export and `invite activity`), a bulk job's
row on its page, in its JSON poll and in its results CSV. A renderer that words an outcome its own way fails
here for that kind. So does every action of the trail: the reminders switched off and on, paused and resumed
(issue 26), on /activity, in both exports and in `invite activity`."""

from __future__ import annotations

import csv
import html
import io
import json
import re

import pytest
from conftest import app_env, make_app

from invite.activity.export import csv_lines, json_lines
from invite.adapters.storage import ACTIONS, Action, claim_action, complete_action, db
from invite.adapters.unit_of_work import FLASK
from invite.bulk import jobs
from invite.bulk.models import ROW_DONE, BulkRow
from invite.core import vocabulary
from invite.core.actor import Actor
from invite.services import reminders

KINDS = list(vocabulary.OUTCOMES)
SWITCHES = list(vocabulary.REMINDER_SWITCHES)


@pytest.fixture
def app(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'words.db'}", AUTH_MODE="dev"))
    yield app
    app.extensions["upstream"].client.close()


def _record_every_kind(app) -> dict[str, int]:
    """One send row per outcome kind, on one bulk job's rows too; returns kind -> the job's row id."""
    maker = Actor(email="ops.person@acme.test", role="admin")
    with app.app_context():
        draft = jobs.create_draft([jobs.DraftRow(position=n + 2, email=f"{kind}@example.org", role="no_role",
                                                 teams=[], verdict="ready", message=None, sendable=True)
                                   for n, kind in enumerate(KINDS)], maker)
        job, _ = jobs.confirm_job(draft.token, maker)
        db.session.commit()
        recorded = {}
        for n, kind in enumerate(KINDS):
            action = claim_action(FLASK, f"tok_words_{n:010d}", actor_email=maker.email, action="send",
                                  target_email=f"{kind}@example.org", role="no_role", bulk_job_id=job.id).action
            complete_action(FLASK, action, outcome={"kind": "form", "alert": {"title": "t", "text": ""}},
                            outcome_kind=kind)
            recorded[kind] = action.id
        rows = {}
        for kind, action_id in recorded.items():
            row = db.session.scalars(db.select(BulkRow).where(BulkRow.job_id == job.id,
                                                              BulkRow.email == f"{kind}@example.org")).one()
            row.state, row.outcome_kind, row.action_id = ROW_DONE, kind, action_id
            rows[kind] = row.id
        db.session.commit()
        return {"job": job.id, **rows}


def test_every_kind_has_a_group_and_distinct_words():
    assert {o.group for o in vocabulary.OUTCOMES.values()} == set(vocabulary.GROUPS)
    for action in ("send", "revoke"):
        words = [vocabulary.label(kind, action) for kind in KINDS]
        assert len(set(words)) == len(words), words
    assert vocabulary.label("a-kind-from-a-newer-version") == vocabulary.label("unknown")


@pytest.mark.parametrize("kind", KINDS)
def test_every_renderer_shows_the_vocabularys_words_for_each_kind(app, kind):
    ids = _record_every_kind(app)
    words = vocabulary.label(kind, "send")
    client = app.test_client()

    page = html.unescape(client.get(f"/activity?target={kind}@example.org").get_data(as_text=True))
    assert re.search(rf'class="pill outcome-{vocabulary.group(kind)}">\s*{re.escape(words)}\s*<', page), kind

    with app.app_context():
        rows = [a for a in db.session.scalars(db.select(Action)) if a.outcome_kind == kind]
        exported = list(csv.DictReader(io.StringIO("".join(csv_lines(rows)))))
        assert [r["outcome_words"] for r in exported] == [words]
        assert [json.loads(line)["outcome_words"] for line in "".join(json_lines(rows)).splitlines()] == [words]
        assert jobs.row_words(db.session.get(BulkRow, ids[kind])) == words

    poll = client.get(f"/bulk/{ids['job']}.json").get_json()
    assert [r["outcome"] for r in poll["rows"] if r["id"] == ids[kind]] == [words]
    results = list(csv.DictReader(io.StringIO(client.get(f"/bulk/{ids['job']}.csv").get_data(as_text=True))))
    assert [r["outcome"] for r in results if r["email"] == f"{kind}@example.org"] == [words]


def test_every_action_has_its_own_words():
    words = [vocabulary.action_words(action) for action in ACTIONS]
    assert len(set(words)) == len(words) and not set(words) & set(ACTIONS), words
    assert set(vocabulary.REMINDER_SWITCHES) <= set(ACTIONS)
    assert vocabulary.action_words("an-action-from-a-newer-version") == "an-action-from-a-newer-version"


def _record_every_switch(app) -> None:
    """Each of the four decisions, once, for one invitation and for all."""
    who = Actor(email="ops.person@acme.test", role="admin", channel="web")
    invite_id = "5b1f6a52-7d3e-4c1a-9f6e-0a7b8c9d0e1f"
    with app.app_context():
        assert reminders.set_switch(FLASK, invite_id, True, who, "switched@example.org")
        assert reminders.set_switch(FLASK, invite_id, False, who, "switched@example.org")
        assert reminders.set_paused(FLASK, True, who)
        assert reminders.set_paused(FLASK, False, who)


@pytest.mark.parametrize("action", SWITCHES)
def test_every_renderer_shows_the_vocabularys_words_for_each_reminder_switch(app, action):
    _record_every_switch(app)
    words, outcome = vocabulary.action_words(action), vocabulary.label(vocabulary.RECORDED, action)
    assert outcome == "Recorded"

    page = html.unescape(app.test_client().get(f"/activity?action={action}").get_data(as_text=True))
    rows = re.findall(r'<td data-label="Action">(.*?)</td>.*?class="pill outcome-(\w+)">\s*(.*?)\s*<', page, re.S)
    assert rows == [(words, vocabulary.RECORDED, outcome)], action

    with app.app_context():
        found = [a for a in db.session.scalars(db.select(Action)) if a.action == action]
    exported = list(csv.DictReader(io.StringIO("".join(csv_lines(found)))))
    assert [(r["action_words"], r["outcome_words"]) for r in exported] == [(words, outcome)]
    lines = [json.loads(line) for line in "".join(json_lines(found)).splitlines()]
    assert [(r["action_words"], r["outcome_words"]) for r in lines] == [(words, outcome)]

    runner = app.test_cli_runner()
    printed = runner.invoke(args=["invite", "activity", "--action", action, "--json"], env={"NO_COLOR": None})
    assert printed.exit_code == 0, printed.output
    assert [(r["action_words"], r["outcome_words"]) for r in map(json.loads, printed.output.splitlines())] == [
        (words, outcome)]
    as_csv = runner.invoke(args=["invite", "activity", "--action", action], env={"NO_COLOR": None})
    assert [(r["action_words"], r["outcome_words"]) for r in csv.DictReader(io.StringIO(as_csv.output))] == [
        (words, outcome)]


def test_a_reason_beside_its_label_does_not_repeat_it():
    assert vocabulary.reason("Not sent: the dashboard could not connect to Junction.") == (
        "The dashboard could not connect to Junction.")
    assert vocabulary.reason("Not revoked: gone.", "revoke") == "Gone."
    assert vocabulary.reason("Not sent: new@example.com was sent an invitation 12 seconds ago.") == (
        "new@example.com was sent an invitation 12 seconds ago.")
    assert vocabulary.reason("Not sent: gone.", "revoke") == "Not sent: gone."
    assert vocabulary.reason("Junction did not accept this invitation.") == "Junction did not accept this invitation."
    assert vocabulary.reason(None) is None and vocabulary.reason("") == ""


def test_a_bulk_row_not_sent_says_not_sent_once(sandbox, tmp_path):
    """Its pill says "Not sent: conflict"; beside it the reason, not "Not sent: Junction refused …" again (issue 23):
    on the job page, in its JSON poll, in its results CSV; `invite bulk status` shows counts, not the words twice."""
    from tests.bulk_support import preview_and_confirm, running_bulk, wait_for

    with running_bulk(sandbox, tmp_path, AUTH_MODE="dev") as (app, client, workers):
        job_id = preview_and_confirm(client, "status409@example.com\nfine@example.com\n")
        wait_for(client, job_id, worker=workers[0])
        page = html.unescape(client.get(f"/bulk/{job_id}").get_data(as_text=True))
        [row] = re.findall(r'<tr data-row-id="\d+">(?:(?!</tr>).)*status409@example\.com.*?</tr>', page, re.S)
        outcome = re.search(r'data-field="outcome">(.*?)</span>', row).group(1)
        message = re.search(r'data-field="message">(.*?)</span>', row, re.S).group(1).strip()
        assert outcome == "Not sent: conflict"
        assert message.startswith("Junction refused this invitation as a conflict.")
        poll = [r for r in client.get(f"/bulk/{job_id}.json").get_json()["rows"] if r["outcome"] != "Invitation sent"]
        assert [(r["outcome"], r["message"]) for r in poll] == [(outcome, message)]
        results = csv.DictReader(io.StringIO(client.get(f"/bulk/{job_id}.csv").get_data(as_text=True)))
        [failed] = [r for r in results if r["email"] == "status409@example.com"]
        assert (failed["outcome"], failed["message"]) == (outcome, message)
        status = app.test_cli_runner().invoke(args=["invite", "bulk", "status", str(job_id)], env={"NO_COLOR": None})
        assert status.exit_code == 0, status.output
        assert "Not sent: 1" in status.output and "Junction refused" not in status.output
        for shown in (_visible_text(row), failed["outcome"] + " " + failed["message"], status.output):
            assert shown.count("Not sent") == 1, shown


def _visible_text(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))
