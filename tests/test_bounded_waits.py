"""A page waits at most JUNCTION_TIMEOUT_SECONDS for one Junction operation, retries included, and says
which call was slow with a way to try again. Against a scripted Junction over real HTTP."""

from __future__ import annotations

import html
import time

import pytest
from conftest import make_app
from scripted_upstream import Reply, ScriptedUpstream
from test_invite_flow_scripted import ORG, TEAMS

from invite.sandbox import DEMO_KEY, DEMO_ORG_ID

TIMEOUT = 2.0
# Rendering, the app's own work and a loaded machine (the suite runs on several processes): still under one
# more timeout, so a retried or a second held call would show.
SLACK = 1.5


class HoldingJunction:
    """Answers every read at once, except the paths listed in `hold`, which it never answers."""

    def __init__(self, *hold: str):
        self.hold = hold

    def __call__(self, request):
        path = request.target.split("?")[0]
        if any(path.endswith(suffix) for suffix in self.hold):
            return Reply.stall(10)
        if path.endswith("/team"):
            return Reply(200, json=TEAMS)
        if path.endswith("/invite") or path.endswith("/member"):
            key = "invites" if path.endswith("/invite") else "members"
            return Reply(200, json={key: [], "next_cursor": None})
        return Reply(200, json=ORG)


@pytest.fixture
def upstream():
    with ScriptedUpstream() as up:
        yield up


def client_for(upstream, tmp_path, junction):
    upstream.handler = junction
    app = make_app({
        "INVITE_SANDBOX": "1", "JUNCTION_API_BASE_URL": upstream.base_url, "JUNCTION_MANAGEMENT_KEY": DEMO_KEY,
        "JUNCTION_ORG_ID": DEMO_ORG_ID, "JUNCTION_TIMEOUT_SECONDS": str(TIMEOUT), "SECRET_KEY": "s" * 32,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bounded.db'}",
    })
    return app.test_client()


def timed_get(client, url):
    started = time.monotonic()
    response = client.get(url)
    return response, html.unescape(response.get_data(as_text=True)), time.monotonic() - started


@pytest.mark.parametrize(("url", "held", "what"), [
    ("/invitations?q=someone@example.com", "/invite", "invitations"),
    ("/members?q=someone@example.com", "/member", "members"),
])
def test_a_held_list_costs_one_timeout_and_says_so_with_a_retry_link(upstream, tmp_path, url, held, what):
    client = client_for(upstream, tmp_path, HoldingJunction())
    client.get("/healthz")
    client.get(url.split("?")[0] + "?q=warm")  # teams and org cached; only the list call is left
    upstream.handler.hold = (held,)
    before = sum(r.path.endswith(held) for r in upstream.requests)
    response, text, elapsed = timed_get(client, url)
    assert response.status_code == 200
    assert elapsed < TIMEOUT + SLACK, f"{url} took {elapsed:.2f} s with a {TIMEOUT} s timeout"
    assert sum(r.path.endswith(held) for r in upstream.requests) == before + 1  # a read timeout is not retried
    assert f"Could not load the {what}: Junction did not answer in time." in text
    assert f"no answer came within {TIMEOUT:g} seconds" in text
    assert 'q=someone%40example.com">Try again</a>' in text or 'q=someone@example.com">Try again</a>' in text


def test_a_held_team_list_leaves_the_form_usable_and_says_why(upstream, tmp_path):
    client = client_for(upstream, tmp_path, HoldingJunction("/team"))
    response, text, elapsed = timed_get(client, "/")
    assert response.status_code == 200
    # The org name (answered) and the team list (held once): one timeout, not three.
    assert elapsed < TIMEOUT + SLACK, elapsed
    assert "The team list could not be loaded from Junction" in text and f"within {TIMEOUT:g} seconds" in text
    assert "Refresh teams" in text


def test_a_failed_team_list_is_not_remembered_for_long(upstream, tmp_path):
    client = client_for(upstream, tmp_path, HoldingJunction("/team"))
    client.get("/")
    upstream.handler.hold = ()
    # Within the failure's few seconds the page does not wait again; after them, it asks again.
    _, text, elapsed = timed_get(client, "/")
    assert "could not be loaded" in text and elapsed < TIMEOUT / 2
    time.sleep(5.1)
    _, text, _ = timed_get(client, "/")
    assert "could not be loaded" not in text and "Cardiology" in text
