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
