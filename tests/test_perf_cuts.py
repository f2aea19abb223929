"""The cuts made for the invite path's CPU cost (issue 12; bench/README.md) keep behaviour exactly."""

from __future__ import annotations

import pytest
from conftest import app_env, form_tokens, make_app
from hypothesis import given, settings
from hypothesis import strategies as st

from invite.core.safe_text import clean_text, fit
from invite.junction import UnreachableError


def test_the_session_serializer_is_built_once_and_follows_a_new_secret_key(app, client):
    interface = app.session_interface
    first = interface.get_signing_serializer(app)
    assert interface.get_signing_serializer(app) is first  # once per process, not per request

    tokens = form_tokens(client.get("/").get_data(as_text=True))
    app.secret_key = "another secret key, so every cookie signed so far is refused"
    assert interface.get_signing_serializer(app) is not first
    posted = client.post("/", data={**tokens, "email": "a@example.org", "role": "no_role"})
    assert posted.status_code == 400  # the old cookie no longer carries a valid CSRF session
    assert "this form had expired" in posted.get_data(as_text=True)


def test_hidden_tokens_render_exactly_as_wtforms_writes_them(app):
    from wtforms.widgets import HiddenInput

    from invite.invites.forms import InviteForm

    with app.test_request_context("/"):
        form = InviteForm(formdata=None)
        form.submission_token.data = 'a"b&c<d>'
        for field in (form.csrf_token, form.submission_token):
            assert str(field) == HiddenInput()(field)
        assert 'value="a&#34;b&amp;c&lt;d&gt;"' in str(form.submission_token)
        # Anything else still goes through WTForms' own widgets.
        assert str(form.submission_token(class_="x")) == HiddenInput()(form.submission_token, class_="x")
        form.submission_token.flags.disabled = True
        assert str(form.submission_token) == HiddenInput()(form.submission_token)
        assert "disabled" in str(form.submission_token)


def _session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_a_session_cookie_is_verified_once_then_remembered_until_it_expires(app, client, monkeypatch):
    from datetime import timedelta

    from invite import web

    tokens = form_tokens(client.get("/").get_data(as_text=True))  # makes the session's CSRF token
    cookie = _session_cookie(client)
    interface = app.session_interface
    serializer = interface.get_signing_serializer(app)
    verified = []
    real_loads = serializer.loads
    monkeypatch.setattr(serializer, "loads", lambda *a, **kw: verified.append(1) or real_loads(*a, **kw))

    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
        from flask import request

        first = interface.open_session(app, request)
        first["csrf_token"] = "changed by this request only"
        second = interface.open_session(app, request)
    assert second["csrf_token"] != "changed by this request only" and second["csrf_token"]
    assert len(verified) <= 1  # verified at most once (the form GET may already have remembered it)
    assert client.post("/", data={**tokens, "email": "remembered@example.org", "role": "no_role"}).status_code == 303

    # Remembered, but still refused once it is older than the session lifetime.
    app.permanent_session_lifetime = timedelta(seconds=60)
    real_time = web.time.time
    monkeypatch.setattr(web.time, "time", lambda: real_time() + 3600)
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
        from flask import request

        assert dict(interface.open_session(app, request)) == {}


def test_a_tampered_or_mutable_session_is_never_remembered(app, client):
    client.get("/")
    client.get("/")  # the first made the cookie; this one sends it
    cookie = _session_cookie(client)
    interface = app.session_interface
    remembered = interface._signing(app)[1]
    # Inside the signature: its last character carries padding bits, which the signature check ignores.
    tampered = cookie[:-6] + ("A" if cookie[-6] != "A" else "B") + cookie[-5:]
    with app.test_request_context("/", headers={"Cookie": f"session={tampered}"}):
        from flask import flash, request

        assert dict(interface.open_session(app, request)) == {}
    assert f"session={tampered}" not in remembered

    with app.test_request_context("/"):
        from flask import session

        flash("Sent.", "info")  # a list inside the session: a shared copy could be changed in place
        flashed = interface.get_signing_serializer(app).dumps(dict(session))
    with app.test_request_context("/", headers={"Cookie": f"session={flashed}"}):
        from flask import request

        opened = interface.open_session(app, request)
        assert opened["_flashes"] == [("info", "Sent.")]
    assert f"session={flashed}" not in remembered and f"session={cookie}" in remembered


def _statements_during(app, work) -> list[str]:
    import sqlalchemy as sa

    from invite.adapters.storage import db

    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def listener(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        work()
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    return seen


def test_the_result_page_right_after_a_send_reads_nothing_back(app, client, sandbox, tmp_path, monkeypatch):
    from conftest import app_env, make_app

    from invite.adapters import storage

    tokens = form_tokens(client.get("/").get_data(as_text=True))
    posted = client.post("/", data={**tokens, "email": "kept@example.org", "role": "no_role"})
    pages = []
    statements = _statements_during(app, lambda: pages.append(client.get(posted.headers["Location"])))
    assert "Invitation sent to kept@example.org" in pages[0].get_data(as_text=True)
    assert not [s for s in statements if "actions" in s]

    # Another process on the same database (a second instance) has not completed it: it reads the row.
    other = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'invite.db'}"))
    elsewhere = []
    statements = _statements_during(
        other, lambda: elsewhere.append(other.test_client().get(posted.headers["Location"])))
    assert "Invitation sent to kept@example.org" in elsewhere[0].get_data(as_text=True)
    assert [s for s in statements if "actions" in s]

    # Only the last few are kept: an older one is read back like any other.
    monkeypatch.setattr(storage, "_DONE_KEPT", 1)
    tokens = form_tokens(client.get("/").get_data(as_text=True))
    client.post("/", data={**tokens, "email": "later@example.org", "role": "no_role"})
    statements = _statements_during(app, lambda: pages.append(client.get(posted.headers["Location"])))
    assert "Invitation sent to kept@example.org" in pages[-1].get_data(as_text=True)
    assert [s for s in statements if "actions" in s]


def _csrf(page) -> str:
    return form_tokens(page.get_data(as_text=True))["csrf_token"]


def test_a_sessions_signed_csrf_token_is_reused_for_a_few_minutes_then_signed_afresh(app, client, monkeypatch):
    import itsdangerous.timed

    from invite.web import csrf as csrf_reuse

    first = client.get("/")
    signing_clock = itsdangerous.timed.time.time
    # Ten seconds on, Flask-WTF would sign a different token (its timestamps are whole seconds).
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: signing_clock() + 10)
    again = client.get("/")
    assert _csrf(again) == _csrf(first)
    assert "Cookie" in again.headers.get("Vary", "")  # the page depends on the session cookie
    posted = client.post("/", data={**form_tokens(again.get_data(as_text=True)), "email": "reused@example.org",
                                    "role": "no_role"})
    assert posted.status_code == 303

    other = app.test_client()  # another session never gets this one's token
    assert _csrf(other.get("/")) != _csrf(first)

    real_time = csrf_reuse.time.time
    monkeypatch.setattr(csrf_reuse.time, "time", lambda: real_time() + csrf_reuse.REUSE_SECONDS + 1)
    later = client.get("/")
    assert _csrf(later) != _csrf(first)
    assert client.post("/", data={**form_tokens(later.get_data(as_text=True)), "email": "later@example.org",
                                  "role": "no_role"}).status_code == 303


def test_a_reused_csrf_token_still_follows_a_new_secret_key(app, client):
    client.get("/")
    token = _csrf(client.get("/"))
    app.secret_key = "a new secret key: every token signed with the old one is refused"
    with client.session_transaction() as session:
        session["csrf_token"] = "0" * 40  # what a new sign-in cookie would hold under the new key
    fresh = client.get("/")
    assert _csrf(fresh) != token
    assert client.post("/", data={**form_tokens(fresh.get_data(as_text=True)), "email": "rotated@example.org",
                                  "role": "no_role"}).status_code == 303


def test_template_links_follow_the_proxy_prefix_and_their_values_though_remembered(sandbox, tmp_path, monkeypatch):
    import re

    from conftest import app_env, make_app
    from werkzeug.routing import MapAdapter

    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'prefix.db'}", PROXY_FIX_HOPS="1", PROXY_FIX_PREFIX="1"))
    client = app.test_client()

    def links(path, prefix=None):
        headers = {"X-Forwarded-Prefix": prefix} if prefix else {}
        return set(re.findall(r'href="([^"#?]+)', client.get(path, headers=headers).get_data(as_text=True)))

    plain = links("/")
    assert {"/invitations", "/members", "/activity", "/bulk"} <= plain
    built = []
    real_build = MapAdapter.build
    monkeypatch.setattr(MapAdapter, "build", lambda self, *a, **kw: built.append(a[0]) or real_build(self, *a, **kw))
    assert links("/") == plain and built == []  # the second page built none of its links again
    under_a = links("/", "/a")
    assert {"/a/invitations", "/a/members", "/a/activity"} <= under_a and not plain & under_a - {"data:,"}
    assert {"/b/invitations", "/b/static/style.css"} <= links("/", "/b")
    assert links("/") == plain  # the first prefix's links were not handed to the later requests

    # A link with values is remembered per value: two results, two "See it in Invitations" links.
    for email in ("one@example.org", "two@example.org"):
        tokens = form_tokens(client.get("/").get_data(as_text=True))
        result = client.get(client.post("/", data={**tokens, "email": email, "role": "no_role"}).headers["Location"])
        assert f'href="/invitations?q={email}"' in result.get_data(as_text=True)


def test_a_fresh_forms_team_items_are_rendered_once_per_team_list(app, client, sandbox):
    from invite.invites import routes

    first = client.get("/").get_data(as_text=True)
    kept = routes._blank_team_items
    assert kept is not None and kept[0] is app.extensions["upstream"].teams.get().value
    again = client.get("/").get_data(as_text=True)
    assert routes._blank_team_items is kept and form_tokens(again) != form_tokens(first)
    cardiology = next(t for t in sandbox.state.teams if t["name"] == "Cardiology")
    assert again.count(f'value="{cardiology["id"]}"') == 1 and " checked" not in again.split('id="team-list"')[1][:2000]

    # A reloaded list is rendered afresh: the team Junction dropped is gone.
    sandbox.state.teams = [t for t in sandbox.state.teams if t["id"] != cardiology["id"]]
    refreshed = client.post("/teams/refresh", data=form_tokens(again)).get_data(as_text=True)
    assert cardiology["id"] not in refreshed and routes._blank_team_items is not kept
    # ... and a post is checked against the reloaded list, not the choices built for the first one.
    stale = client.post("/", data={**form_tokens(refreshed), "email": "stale@example.org", "role": "team_admin",
                                   "teams": [cardiology["id"]]})
    assert stale.status_code == 422 and "not in the org" in stale.get_data(as_text=True)

    # Teams chosen on a form shown again are checked: never the blank items.
    other = next(t for t in sandbox.state.teams if t["name"] != "Cardiology")
    shown = client.post("/", data={**form_tokens(refreshed), "email": "not an address", "role": "team_admin",
                                   "teams": [other["id"]]}).get_data(as_text=True)
    assert f'value="{other["id"]}" id="team-{other["id"]}" checked' in shown
    assert f'value="{other["id"]}" id="team-{other["id"]}" checked' not in client.get("/").get_data(as_text=True)


def test_the_app_asks_once_per_function_whether_it_must_be_made_synchronous(app, monkeypatch):
    import flask

    asked = []
    real = flask.Flask.ensure_sync
    monkeypatch.setattr(flask.Flask, "ensure_sync", lambda self, func: asked.append(func) or real(self, func))

    def hook() -> None:
        return None

    assert app.ensure_sync(hook) is hook and app.ensure_sync(hook) is hook
    assert asked == [hook]


def test_log_timestamps_read_as_datetime_writes_them():
    """The JSON log's "ts" is formatted a second at a time (issue 12): the same text as before, rounding
    included."""
    from datetime import UTC, datetime

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from invite.adapters.logs import _log_timestamp

    @settings(max_examples=2000, deadline=None)
    @given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False, allow_infinity=False))
    def same(created: float) -> None:
        assert _log_timestamp(created) == datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")

    same()
    for created in (1_764_000_000.9999996, 1_764_000_000.0005, 1_764_000_000.6999999):
        assert _log_timestamp(created) == datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


def test_each_log_line_is_written_whole_and_flushed(monkeypatch):
    import io
    import json
    import logging

    from invite.adapters.logs import JsonLogFormatter, _LineHandler

    class Stream(io.StringIO):
        flushed = 0

        def flush(self) -> None:
            self.flushed += 1
            super().flush()

    stream = Stream()
    handler = _LineHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    logger = logging.getLogger("test.perf_cuts.lines")
    monkeypatch.setattr(logger, "handlers", [handler])
    monkeypatch.setattr(logger, "propagate", False)
    logger.setLevel(logging.INFO)
    logger.info("sent %s", "once", extra={"fields": {"request_id": "r-1"}})
    line = stream.getvalue()
    assert line.endswith("\n") and line.count("\n") == 1 and stream.flushed == 1
    entry = json.loads(line)
    assert entry["msg"] == "sent once" and entry["request_id"] == "r-1" and entry["level"] == "info"

    stream.close()  # a broken stream is reported by logging's own policy, never raised into the request
    monkeypatch.setattr(logging, "raiseExceptions", False)
    logger.info("lost")


@settings(max_examples=500, deadline=None)
@given(value=st.text(), length=st.integers(min_value=2, max_value=80))
def test_fitting_skips_cleaning_only_text_with_nothing_to_clean(value, length):
    """fit() passes printable ASCII through uncleaned (issue 12): always what cleaning then cutting gives."""
    cleaned = clean_text(value)
    assert fit(value, length) == (cleaned if len(cleaned) <= length else cleaned[: length - 1] + "…")


@pytest.fixture
def checked(monkeypatch) -> list[str]:
    """Every token Flask-WTF's own signature check was asked about, the check itself left to run."""
    import flask_wtf.csrf

    seen: list[str] = []
    real_validate = flask_wtf.csrf.validate_csrf

    def validate_csrf(data, *args, **kwargs):
        seen.append(data)
        return real_validate(data, *args, **kwargs)

    monkeypatch.setattr(flask_wtf.csrf, "validate_csrf", validate_csrf)
    return seen


def test_a_post_carrying_its_sessions_kept_csrf_token_skips_only_the_signature_check(app, client, monkeypatch,
                                                                                     checked):
    """The usual POST sends back the token this process signed for its session moments ago: no serializer
    or HMAC for it (issue 12). Any other token still goes through Flask-WTF's own check."""
    import itsdangerous.timed

    def send(tokens, email, **kwargs):
        return client.post("/", data={**tokens, "email": email, "role": "no_role"}, **kwargs).status_code

    tokens = form_tokens(client.get("/").get_data(as_text=True))
    assert send(tokens, "kept@example.org") == 303 and checked == []

    # Signed for this very session a minute ago (as by another process): valid, and checked by Flask-WTF.
    with client.session_transaction() as session:
        raw = session["csrf_token"]
    signing_clock = itsdangerous.timed.time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: signing_clock() - 60)
    older = itsdangerous.URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)
    monkeypatch.setattr(itsdangerous.timed.time, "time", signing_clock)
    fresh = form_tokens(client.get("/").get_data(as_text=True))
    assert older != fresh["csrf_token"]
    assert send({**fresh, "csrf_token": older}, "older@example.org") == 303 and checked == [older]

    # A character inside the signature: the last one carries padding bits, and changing only those left the
    # signature valid now and then (a flaky 303).
    token = fresh["csrf_token"]
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    fresh = form_tokens(client.get("/").get_data(as_text=True))
    assert send({**fresh, "csrf_token": tampered}, "tampered@example.org") == 400 and checked[-1] == tampered


def test_over_https_the_kept_csrf_token_still_needs_a_referer_from_this_host(app, monkeypatch):
    """Flask-WTF's WTF_CSRF_SSL_STRICT rule holds on the early path too."""
    client = app.test_client()
    https = {"base_url": "https://localhost"}

    def send(email, headers):
        tokens = form_tokens(client.get("/", **https).get_data(as_text=True))
        return client.post("/", data={**tokens, "email": email, "role": "no_role"}, headers=headers, **https)

    assert send("no-referer@example.org", {}).status_code == 400
    assert send("elsewhere@example.org", {"Referer": "https://evil.example/"}).status_code == 400
    assert send("plain-http@example.org", {"Referer": "http://localhost/"}).status_code == 400
    assert send("ours@example.org", {"Referer": "https://localhost/"}).status_code == 303


def test_a_csrf_time_limit_shorter_than_the_reuse_leaves_every_check_to_flask_wtf(app, client, checked):
    app.config["WTF_CSRF_TIME_LIMIT"] = 1
    tokens = form_tokens(client.get("/").get_data(as_text=True))
    assert client.post("/", data={**tokens, "email": "short@example.org", "role": "no_role"}).status_code == 303
    assert checked == [tokens["csrf_token"]]


def _tokens_blanked(page: str) -> str:
    for value in form_tokens(page).values():
        page = page.replace(value, "TOKEN")
    return page


def test_a_blank_form_is_rendered_once_then_served_with_each_requests_own_tokens(app, client, monkeypatch):
    import flask.templating

    renders = []
    real_render = flask.templating._render
    monkeypatch.setattr(flask.templating, "_render", lambda *args: (renders.append(args[1].name),
                                                                    real_render(*args))[1])
    first = client.get("/")
    assert renders == ["invites/form.html"]
    second = client.get("/")
    assert renders == ["invites/form.html"] and second.status_code == 200  # nothing rendered again
    page, tokens = second.get_data(as_text=True), form_tokens(second.get_data(as_text=True))
    assert _tokens_blanked(page) == _tokens_blanked(first.get_data(as_text=True))
    assert tokens["submission_token"] != form_tokens(first.get_data(as_text=True))["submission_token"]
    assert second.mimetype == "text/html" and "Cookie" in second.headers["Vary"]
    assert client.post("/", data={**tokens, "email": "kept-page@example.org", "role": "no_role"}).status_code == 303

    # Another browser: the kept page with a CSRF token of its own session, which it is given.
    other = app.test_client()
    fresh = other.get("/")
    other_tokens = form_tokens(fresh.get_data(as_text=True))
    assert renders == ["invites/form.html"] and "session=" in fresh.headers.get("Set-Cookie", "")
    assert other_tokens["csrf_token"] != tokens["csrf_token"]
    assert other.post("/", data={**other_tokens, "email": "other@example.org", "role": "no_role"}).status_code == 303
    assert client.post("/", data={**other_tokens, "email": "swap@example.org", "role": "no_role"}).status_code == 400


def test_a_kept_blank_form_follows_the_person_the_team_list_the_org_and_the_mount_point(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'kept.db'}", AUTH_MODE="header",
                           AUTH_TRUSTED_PROXIES="127.0.0.0/8", ADMIN_GROUPS="invite-admins"))
    client = app.test_client()

    def form(email="ada@example.com", **kwargs):
        headers = {"X-Forwarded-Email": email, "X-Forwarded-Groups": "invite-admins"}
        return client.get("/", headers=headers, **kwargs).get_data(as_text=True)

    try:
        form()
        assert "Signed in as <strong>ada@example.com" in form()
        assert "Signed in as <strong>grace@example.com" in form("grace@example.com")
        assert "ada@example.com" not in form("grace@example.com")

        sandbox.state.teams.append({**sandbox.state.teams[0], "id": "99999999-2222-4333-8444-555555555555",
                                    "name": "Zoology Ward"})
        assert "Zoology Ward" not in form()
        app.extensions["upstream"].teams.refresh()
        assert "Zoology Ward" in form()
        assert len(app.extensions["invite.blank_form_pages"]) == 1  # the old list's pages are dropped

        sandbox.state.org["name"] = "Renamed Health"
        app.extensions["upstream"].org.refresh()
        assert "Invite someone to Renamed Health" in form()

        mounted = form(base_url="http://localhost/invite")
        assert 'action="/invite/"' in mounted and 'href="/invite/static/style.css' in mounted
        assert 'action="/"' in form()

        def unreachable():
            raise UnreachableError("Could not connect to Junction: connection refused.")

        teams = app.extensions["upstream"].teams
        kept_list = teams.get().value
        teams._loader = unreachable  # the same list, now served with the failed reload attached
        teams.refresh()
        assert teams.get().value is kept_list and "it may be out of date" in form()
    finally:
        app.extensions["upstream"].client.close()


def test_a_page_that_read_the_session_varies_on_cookie_beside_its_own_vary(sandbox, tmp_path):
    from flask import session

    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'vary.db'}"))

    @app.get("/reads-session/<own>")
    def reads_session(own):
        session.get("anything")
        return "read", 200, ({"Vary": "Accept-Encoding"} if own == "yes" else {})

    client = app.test_client()
    try:
        assert client.get("/reads-session/yes").headers.getlist("Vary") == ["Accept-Encoding, Cookie"]
        assert client.get("/reads-session/no").headers.getlist("Vary") == ["Cookie"]
    finally:
        app.extensions["upstream"].client.close()
