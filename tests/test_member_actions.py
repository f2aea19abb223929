"""Changing and removing a member through the core (invite.services.actions), the real client and the sandbox over HTTP,
with the audit trail on SQLite and PostgreSQL: each guard and each fault (500, lost answer, slow answer, 429,
422 under its field, 404) ends in a recorded kind and plain words, and a token changes once."""

from __future__ import annotations

import uuid

import pytest
from conftest import TIMES_OUT_ON_SLOW, app_env, make_app

from invite.adapters.storage import DONE, Action, db
from invite.adapters.unit_of_work import FLASK
from invite.core import tokens, vocabulary
from invite.core.actor import Actor
from invite.core.member_outcomes import snapshot
from invite.services import actions

ADMIN = Actor(email="ops.person@acme.test", role="admin", channel="cli")


@pytest.fixture
def app(sandbox, database_url):
    app = make_app(app_env(sandbox, database_url))
    yield app
    app.extensions["upstream"].client.close()


def member(sandbox, name: str) -> dict:
    return next(m for m in sandbox.state.members if m["name"] == name)


def team(sandbox, name: str) -> dict[str, str]:
    found = next(t for t in sandbox.state.teams if t["name"] == name)
    return {"id": found["id"], "name": found["name"]}


def seen(sandbox, m: dict) -> dict:
    names = {t["id"]: t["name"] for t in sandbox.state.teams}
    return snapshot(m["role"], [{"id": b["team_id"], "name": names[b["team_id"]]}
                                for b in m["team_role_bindings"] or []])


def scripted(sandbox, email: str, role: str = "no_role") -> dict:
    return sandbox.state.add_member("Scripted Person", email, role)


def sent(sandbox, method: str) -> int:
    return sum(1 for r in sandbox.state.requests_log() if r["method"] == method)


def change(app, sandbox, m: dict, role: str, teams: list[dict[str, str]], before: dict | None = None,
           token: str | None = None) -> Action:
    with app.app_context():
        claim = actions.update_member(FLASK,
            app.extensions["upstream"].client, token or tokens.issue(app.secret_key, "cli", ADMIN.email), ADMIN,
            member_id=m["id"], email=m["email"], name=m["name"], before=before or seen(sandbox, m), role=role,
            teams=teams)
        return claim.action


def remove(app, sandbox, m: dict, before: dict | None = None, token: str | None = None) -> Action:
    with app.app_context():
        return actions.remove_member(FLASK,
            app.extensions["upstream"].client, token or tokens.issue(app.secret_key, "cli", ADMIN.email), ADMIN,
            member_id=m["id"], email=m["email"], name=m["name"], before=before or seen(sandbox, m)).action


def stored(app, row: Action) -> Action:
    with app.app_context():
        found = db.session.get(Action, row.id)
        db.session.expunge(found)
        return found


def held(sandbox, m: dict) -> dict | None:
    return sandbox.state.get_member(uuid.UUID(m["id"]))


def test_a_change_is_recorded_before_and_after_and_made_once(app, sandbox):
    sam = member(sandbox, "Sam O'Connor")
    cardiology = team(sandbox, "Cardiology")
    token = tokens.issue(app.secret_key, "cli", ADMIN.email)
    row = change(app, sandbox, sam, "team_admin", [cardiology], token=token)
    again = change(app, sandbox, sam, "team_admin", [cardiology], before=seen(sandbox, sam), token=token)
    assert again.id == row.id and sent(sandbox, "PATCH") == 1
    row = stored(app, row)
    assert (row.action, row.state, row.outcome_kind, row.http_status) == ("update_member", DONE, "member_changed", 200)
    assert (row.role, row.teams) == ("team_admin", [cardiology])
    assert row.outcome["before"] == {"role": "no_role", "teams": []}
    assert row.outcome["title"] == "Changed Sam O'Connor: Team admin of Cardiology."
    assert held(sandbox, sam)["role"] == "team_admin"
    assert vocabulary.label(row.outcome_kind, row.action) == "Role and teams changed"


def test_a_removal_is_recorded_with_what_they_had(app, sandbox):
    priya = member(sandbox, "Priya Natarajan")
    row = stored(app, remove(app, sandbox, priya))
    assert (row.action, row.outcome_kind, row.role) == ("remove_member", "member_removed", "team_admin")
    assert sorted(t["name"] for t in row.teams) == ["Cardiology", "Remote Patient Monitoring"]
    assert held(sandbox, priya) is None
    assert row.outcome["title"] == "Removed Priya Natarajan (priya.natarajan@acmehealth.com) from the org."


def test_the_last_org_admin_can_be_neither_demoted_nor_removed(app, sandbox):
    sandbox.state.update_member(uuid.UUID(member(sandbox, "Marcus Oyelaran")["id"]), "no_role", None)
    dana = member(sandbox, "Dana Whitfield")
    demoted = stored(app, change(app, sandbox, dana, "no_role", []))
    removed = stored(app, remove(app, sandbox, dana))
    assert demoted.outcome_kind == removed.outcome_kind == "last_admin"
    assert removed.outcome["title"] == "Not removed: Dana Whitfield is the org's last Org admin."
    assert "Make someone else an Org admin first" in demoted.outcome["text"]
    assert sent(sandbox, "PATCH") == sent(sandbox, "DELETE") == 0
    assert held(sandbox, dana)["role"] == "org_admin"


def test_an_org_admin_with_another_beside_them_can_be_demoted(app, sandbox):
    dana = member(sandbox, "Dana Whitfield")
    assert stored(app, change(app, sandbox, dana, "no_role", [])).outcome_kind == "member_changed"


def test_a_member_changed_meanwhile_is_left_alone_and_the_answer_says_what_is_there(app, sandbox):
    sam = member(sandbox, "Sam O'Connor")
    what_the_page_showed = seen(sandbox, sam)
    sandbox.state.update_member(uuid.UUID(sam["id"]), "team_admin", [team(sandbox, "Sleep Clinic")["id"]])
    for row in (change(app, sandbox, sam, "org_admin", [], before=what_the_page_showed),
                remove(app, sandbox, sam, before=what_the_page_showed)):
        row = stored(app, row)
        assert row.outcome_kind == "changed_meanwhile"
        assert row.outcome["now"] == {"role": "team_admin", "teams": [team(sandbox, "Sleep Clinic")]}
        assert "It was No role; it is now Team admin of Sleep Clinic. Nothing was applied" in row.outcome["text"]
    assert sent(sandbox, "PATCH") == sent(sandbox, "DELETE") == 0


def test_a_member_removed_elsewhere_is_no_longer_a_member(app, sandbox):
    jordan = member(sandbox, "Jordan Blake")
    before = seen(sandbox, jordan)
    sandbox.state.remove_member(uuid.UUID(jordan["id"]))
    row = stored(app, change(app, sandbox, jordan, "org_admin", [], before=before))
    assert row.outcome_kind == "member_gone"
    assert vocabulary.label(row.outcome_kind, row.action) == "Not changed: no longer a member"


def test_500_checked_by_reading_again_is_unknown_while_the_old_values_stand(app, sandbox):
    m = scripted(sandbox, "status500@example.com")
    row = stored(app, change(app, sandbox, m, "org_admin", []))
    assert (row.outcome_kind, row.http_status) == ("unknown", 500)
    assert row.outcome["title"] == ("Unknown: Junction failed while handling it. Junction still lists "
                                    "Scripted Person as No role.")
    assert sent(sandbox, "PATCH") == 1


@pytest.mark.parametrize("address", ["lost@example.com", "slow@example.com"])
def test_an_answer_that_never_came_is_settled_by_reading_the_member_again(sandbox, database_url, address):
    # slow@ answers later than this timeout; lost@ never answers at all
    app = make_app(app_env(sandbox, database_url, JUNCTION_TIMEOUT_SECONDS=TIMES_OUT_ON_SLOW))
    m = scripted(sandbox, address)
    changed = stored(app, change(app, sandbox, m, "team_admin", [team(sandbox, "Cardiology")]))
    assert changed.outcome_kind == "member_changed" and changed.outcome["checked"] is True
    assert "shows the change made" in changed.outcome["text"]
    removed = stored(app, remove(app, sandbox, m, before=seen(sandbox, held(sandbox, m))))
    assert removed.outcome_kind == "member_removed" and removed.outcome["checked"] is True
    assert sent(sandbox, "PATCH") == sent(sandbox, "DELETE") == 1


def test_429_says_when_to_try_again_and_changes_nothing(app, sandbox):
    m = scripted(sandbox, "status429@example.com")
    row = stored(app, remove(app, sandbox, m))
    assert row.outcome_kind == "rate_limited"
    assert row.outcome["title"] == "Not removed: Junction is limiting how fast changes can be made."
    assert row.outcome["text"] == "Wait 30 seconds, then remove again."
    assert held(sandbox, m) is not None


def test_422_is_shown_under_its_field(app, sandbox):
    sam = member(sandbox, "Sam O'Connor")
    foreign = {"id": "00000000-0000-4000-8000-000000000000", "name": "Somebody Else's Team"}
    row = stored(app, change(app, sandbox, sam, "team_admin", [foreign]))
    assert row.outcome_kind == "validation_error" and row.http_status == 422
    assert list(row.outcome["field_errors"]) == ["teams"]
    assert "Somebody Else's Team" in row.outcome["field_errors"]["teams"][0]
    assert row.outcome["invalid_team_ids"] == [foreign["id"]]


def test_404_for_a_member_junction_still_lists_is_not_done_and_says_so(app, sandbox):
    m = scripted(sandbox, "status404@example.com")
    row = stored(app, remove(app, sandbox, m))
    assert (row.outcome_kind, row.http_status) == ("not_found", 404)
    assert row.outcome["title"] == "Not removed: Junction answered that it does not know Scripted Person (HTTP 404)."


def test_a_token_of_another_action_is_refused(app, sandbox):
    sam = member(sandbox, "Sam O'Connor")
    token = tokens.issue(app.secret_key, "cli", ADMIN.email)
    change(app, sandbox, sam, "no_role", [], token=token)
    with pytest.raises(actions.TokenClash):
        remove(app, sandbox, sam, token=token)


def test_metrics_count_the_new_actions_by_outcome(sandbox, tmp_path):
    from test_metrics import TOKEN, scrape, value

    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'm.db'}", METRICS_BEARER_TOKEN=TOKEN))
    client = app.test_client()
    auth = {"headers": {"Authorization": f"Bearer {TOKEN}"}}
    before = scrape(client, **auth)
    change(app, sandbox, member(sandbox, "Sam O'Connor"), "org_admin", [])
    remove(app, sandbox, member(sandbox, "Jordan Blake"))
    after = scrape(client, **auth)
    app.extensions["upstream"].client.close()
    for action, outcome in (("update_member", "member_changed"), ("remove_member", "member_removed")):
        grew = value(after, "invite_audit_actions_total", action=action, outcome=outcome) - \
            value(before, "invite_audit_actions_total", action=action, outcome=outcome)
        assert grew == 1, action
        assert value(after, "invite_audit_actions_started_total", action=action) >= 1
