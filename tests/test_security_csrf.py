"""Finding 2 of #13: the expired-form page re-fills the invite form only for a post from our own pages."""

from __future__ import annotations

import pytest
from conftest import form_tokens

ATTACKER = "attacker@evil.example"


def post_without_csrf(client, headers):
    page = client.get("/").get_data(as_text=True)
    data = {"submission_token": form_tokens(page)["submission_token"], "email": ATTACKER, "role": "team_admin"}
    return client.post("/", data=data, headers=headers)


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},  # sandboxed iframes and data: pages
    {"Referer": "https://evil.example/page"},
    {"Origin": "http://localhost.evil.example"},
    {"Origin": "https://localhost"},  # another scheme is another origin
    {},  # no word on where it came from
])
def test_a_cross_site_post_is_not_prefilled(client, sandbox, headers):
    response = post_without_csrf(client, headers)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "this form had expired" in text
    assert ATTACKER not in text
    assert 'value="team_admin" selected' not in text and "check them and send again" not in text
    assert sandbox.state.find_invite_by_email(ATTACKER) is None


@pytest.mark.parametrize("headers", [{"Origin": "http://localhost"}, {"Referer": "http://localhost/"}])
def test_our_own_expired_form_keeps_its_values(client, headers):
    text = post_without_csrf(client, headers).get_data(as_text=True)
    assert f'value="{ATTACKER}"' in text and "check them and send again" in text
    assert 'value="team_admin" selected' in text
