"""Server-Timing counts every Junction call made for a request, also those made on a pool's threads (issue 25:
a bulk preview walking the invitations on a second thread reported 201–222 calls of the 341–362 it made).
Checked against the sandbox's own request log."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from conftest import app_env, make_app

from invite.adapters.upstream import for_this_request, get_upstream, request_tally

_TIMING = re.compile(r'junction;dur=([0-9.]+);desc="Junction, (\d+) calls?"')
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]*)"')


def reported(response) -> tuple[int, float]:
    """(calls, ms) that the response's Server-Timing header gives Junction; (0, 0) when it names none."""
    found = _TIMING.search(response.headers.get("Server-Timing", ""))
    return (int(found.group(2)), float(found.group(1))) if found else (0, 0.0)


def made(sandbox) -> int:
    return len([entry for entry in sandbox.state.requests_log() if entry["path"].startswith("/v1")])


def test_calls_made_on_pool_threads_for_the_request_are_counted(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'invite.db'}"))

    def fanned_out():
        client = get_upstream().client
        client.get_org()  # one on the request's thread
        with ThreadPoolExecutor(max_workers=3) as pool:
            pages = [pool.submit(for_this_request(lambda: client.list_invites(search_query=None, cursor=None)))
                     for _ in range(6)]
            [page.result() for page in pages]
        return "ok"

    def on_a_thread_of_its_own():
        """A thread not handed the request's tally: its calls are not the request's (the worker's, say)."""
        client = get_upstream().client
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(client.get_org).result()
        return "ok"

    app.add_url_rule("/_test/fanned-out", view_func=fanned_out)
    app.add_url_rule("/_test/own-thread", view_func=on_a_thread_of_its_own)
    client = app.test_client()
    before = made(sandbox)
    response = client.get("/_test/fanned-out")
    calls, ms = reported(response)
    assert response.status_code == 200 and made(sandbox) - before == 7
    assert calls == 7 and ms > 0
    assert reported(client.get("/_test/own-thread")) == (0, 0.0)


def test_a_pool_thread_keeps_no_tally_after_its_work(sandbox, tmp_path):
    """A pool's thread is reused for other work: after the request's, it counts for nobody."""
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'invite.db'}"))
    with ThreadPoolExecutor(max_workers=1) as pool:
        with app.test_request_context("/"):
            assert pool.submit(for_this_request(request_tally)).result() is request_tally()
        assert pool.submit(request_tally).result() is None


def test_the_bulk_previews_calls_are_all_counted(sandbox, tmp_path):
    """The bulk preview walks List Members and List Invites side by side (the sandbox pages by 5 here)."""
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'invite.db'}"))
    client = app.test_client()
    page = client.get("/bulk").get_data(as_text=True)
    before = made(sandbox)
    response = client.post("/bulk/preview", data={"csrf_token": _CSRF.search(page).group(1),
                                                  "text": "fresh.one@example.com\nfresh.two@example.com\n"})
    assert response.status_code == 200
    calls, _ = reported(response)
    assert calls == made(sandbox) - before and calls > 2
