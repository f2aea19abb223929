"""Finding 1 of #13: one address never turns into another by Unicode case mapping (header and JWT modes)."""

from __future__ import annotations

import html

import pytest
from test_auth_header import PROXY
from test_auth_jwt import AUDIENCE, HEADER, ISSUER, RSA, JwksServer, public_jwk, sign
from test_permissions import make_auth_app, settings_from

from invite.auth.jwks import JwksCache
from invite.auth.settings import load_auth_settings, normalise_email

KELVIN_KATE = "\u212aate@example.com"  # KELVIN SIGN lower-cases to "k"


@pytest.mark.parametrize(("raw", "expected"), [
    ("Kate@Example.COM", "kate@example.com"),
    ("kate@example.com", "kate@example.com"),
    ("josé@例え.jp", "josé@例え.jp"),  # already in its one form: accepted as it is
    (KELVIN_KATE, None),
    ("ｋate@example.com", None),  # full-width k
    ("ÉVE@example.com", None),  # a non-ASCII capital: case folding would change it
    ("straße@example.com", None),  # casefold() makes it "strasse"
    ("e\u0301ve@example.com", None),  # decomposed é: NFKC composes it
])
def test_normalise_email(raw, expected):
    assert normalise_email(raw) == expected


def test_two_accepted_addresses_never_compare_equal():
    accepted = {normalise_email(a) for a in ["kate@example.com", "josé@example.com", "jose@example.com"]}
    assert len(accepted) == 3


def header_app():
    return make_auth_app(settings_from(AUTH_MODE="header", AUTH_TRUSTED_PROXIES="10.0.0.0/24",
                                       ADMIN_EMAILS="kate@example.com", SUPPORT_GROUPS="helpdesk"))


def test_header_mode_refuses_a_kelvin_sign_identity():
    app = header_app()
    response = app.test_client().get("/whoami", environ_base={"REMOTE_ADDR": PROXY},
                                     headers={"X-Forwarded-Email": KELVIN_KATE})
    assert response.status_code == 401
    assert "not a usable email address" in html.unescape(response.get_data(as_text=True))
    assert app.ran == []


def test_header_mode_still_matches_ascii_case_insensitively():
    app = header_app()
    response = app.test_client().get("/whoami", environ_base={"REMOTE_ADDR": PROXY},
                                     headers={"X-Forwarded-Email": "KATE@Example.com"})
    assert response.get_json()["email"] == "kate@example.com"
    assert response.get_json()["role"] == "admin"


@pytest.fixture
def jwt_app():
    with JwksServer() as server:
        server.keys = [public_jwk(RSA, "rsa-1", "RS256")]
        settings = settings_from(AUTH_MODE="jwt", AUTH_JWT_HEADER=HEADER, AUTH_JWKS_URL=server.url,
                                 AUTH_JWT_AUDIENCE=AUDIENCE, AUTH_JWT_ISSUER=ISSUER,
                                 ADMIN_EMAILS="kate@example.com", SUPPORT_GROUPS="helpdesk")
        yield make_auth_app(settings, jwks=JwksCache(server.url, timeout=2))


def test_jwt_mode_refuses_a_kelvin_sign_identity(jwt_app):
    response = jwt_app.test_client().get("/whoami", headers={HEADER: sign(email=KELVIN_KATE, groups=[])})
    assert response.status_code == 401
    assert jwt_app.ran == []


def test_jwt_mode_kate_herself_is_admin(jwt_app):
    response = jwt_app.test_client().get("/whoami", headers={HEADER: sign(email="Kate@example.com", groups=[])})
    assert response.get_json()["role"] == "admin"


@pytest.mark.parametrize("name", ["ADMIN_EMAILS", "SUPPORT_EMAILS"])
def test_allow_list_entries_that_normalisation_would_change_are_one_config_line(name):
    env = {"AUTH_MODE": "header", "AUTH_TRUSTED_PROXIES": "10.0.0.0/24",
           name: f"ok@example.com,{KELVIN_KATE}"}
    settings, problems = load_auth_settings(env, sandbox=False)
    assert settings is None
    assert len(problems) == 1
    assert problems[0].startswith(f"{name}: ") and "normalisation" in problems[0]
