"""Two gunicorn instances on different ports sharing one PostgreSQL (a fresh schema), for real: one send per
form token however many instances it is posted to, the resend cooldown across them, one /activity, and
migrations run once by the release command, never by an instance."""

from __future__ import annotations

import html
import re
import threading

import pytest
import requests
import sqlalchemy as sa
from conftest import SECRET, form_tokens
from gunicorn_instance import GunicornInstance, release

from invite.sandbox import SandboxServer


@pytest.fixture
def slow_sandbox():
    # 300 ms on every call, so two posts "at once" really overlap while the first is with Junction.
    with SandboxServer(port=0, latency_ms=300) as server:
        yield server


def invite_posts(sandbox, email):
    return [e for e in sandbox.state.requests_log()
            if e["method"] == "POST" and e["path"].endswith("/invite") and (e.get("json") or {}).get("email") == email]


def tables(database_url: str) -> list[str]:
    """The tables in the test's own schema (conftest's database_url puts it in search_path)."""
    schema = database_url.rsplit("search_path%3D", 1)[1]
    engine = sa.create_engine(database_url)
    try:
        return sa.inspect(engine).get_table_names(schema=schema)
    finally:
        engine.dispose()


def send_form(session: requests.Session, instance: GunicornInstance, email: str) -> dict[str, str]:
    page = session.get(instance.url("/"), timeout=10).text
    return {**form_tokens(page), "email": email, "role": "no_role"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # a fresh schema of its own
def test_two_instances_share_one_postgresql(database_url, slow_sandbox, tmp_path):
    url = database_url
    env = {"INVITE_SANDBOX": "1", "JUNCTION_API_BASE_URL": slow_sandbox.base_url, "SECRET_KEY": SECRET,
           "DATABASE_URL": url, "WEB_CONCURRENCY": "1", "WEB_THREADS": "4", "JUNCTION_TIMEOUT_SECONDS": "5"}
    first = GunicornInstance(env, tmp_path / "a.log")
    second = GunicornInstance(env, tmp_path / "b.log")
    with first:
        # An instance never migrates by itself: up, every page saying how to migrate, the schema still
        # empty; not ready.
        page = requests.get(first.url("/"), timeout=10)
        assert page.status_code == 503 and "flask --app app db upgrade" in page.text
        ready = requests.get(first.url("/readyz"), timeout=10)
        assert ready.status_code == 503 and "release command" in ready.json()["reason"]
        assert tables(url) == []

        release(env)  # the Procfile's release line, once
        assert set(tables(url)) >= {"actions", "alembic_version"}
        with second:
            for instance in (first, second):
                assert requests.get(instance.url("/readyz"), timeout=10).json() == {"status": "ready"}
            run_shared_checks(first, second, slow_sandbox)
    for instance in (first, second):
        assert "Running upgrade" not in instance.output()  # alembic's line: only the release command ran it


def run_shared_checks(first, second, sandbox):
    # One session cookie for both: nothing is kept in a process, so no sticky sessions are needed.
    session = requests.Session()

    # 1. The same form token posted to both instances at once: Junction is asked once.
    data = send_form(session, first, "both.at.once@example.org")
    barrier = threading.Barrier(2)
    answers = {}

    def post(instance):
        barrier.wait()
        answers[instance.port] = session.post(instance.url("/"), data=data, allow_redirects=False, timeout=30)

    threads = [threading.Thread(target=post, args=(instance,)) for instance in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    locations = {response.headers.get("Location") for response in answers.values()}
    assert [response.status_code for response in answers.values()] == [303, 303]
    assert locations == {f"/sent/{data['submission_token']}"}
    assert len(invite_posts(sandbox, "both.at.once@example.org")) == 1
    result = session.get(second.url(locations.pop()), timeout=10).text
    assert "Invitation sent to both.at.once@example.org" in html.unescape(result)

    # 2. Sent through the first instance; a resend through the second asks first (the cooldown holds).
    session.post(first.url("/"), data=send_form(session, first, "cooldown@example.org"), timeout=30)
    listing = session.get(second.url("/invitations"), params={"q": "cooldown@example.org"}, timeout=10).text
    form = re.search(r'<form method="post" action="(/invitations/[^"]+/resend)"(.*?)</form>', listing, re.S)
    fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form[2]))
    confirm = session.post(second.url(html.unescape(form[1])), data=fields, timeout=30)
    assert confirm.status_code == 200 and "less than a minute ago" in confirm.text
    assert len(invite_posts(sandbox, "cooldown@example.org")) == 1  # not resent without confirming

    # 3. One trail: /activity on either instance shows what both did.
    session.post(second.url("/"), data=send_form(session, second, "via.second@example.org"), timeout=30)
    for instance in (first, second):
        activity = html.unescape(session.get(instance.url("/activity"), timeout=10).text)
        for email in ("both.at.once@example.org", "cooldown@example.org", "via.second@example.org"):
            assert email in activity, (instance.port, email)
    assert activity.count("both.at.once@example.org") >= 1
