"""The cuts made for the invite path's CPU cost (issue 12; bench/README.md) keep behaviour exactly."""

from __future__ import annotations

from conftest import form_tokens


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
    tampered = cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")
    with app.test_request_context("/", headers={"Cookie": f"session={tampered}"}):
        from flask import flash, request

        assert dict(interface.open_session(app, request)) == {}
    assert tampered not in remembered

    with app.test_request_context("/"):
        from flask import session

        flash("Sent.", "info")  # a list inside the session: a shared copy could be changed in place
        flashed = interface.get_signing_serializer(app).dumps(dict(session))
    with app.test_request_context("/", headers={"Cookie": f"session={flashed}"}):
        from flask import request

        opened = interface.open_session(app, request)
        assert opened["_flashes"] == [("info", "Sent.")]
    assert flashed not in remembered and cookie in remembered
