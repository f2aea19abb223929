"""Findings 6, 8 and the body cap of 11 (#13), and the review's passing cases on headers, redirects and
clickjacking kept as tests. Through the real app against a sandbox."""

from __future__ import annotations

import html

import pytest
from conftest import app_env, form_tokens, make_app

from invite.config import ConfigError, load_settings


@pytest.fixture
def make(sandbox, tmp_path):
    apps = []

    def build(**env):
        app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / f'h{len(apps)}.db'}", **env))
        apps.append(app)
        return app.test_client()

    yield build
    for app in apps:
        app.extensions["upstream"].client.close()


# --- finding 6: nothing personal is cached -------------------------------------------------------------


@pytest.mark.parametrize("path", ["/activity.csv", "/activity", "/invitations", "/members", "/healthz", "/"])
def test_responses_with_personal_data_are_never_stored(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_the_csv_export_is_not_stored(client):
    page = client.get("/").get_data(as_text=True)
    client.post("/", data={**form_tokens(page), "email": "cached@example.org", "role": "no_role"})
    response = client.get("/activity.csv")
    assert "cached@example.org" in response.get_data(as_text=True)
    assert response.mimetype == "text/csv" and response.headers["Cache-Control"] == "no-store"


def test_static_files_stay_cacheable(client):
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


# --- finding 8: forwarded host and prefix only when configured ---------------------------------------


FORWARDED = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https",
             "X-Forwarded-Host": "evil.example", "X-Forwarded-Prefix": "//evil.example"}


def test_proxy_fix_hops_trusts_for_and_proto_but_not_host_or_prefix(make):
    client = make(PROXY_FIX_HOPS="1", AUTH_DEV_ROLE="support")
    response = client.get("/", headers=FORWARDED)  # support is redirected to the invitations list
    assert response.status_code == 302
    assert response.headers["Location"] == "/invitations"
    assert "Strict-Transport-Security" in response.headers  # proto believed
    page = client.get("/invitations", headers=FORWARDED).get_data(as_text=True)
    assert "evil.example" not in page


def test_host_and_prefix_are_trusted_when_configured_separately(make):
    client = make(PROXY_FIX_HOPS="1", PROXY_FIX_HOST="1", PROXY_FIX_PREFIX="1", AUTH_DEV_ROLE="support")
    response = client.get("/", headers={**FORWARDED, "X-Forwarded-Prefix": "/dashboard",
                                        "X-Forwarded-Host": "dash.example"})
    assert response.headers["Location"] == "/dashboard/invitations"


@pytest.mark.parametrize("name", ["PROXY_FIX_HOST", "PROXY_FIX_PREFIX"])
def test_proxy_fix_settings_are_checked(name):
    with pytest.raises(ConfigError) as info:
        load_settings({"INVITE_SANDBOX": "1", name: "yes"})
    assert info.value.problems == [f"{name} must be a whole number (got 'yes')."]


# --- finding 11: a cap on the request body ------------------------------------------------------------


def test_an_oversized_body_gets_a_clear_413_page(client, sandbox):
    page = client.get("/").get_data(as_text=True)
    response = client.post("/", data={**form_tokens(page), "email": "x@example.org", "role": "no_role",
                                      "filler": "x" * (5 * 1024 * 1024)})
    assert response.status_code == 413
    text = html.unescape(response.get_data(as_text=True))
    assert "larger than 4 MB" in text and "nothing was done" in text
    assert sandbox.state.find_invite_by_email("x@example.org") is None


def test_a_bulk_sized_body_is_not_refused_for_its_size(client):
    body = b"x" * (1024 * 1024 + 1)
    response = client.post("/", data=body, content_type="application/octet-stream")
    assert response.status_code == 400  # no CSRF token, but not a 413


# --- the review's passing cases: clickjacking, CSP, open redirects ------------------------------------


def test_every_page_forbids_framing_and_inline_script(client):
    for path in ("/", "/invitations", "/members", "/activity", "/no-such-page"):
        response = client.get(path)
        assert response.headers["X-Frame-Options"] == "DENY"
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("q", ["//evil.example", "https://evil.example", "/\\evil.example"])
def test_the_list_redirects_never_leave_the_dashboard(client, sandbox, q):
    # An expired resend form sends the person back to the list with their search: never elsewhere.
    invite_id = sandbox.state.invites[0]["id"]
    response = client.post(f"/invitations/{invite_id}/resend", data={"q": q})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/invitations?")


# --- issue 12: the fixed headers are added in one call; each must still come exactly once ---------------


@pytest.mark.parametrize("path", ["/", "/healthz", "/static/style.css", "/activity.csv", "/no-such-page"])
def test_every_response_carries_each_security_header_exactly_once(client, path):
    from invite.web import SECURITY_HEADERS

    response = client.get(path)
    for name, value in [*SECURITY_HEADERS, ("X-Request-Id", None)]:
        assert len(response.headers.getlist(name)) == 1, name
        assert value is None or response.headers[name] == value
    assert {name for name, _ in SECURITY_HEADERS} >= {"Content-Security-Policy", "X-Content-Type-Options",
                                                     "X-Frame-Options", "Referrer-Policy",
                                                     "Cross-Origin-Opener-Policy"}
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_a_cache_control_a_view_sets_is_kept_and_not_doubled(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'own.db'}"))

    @app.get("/own-cache-rule")
    def own_cache_rule():
        return "shared for a minute", 200, {"cache-control": "private, max-age=60"}

    response = app.test_client().get("/own-cache-rule")
    app.extensions["upstream"].client.close()
    assert response.headers.getlist("Cache-Control") == ["private, max-age=60"]
