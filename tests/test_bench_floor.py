"""bench/floor_app.py, the floor bench/cost.py holds the dashboard against, really sends the invite it reports."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import requests

from invite.sandbox import DEMO_KEY, DEMO_ORG_ID

FLOOR_APP = Path(__file__).resolve().parent.parent / "bench" / "floor_app.py"


def load_floor(monkeypatch, sandbox):
    monkeypatch.setenv("FLOOR_JUNCTION_URL", sandbox.base_url)
    monkeypatch.setenv("FLOOR_ORG_ID", DEMO_ORG_ID)
    monkeypatch.setenv("FLOOR_KEY", DEMO_KEY)
    spec = importlib.util.spec_from_file_location("floor_app_under_test", FLOOR_APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def test_the_floor_sends_through_junction_redirects_and_says_so(monkeypatch, sandbox):
    client = load_floor(monkeypatch, sandbox).test_client()
    assert 'name="email"' in client.get("/").get_data(as_text=True)

    posted = client.post("/", data={"email": "floor@example.org"})
    assert posted.status_code == 303
    page = client.get(posted.headers["Location"]).get_data(as_text=True)
    assert "Invitation sent to floor@example.org" in page

    listed = requests.get(f"{sandbox.base_url}/v1/org/{DEMO_ORG_ID}/invite", headers={"X-Management-Key": DEMO_KEY},
                          params={"search_query": "floor@example.org"}, timeout=5).json()
    assert [invite["email"] for invite in listed["invites"]] == ["floor@example.org"]


def test_the_floor_reports_a_refused_invite_as_not_sent(monkeypatch, sandbox):
    client = load_floor(monkeypatch, sandbox).test_client()
    posted = client.post("/", data={"email": "not an address"})
    assert posted.status_code == 303
    assert "Not sent: HTTP 422" in client.get(posted.headers["Location"]).get_data(as_text=True)


def test_a_rounds_invites_are_split_into_turns_that_add_up(monkeypatch):
    import sys

    monkeypatch.syspath_prepend(str(FLOOR_APP.parent))
    sys.modules.pop("cost", None)
    from cost import slice_sizes

    assert slice_sizes(300, 5) == [60] * 5
    assert slice_sizes(101, 5) == [21, 20, 20, 20, 20]
    assert slice_sizes(3, 5) == [1, 1, 1] and slice_sizes(7, 1) == [7] and slice_sizes(7, 0) == [7]
