"""JWT findings of #13 (7, 11) and the review's forgery cases not kept elsewhere, against a JWKS served
over real HTTP on loopback."""

from __future__ import annotations

import base64
import json
import threading
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from test_auth_jwt import AUDIENCE, EC, HEADER, ISSUER, RSA, Clock, JwksServer, handmade, public_jwk, sign
from test_permissions import make_auth_app, settings_from

from invite.auth.jwks import JwksCache, JwksUnavailable
from invite.auth.settings import load_auth_settings


@pytest.fixture
def jwks():
    with JwksServer() as server:
        server.keys = [public_jwk(RSA, "rsa-1", "RS256")]
        yield server


def jwt_app(jwks, clock=None, **env):
    settings = settings_from(AUTH_MODE="jwt", AUTH_JWT_HEADER=HEADER, AUTH_JWKS_URL=jwks.url,
                             AUTH_JWT_AUDIENCE=AUDIENCE, AUTH_JWT_ISSUER=ISSUER, ADMIN_GROUPS="invite-admins",
                             **env)
    cache = JwksCache(jwks.url, timeout=10, clock=clock or time.monotonic)
    return make_auth_app(settings, jwks=cache)


# --- finding 7 ------------------------------------------------------------------------------------------


def test_a_slow_refresh_does_not_stall_requests_with_a_known_key(jwks):
    clock = Clock()
    app = jwt_app(jwks, clock)
    assert app.test_client().get("/whoami", headers={HEADER: sign()}).status_code == 200
    clock.advance(3601)  # the held set is now old: the next request refreshes it
    jwks.delay = 2.0
    refresher = threading.Thread(target=lambda: app.test_client().get("/whoami", headers={HEADER: sign()}))
    refresher.start()
    time.sleep(0.3)  # the refresh is under way
    started = time.perf_counter()
    response = app.test_client().get("/whoami", headers={HEADER: sign()})
    elapsed = time.perf_counter() - started
    refresher.join()
    assert response.status_code == 200
    assert elapsed < 1.0, f"a request with a cached key waited {elapsed:.2f} s for the refresh"
    assert jwks.fetches == 2


def test_redirects_are_not_followed(jwks):
    jwks.redirect_to = jwks.base + "/elsewhere.json"
    cache = JwksCache(jwks.url, timeout=2)
    with pytest.raises(JwksUnavailable, match="redirect"):
        cache.get_signing_key("rsa-1")
    assert jwks.paths == ["/jwks.json"]


def test_a_redirecting_jwks_is_a_503_page(jwks):
    jwks.redirect_to = jwks.base + "/elsewhere.json"
    app = jwt_app(jwks)
    response = app.test_client().get("/whoami", headers={HEADER: sign()})
    assert response.status_code == 503 and app.ran == []


def test_the_default_jwks_timeout_is_short():
    settings, _ = load_auth_settings({"AUTH_MODE": "jwt", "AUTH_JWT_HEADER": HEADER, "AUTH_JWKS_URL":
                                      "https://sso.example.com/jwks", "AUTH_JWT_AUDIENCE": AUDIENCE,
                                      "AUTH_JWT_ISSUER": ISSUER, "ADMIN_GROUPS": "a"}, sandbox=False)
    assert settings.jwks_timeout_seconds <= 3


# --- finding 11: email_verified and the token's lifetime ------------------------------------------------


@pytest.mark.parametrize(("verified", "status"), [(False, 401), ("false", 401), (0, 401), (None, 401),
                                                  (True, 200), ("true", 200)])
def test_email_verified_must_not_be_false(jwks, verified, status):
    app = jwt_app(jwks)
    token = sign(email_verified=verified) if verified is not None else jwt_with_null_email_verified()
    response = app.test_client().get("/whoami", headers={HEADER: token})
    assert response.status_code == status
    assert app.ran == (["whoami"] if status == 200 else [])


def jwt_with_null_email_verified() -> str:
    import jwt as pyjwt

    now = int(time.time())
    return pyjwt.encode({"email": "ada@example.com", "groups": ["invite-admins"], "aud": AUDIENCE, "iss": ISSUER,
                         "iat": now, "exp": now + 300, "email_verified": None}, RSA, algorithm="RS256",
                        headers={"kid": "rsa-1"})


def test_no_email_verified_claim_is_accepted(jwks):
    assert jwt_app(jwks).test_client().get("/whoami", headers={HEADER: sign()}).status_code == 200


def test_a_token_valid_for_more_than_a_day_is_refused(jwks):
    now = int(time.time())
    app = jwt_app(jwks)
    client = app.test_client()
    assert client.get("/whoami", headers={HEADER: sign(iat=now, exp=now + 24 * 3600)}).status_code == 200
    assert client.get("/whoami", headers={HEADER: sign(iat=now, exp=now + 24 * 3600 + 1)}).status_code == 401
    assert client.get("/whoami", headers={HEADER: sign(iat=now, exp=now + 365 * 86400)}).status_code == 401


def test_the_lifetime_bound_is_configurable(jwks):
    now = int(time.time())
    client = jwt_app(jwks, AUTH_JWT_MAX_LIFETIME_SECONDS="600").test_client()
    assert client.get("/whoami", headers={HEADER: sign(iat=now, exp=now + 600)}).status_code == 200
    assert client.get("/whoami", headers={HEADER: sign(iat=now, exp=now + 601)}).status_code == 401


@pytest.mark.parametrize("value", ["0", "59", "2592001", "a day"])
def test_a_bad_lifetime_bound_is_one_config_line(value):
    _, problems = load_auth_settings({"AUTH_MODE": "jwt", "AUTH_JWT_HEADER": HEADER, "AUTH_JWKS_URL":
                                      "https://sso.example.com/jwks", "AUTH_JWT_AUDIENCE": AUDIENCE,
                                      "AUTH_JWT_ISSUER": ISSUER, "ADMIN_GROUPS": "a",
                                      "AUTH_JWT_MAX_LIFETIME_SECONDS": value}, sandbox=False)
    assert len(problems) == 1 and problems[0].startswith("AUTH_JWT_MAX_LIFETIME_SECONDS")


# --- the review's passing forgery cases not covered in test_auth_jwt.py ----------------------------------


def test_a_key_of_the_wrong_type_for_the_jwk_is_refused(jwks):
    # Signed ES256 with an EC key, but under the kid of the published RSA key.
    other = ec.generate_private_key(ec.SECP256R1())
    app = jwt_app(jwks)
    response = app.test_client().get("/whoami", headers={HEADER: sign(other, kid="rsa-1", alg="ES256")})
    assert response.status_code == 401 and app.ran == []


def test_a_header_claiming_an_embedded_jwk_is_ignored(jwks):
    payload = json.loads(base64.urlsafe_b64decode(sign().split(".")[1] + "=="))
    forged = handmade({"alg": "ES256", "kid": "rsa-1", "jwk": public_jwk(EC, "x", "ES256")}, payload, b"x" * 64)
    app = jwt_app(jwks)
    assert app.test_client().get("/whoami", headers={HEADER: forged}).status_code == 401
    assert app.ran == []
