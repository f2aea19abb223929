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
