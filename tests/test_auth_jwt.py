"""JWT mode against a JWKS served over real HTTP on loopback, with keys made here.

Every refusal is checked twice: the status and that the protected view body never ran.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from test_permissions import make_auth_app, settings_from

from invite.auth.jwks import JwksCache

HEADER = "Cf-Access-Jwt-Assertion"
AUDIENCE = "dashboard-aud"
ISSUER = "https://sso.example.com"


class JwksServer:
    """Serves whatever is in `keys` (or `status`), after `delay` seconds, or a redirect from /jwks.json to
    `redirect_to`; counts the requests and records their paths."""

    def __init__(self):
        self.keys: list[dict] = []
        self.status = 200
        self.fetches = 0
        self.delay = 0.0
        self.redirect_to: str | None = None
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.fetches += 1
                server.paths.append(self.path)
                time.sleep(server.delay)
                if server.redirect_to and self.path == "/jwks.json":
                    self.send_response(302)
                    self.send_header("Location", server.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({"keys": server.keys}).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.url = self.base + "/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(private_key, kid: str, alg: str) -> dict:
    to_jwk = RSAAlgorithm.to_jwk if isinstance(private_key, rsa.RSAPrivateKey) else ECAlgorithm.to_jwk
    return {**to_jwk(private_key.public_key(), as_dict=True), "kid": kid, "alg": alg, "use": "sig"}


RSA = rsa_key()
EC = ec.generate_private_key(ec.SECP256R1())
ROTATED = rsa_key()


def claims(**overrides) -> dict:
    now = int(time.time())
    base = {"email": "ada@example.com", "groups": ["invite-admins"], "aud": AUDIENCE, "iss": ISSUER,
            "iat": now, "nbf": now, "exp": now + 300, "sub": "user-1"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key=RSA, kid="rsa-1", alg="RS256", **overrides) -> str:
    return jwt.encode(claims(**overrides), key, algorithm=alg, headers={"kid": kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header: dict, payload: dict, signature: bytes = b"") -> str:
    """Tokens PyJWT refuses to make (alg none, HMAC over a public key) are assembled by hand."""
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{b64(signature)}"


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    with JwksServer() as server:
        server.keys = [public_jwk(RSA, "rsa-1", "RS256"), public_jwk(EC, "ec-1", "ES256")]
        yield server


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app(jwks_server, clock):
    settings = settings_from(AUTH_MODE="jwt", AUTH_JWT_HEADER=HEADER, AUTH_JWKS_URL=jwks_server.url,
                             AUTH_JWT_AUDIENCE=AUDIENCE, AUTH_JWT_ISSUER=ISSUER,
                             ADMIN_GROUPS="invite-admins", SUPPORT_GROUPS="helpdesk")
    return make_auth_app(settings, jwks=JwksCache(jwks_server.url, timeout=2, clock=clock))


@pytest.fixture
def client(app):
    return app.test_client()


def call(client, token: str | None, path="/whoami"):
    return client.get(path, headers={HEADER: token} if token is not None else {})


def assert_refused(app, response, status=401, token: str | None = None):
    assert response.status_code == status
    assert app.ran == []  # the view (where Junction would be called) never ran
    if token:
        page = response.get_data(as_text=True)
        for part in token.split("."):
            if len(part) > 8:
                assert part not in page  # the token is never echoed


# --- accepted ---------------------------------------------------------------------------------------

def test_valid_rsa_token(client, app, jwks_server):
    response = call(client, sign())
    assert response.status_code == 200
    assert response.get_json() == {"email": "ada@example.com", "groups": ["invite-admins"], "role": "admin",
                                   "source": "jwt"}
    assert app.ran == ["whoami"]
    assert jwks_server.fetches == 1


def test_valid_ec_token(client, app):
    response = call(client, sign(EC, kid="ec-1", alg="ES256", groups="helpdesk, other", email="Sam@Example.com"))
    assert response.get_json() == {"email": "sam@example.com", "groups": ["helpdesk", "other"],
                                   "role": "support", "source": "jwt"}


def test_keys_are_cached(client, jwks_server):
    for _ in range(3):
        assert call(client, sign()).status_code == 200
    assert call(client, sign(EC, kid="ec-1", alg="ES256")).status_code == 200
    assert jwks_server.fetches == 1


def test_small_clock_skew_is_tolerated(client):
    now = int(time.time())
    assert call(client, sign(exp=now - 10)).status_code == 200
    assert call(client, sign(nbf=now + 10, iat=now + 10)).status_code == 200


def test_nbf_is_optional(client):
    # Google IAP's assertions carry exp and iat but no nbf.
    assert call(client, sign(nbf=None)).status_code == 200


def test_signed_in_without_a_role_is_403(client, app):
    response = call(client, sign(groups=["engineering"]))
    assert response.status_code == 403
    assert "invite-admins" in html.unescape(response.get_data(as_text=True))
    assert app.ran == []


# --- refused ----------------------------------------------------------------------------------------

def test_missing_assertion(client, app):
    response = call(client, None)
    assert_refused(app, response)
    assert "did not pass on a signed sign-in assertion" in html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("overrides", [
    # Times relative to when the test runs, not to collection: a loaded run can start a test minutes later.
    {"exp": lambda: int(time.time()) - 120},  # expired beyond the leeway
    {"nbf": lambda: int(time.time()) + 120},  # not yet valid
    {"iat": lambda: int(time.time()) + 120},  # issued in the future
    {"exp": None},  # exp required
    {"iat": None},  # iat required
    {"aud": "some-other-app"},
    {"aud": None},
    {"iss": "https://evil.example.com"},
    {"iss": None},
    {"email": None},
    {"email": "not-an-address"},
    {"email": ["ada@example.com"]},
], ids=["expired", "nbf-future", "iat-future", "no-exp", "no-iat", "wrong-aud", "no-aud", "wrong-iss", "no-iss",
        "no-email", "bad-email", "email-list"])
def test_invalid_claims_are_refused(client, app, overrides):
    token = sign(**{claim: value() if callable(value) else value for claim, value in overrides.items()})
    response = call(client, token)
    assert_refused(app, response, token=token)
    assert "could not be verified" in html.unescape(response.get_data(as_text=True))


def test_alg_none_is_refused(client, app):
    token = handmade({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, claims())
    assert_refused(app, call(client, token), token=token)


def test_hs256_keyed_with_the_public_key_is_refused(client, app):
    # The classic confusion attack: HMAC with the published public key's PEM as the shared secret.
    pem = RSA.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header, payload = {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims()
    signing_input = handmade(header, payload).rsplit(".", 1)[0].encode()
    token = handmade(header, payload, hmac.new(pem, signing_input, hashlib.sha256).digest())
    assert_refused(app, call(client, token), token=token)


def test_algorithm_comes_from_the_jwk_not_the_token(client, app):
    # Same RSA key, but PS256 where the JWK says RS256.
    token = sign(alg="PS256")
    assert_refused(app, call(client, token), token=token)


def test_symmetric_keys_in_the_jwks_are_never_used(client, app, jwks_server):
    secret = b"0123456789abcdef0123456789abcdef"
    jwks_server.keys.append({"kty": "oct", "k": b64(secret), "kid": "hmac-1", "alg": "HS256"})
    token = jwt.encode(claims(), secret, algorithm="HS256", headers={"kid": "hmac-1"})
    assert_refused(app, call(client, token), token=token)


def test_tampered_payload_is_refused(client, app):
    header, _, signature = sign(groups=["helpdesk"]).split(".")
    forged = b64(json.dumps(claims(groups=["invite-admins"])).encode())
    token = f"{header}.{forged}.{signature}"
    assert_refused(app, call(client, token), token=token)


def test_signed_by_an_unpublished_key_with_a_known_kid(client, app):
    token = sign(rsa_key(), kid="rsa-1")
    assert_refused(app, call(client, token), token=token)


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "", "   "])
def test_malformed_tokens(client, app, token):
    assert_refused(app, call(client, token))


def test_refused_on_protected_actions_too(client, app):
    token = sign(exp=int(time.time()) - 120)
    for path in ["/send", "/resend", "/revoke"]:
        assert client.post(path, headers={HEADER: token}).status_code == 401
    assert app.ran == []
    assert app.org_lookups == 0


# --- unknown kid, refetch and rotation --------------------------------------------------------------

def test_unknown_kid_refetches_once_then_refuses(client, app, jwks_server, clock):
    assert call(client, sign()).status_code == 200
    assert jwks_server.fetches == 1
    app.ran.clear()

    token = sign(ROTATED, kid="rsa-2")
    assert_refused(app, call(client, token), token=token)
    assert jwks_server.fetches == 2  # one refetch for the unknown kid

    clock.advance(30)
    assert_refused(app, call(client, sign(ROTATED, kid="rsa-3")))
    assert_refused(app, call(client, token))
    assert jwks_server.fetches == 2  # a second unknown kid within a minute does not refetch
    assert call(client, sign()).status_code == 200  # known keys still work meanwhile


def test_rotation_is_picked_up_by_the_refetch(client, app, jwks_server, clock):
    assert call(client, sign()).status_code == 200
    jwks_server.keys = [public_jwk(ROTATED, "rsa-2", "RS256")]
    clock.advance(61)
    response = call(client, sign(ROTATED, kid="rsa-2"))
    assert response.status_code == 200
    assert jwks_server.fetches == 2


def test_rotation_within_a_minute_of_the_last_fetch_waits(client, app, jwks_server, clock):
    assert call(client, sign()).status_code == 200
    jwks_server.keys.append(public_jwk(ROTATED, "rsa-2", "RS256"))
    clock.advance(10)
    assert call(client, sign(ROTATED, kid="rsa-2")).status_code == 200  # first unknown kid: refetch allowed
    assert jwks_server.fetches == 2
    jwks_server.keys.append(public_jwk(EC, "ec-2", "ES256"))
    clock.advance(10)
    assert call(client, sign(EC, kid="ec-2", alg="ES256")).status_code == 401
    clock.advance(60)
    assert call(client, sign(EC, kid="ec-2", alg="ES256")).status_code == 200
    assert jwks_server.fetches == 3


def test_withdrawn_key_stops_working_after_the_cache_ages(client, jwks_server, clock):
    assert call(client, sign()).status_code == 200
    jwks_server.keys = [public_jwk(ROTATED, "rsa-2", "RS256")]
    clock.advance(1800)
    assert call(client, sign()).status_code == 200  # still cached
    clock.advance(1801)
    assert call(client, sign()).status_code == 401
    assert jwks_server.fetches == 2


def test_token_without_kid_uses_the_only_key(jwks_server, clock):
    jwks_server.keys = [public_jwk(EC, "ec-1", "ES256")]
    cache = JwksCache(jwks_server.url, timeout=2, clock=clock)
    token = jwt.encode(claims(), EC, algorithm="ES256")
    assert "kid" not in jwt.get_unverified_header(token)
    assert cache.get_signing_key(None).key_id == "ec-1"
    jwks_server.keys.append(public_jwk(RSA, "rsa-1", "RS256"))
    clock.advance(3600)
    with pytest.raises(Exception, match="no kid"):
        cache.get_signing_key(None)


# --- the JWKS endpoint failing ----------------------------------------------------------------------

def test_jwks_endpoint_down_is_503_and_retried(client, app, jwks_server, clock):
    jwks_server.status = 500
    response = call(client, sign())
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert "could not fetch the keys" in html.unescape(response.get_data(as_text=True))
    assert app.ran == []
    assert jwks_server.fetches == 1

    jwks_server.status = 200
    assert call(client, sign()).status_code == 503  # no hammering: retried only after a pause
    assert jwks_server.fetches == 1
    clock.advance(6)
    assert call(client, sign()).status_code == 200
    assert jwks_server.fetches == 2


def test_jwks_endpoint_unreachable(clock):
    cache = JwksCache("http://127.0.0.1:9/jwks.json", timeout=0.5, clock=clock)
    with pytest.raises(Exception, match="unreachable"):
        cache.get_signing_key("rsa-1")


def test_failed_refresh_keeps_the_cached_keys(client, jwks_server, clock):
    assert call(client, sign()).status_code == 200
    jwks_server.status = 502
    clock.advance(3600)
    assert call(client, sign()).status_code == 200  # endpoint down: the last good set still serves
    assert jwks_server.fetches == 2


def test_jwks_with_only_symmetric_keys_is_unusable(client, app, jwks_server):
    jwks_server.keys = [{"kty": "oct", "k": b64(b"secret-secret-secret"), "kid": "rsa-1", "alg": "HS256"}]
    assert_refused(app, call(client, sign()), status=503)


def test_first_request_with_an_unknown_kid_fetches_only_once(client, app, jwks_server):
    assert_refused(app, call(client, sign(ROTATED, kid="rsa-2")))
    assert jwks_server.fetches == 1  # the first fetch already was the fresh set


def test_concurrent_first_requests_share_one_fetch(jwks_server, clock):
    cache = JwksCache(jwks_server.url, timeout=2, clock=clock)
    found = []
    threads = [threading.Thread(target=lambda: found.append(cache.get_signing_key("rsa-1").key_id))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == ["rsa-1"] * 8
    assert jwks_server.fetches == 1
