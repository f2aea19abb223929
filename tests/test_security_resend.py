"""Finding 5 of #13: resend/revoke tokens are issued by the server, and resends of one address are limited
server-side whatever was confirmed. Through the real app, against a sandbox over HTTP."""

from __future__ import annotations

import time

import pytest
from conftest import app_env, form_tokens, make_app
from test_support_flow import HELENA, form_fields, invite_of, invite_posts, resend_form, text_of

from invite.config import ConfigError, load_settings
from invite.support.forms import confirmation_for, issue_row_token

OTHER = "kofi.mensah@acmehealth.com"


@pytest.fixture
def app(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'r.db'}"))
    yield app
    app.extensions["upstream"].client.close()


def resend_confirmed(client, email):
    """List, Resend, and "Resend anyway" when the cooldown asks: what a person clicking through does."""
    invite_id, fields = resend_form(client, email)
    response = client.post(f"/invitations/{invite_id}/resend", data=fields)
    if response.status_code == 200 and "Resend anyway" in text_of(response):
        response = client.post(f"/invitations/{invite_id}/resend",
                               data=form_fields(text_of(response), f"/invitations/{invite_id}/resend"))
    return response


def test_a_made_up_token_with_confirm_1_sends_nothing(client, sandbox):
    invite_id = invite_of(sandbox, HELENA)["id"]
    csrf = form_tokens(client.get("/").get_data(as_text=True))["csrf_token"]
    started = time.perf_counter()
    for n in range(10):
        response = client.post(f"/invitations/{invite_id}/resend", data={
            "csrf_token": csrf, "submission_token": f"fresh-client-token-{n:04d}", "email": HELENA, "confirm": "1"})
        assert response.status_code == 303
        assert "notice=expired" in response.headers["Location"]
    assert time.perf_counter() - started < 10
    assert invite_posts(sandbox) == []


def test_a_token_is_good_only_for_its_own_invitation_and_action(client, sandbox):
    helena = invite_of(sandbox, HELENA)["id"]
    _, fields = resend_form(client, HELENA)
    other = next(i["id"] for i in sandbox.state.invites if i["id"] != helena)
    elsewhere = client.post(f"/invitations/{other}/resend", data=fields)
    assert "notice=expired" in elsewhere.headers["Location"]
    as_revoke = client.post(f"/invitations/{helena}/revoke", data=fields)
    assert "notice=expired" in as_revoke.headers["Location"]
    assert invite_posts(sandbox) == [] and [e for e in sandbox.state.requests_log() if e["method"] == "DELETE"] == []


def test_confirm_1_does_not_skip_the_cooldown_prompt(client, sandbox, app):
    resend_confirmed(client, HELENA)  # sent just now: the next one is within the cooldown
    invite_id, fields = resend_form(client, HELENA)
    response = client.post(f"/invitations/{invite_id}/resend", data={**fields, "confirm": "1"})
    assert response.status_code == 200
    assert "Resend anyway" in text_of(response)
    assert len(invite_posts(sandbox)) == 1


def test_ten_confirmed_resends_in_a_row_send_once(client, sandbox):
    answers = [resend_confirmed(client, HELENA) for _ in range(10)]
    assert len(invite_posts(sandbox)) == 1
    assert answers[0].status_code == 303
    for refused in answers[1:]:
        assert refused.status_code == 429
        text = text_of(refused)
        assert f"Not sent: {HELENA} was sent an invitation less than a minute ago." in text
        assert "at most once every 60 seconds" in text and "then try again" in text


def test_at_most_n_a_day(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'd.db'}", INVITE_RESEND_MIN_INTERVAL_SECONDS="0",
                           INVITE_RESENDS_PER_DAY="3"))
    client = app.test_client()
    answers = [resend_confirmed(client, HELENA) for _ in range(5)]
    assert [a.status_code for a in answers] == [303, 303, 303, 429, 429]
    assert len(invite_posts(sandbox)) == 3
    text = text_of(answers[3])
    assert f"Not sent: {HELENA} has been sent 3 invitations in the last 24 hours" in text
    assert "The next one can go after" in text
    # Another address is not affected.
    assert resend_confirmed(client, OTHER).status_code == 303
    app.extensions["upstream"].client.close()


def test_the_signed_confirmation_is_what_the_prompt_carries(client, app, sandbox):
    resend_confirmed(client, HELENA)
    invite_id, fields = resend_form(client, HELENA)
    page = text_of(client.post(f"/invitations/{invite_id}/resend", data=fields))
    confirm = form_fields(page, f"/invitations/{invite_id}/resend")
    assert confirm["confirm"] == confirmation_for(app.secret_key, fields["submission_token"])
    assert fields["submission_token"] != issue_row_token(app.secret_key, "resend", invite_id)  # random each time


@pytest.mark.parametrize(("name", "value"), [("INVITE_RESENDS_PER_DAY", "-1"),
                                             ("INVITE_RESENDS_PER_DAY", "many"),
                                             ("INVITE_RESEND_MIN_INTERVAL_SECONDS", "86401")])
def test_limits_are_checked_at_start_up(name, value):
    with pytest.raises(ConfigError) as info:
        load_settings({"INVITE_SANDBOX": "1", name: value})
    assert len(info.value.problems) == 1 and info.value.problems[0].startswith(name)


def test_fresh_invite_forms_cannot_mail_bomb_one_address_either(client, sandbox):
    """The invite form resends a pending invitation too: the same per-address limit holds there, and what
    was typed is kept."""
    page = client.get("/").get_data(as_text=True)
    first = client.post("/", data={**form_tokens(page), "email": "bombed@example.org", "role": "no_role"})
    assert first.status_code == 303

    page = client.get("/").get_data(as_text=True)  # a fresh form, so a fresh one-time token
    again = client.post("/", data={**form_tokens(page), "email": "Bombed@example.org", "role": "no_role"})
    text = text_of(again)
    assert again.status_code == 429
    assert "Not sent: Bombed@example.org was sent an invitation less than a minute ago." in text
    assert "at most once every 60 seconds" in text and "Wait" in text
    assert 'value="Bombed@example.org"' in again.get_data(as_text=True)
    assert [p["json"]["email"] for p in invite_posts(sandbox)] == ["bombed@example.org"]
