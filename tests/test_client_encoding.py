"""Text that cannot be encoded never leaves as a raw UnicodeEncodeError, and is never half-sent.

A lone surrogate can only come from a bad decode or a bug: the client refuses it with its own
UnsendableRequestError (a JunctionError that says nothing was sent, so the pages' existing "not sent"
handling applies) before anything goes on the wire. A browser turns a lone surrogate into U+FFFD, which
the invite form refuses with a message under the field.
"""

from __future__ import annotations

import pytest
from conftest import form_tokens

from invite.core import outcomes
from invite.junction import JunctionClient, JunctionError, UnsendableRequestError
from invite.sandbox import DEMO_KEY, DEMO_ORG_ID, SandboxServer

LONE = "\udc00"


@pytest.fixture
def jc(sandbox: SandboxServer):
    client = JunctionClient(base_url=sandbox.base_url, management_key=DEMO_KEY, org_id=DEMO_ORG_ID, timeout=2)
    yield client
    client.close()


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda jc: jc.create_or_resend_invite(f"a{LONE}@example.com", "no_role", None), "email address"),
        (lambda jc: jc.create_or_resend_invite("a@example.com", "no_role", [f"team{LONE}"]), "team id"),
        (lambda jc: jc.create_or_resend_invite("a@example.com", f"no_role{LONE}", None), "role"),
        (lambda jc: jc.list_invites(search_query=f"x{LONE}"), "search"),
        (lambda jc: jc.list_members(search_query=f"x{LONE}"), "search"),
        (lambda jc: jc.list_invites(cursor=f"c{LONE}"), "page cursor"),
        (lambda jc: jc.find_pending_invite(f"a{LONE}@example.com"), "search"),
        (lambda jc: jc.revoke_invite(f"id{LONE}"), "invite_id"),
    ],
)
def test_unencodable_text_is_our_error_and_nothing_is_sent(jc, sandbox, call, named):
    with pytest.raises(UnsendableRequestError) as info:
        call(jc)
    error = info.value
    assert isinstance(error, JunctionError) and not isinstance(error, UnicodeError)
    assert error.may_have_taken_effect is False
    assert named in error.message and "nothing was sent" in error.message
    assert sandbox.state.requests_log() == []


def test_astral_characters_are_not_surrogates_and_go_through(jc, sandbox):
    page = jc.list_invites(search_query="\U0001f600")
    assert page.items == ()
    assert sandbox.state.requests_log()[-1]["query"] == {"search_query": ["\U0001f600"]}


def test_the_form_refuses_an_address_with_a_replacement_character(client, sandbox):
    page = client.get("/").get_data(as_text=True)
    response = client.post("/", data={**form_tokens(page), "email": "a\ufffdb@example.com", "role": "no_role"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "could not be read" in text and 'aria-invalid="true"' in text
    assert not [e for e in sandbox.state.requests_log() if e["method"] == "POST"]


def test_a_refused_request_is_described_as_not_sent():
    error = UnsendableRequestError("The email address contains a character that cannot be sent; nothing was sent.")
    notice = outcomes.describe_not_sent(error)
    assert notice["sent"] == outcomes.NOT_SENT
    assert notice["title"] == "Not sent: " + error.message
    assert notice["error_kind"] == "UnsendableRequestError"
