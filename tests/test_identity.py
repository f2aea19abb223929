"""Who a request is, decided by identity.py on its own: the edge cases the page-level tests do not reach.

tests/test_auth_header.py and tests/test_auth_jwt.py drive the same resolvers through a Flask app. Here
each resolver is called directly with a real WSGI request, so the reason and the log detail of every
refusal can be checked: the 401 page says what to do, the log says what to fix, and neither repeats a
value that came from outside the trusted proxy.
"""

from __future__ import annotations

import jwt
import pytest
from test_auth_header import header_settings  # trusts 10.0.0.0/24 and fd00::/64
from test_auth_jwt import AUDIENCE, HEADER, ISSUER, RSA, Clock, JwksServer, claims, handmade, public_jwk, sign
from test_permissions import settings_from
from werkzeug.test import EnvironBuilder

from invite.auth.identity import (
    REASONS,
    AuthError,
    Identity,
    is_trusted_peer,
    peer_address,
    resolve_header,
    resolve_identity,
    resolve_jwt,
    split_groups,
)
from invite.auth.jwks import JwksCache

PROXY = "10.0.0.5"


def request(peer: str | None = PROXY, headers: dict[str, str] | None = None, **environ):
    from flask import Request

    environ_base = {"REMOTE_ADDR": peer} if peer is not None else {}
    environ_base.update(environ)
    built = EnvironBuilder(path="/", headers=headers or {}, environ_base=environ_base).get_environ()
    if peer is None:
        built.pop("REMOTE_ADDR", None)
    return Request(built)


def refusal(resolve, *args) -> AuthError:
    with pytest.raises(AuthError) as caught:
        resolve(*args)
    return caught.value


# --- header mode: is the peer the proxy? -------------------------------------------------------------

@pytest.mark.parametrize("peer", ["", "unix:/run/gunicorn.sock", "10.0.0.5:443", "proxy.internal", "10.0.0.256"])
def test_a_peer_address_that_cannot_be_read_is_never_trusted(peer):
    # Behind a unix socket or a misconfigured server the peer is empty or not an address: the headers
    # could have been written by anyone.
    settings = header_settings()
    assert is_trusted_peer(peer, settings) is False
    error = refusal(resolve_header, request(peer, {"X-Forwarded-Email": "ada@example.com"}), settings)
    assert error.reason == "untrusted" and error.status == 401
    assert "did not come through your company's sign-in proxy" in error.message


def test_with_no_peer_at_all_the_log_says_none_and_names_the_setting():
    error = refusal(resolve_header, request(None, {"X-Forwarded-Email": "eve@example.com"}), header_settings())
    assert error.reason == "untrusted"
    assert error.detail == "peer (none) is not in AUTH_TRUSTED_PROXIES"


def test_the_log_names_an_untrusted_peer_but_never_what_it_claimed():
    error = refusal(resolve_header, request("203.0.113.9", {"X-Forwarded-Email": "eve@example.com"}),
                    header_settings())
    assert "203.0.113.9" in error.detail and "AUTH_TRUSTED_PROXIES" in error.detail
    assert "eve@example.com" not in error.detail


@pytest.mark.parametrize("peer, trusted", [
    ("10.0.0.5", True), ("10.0.1.5", False),
    ("fd00::17", True), ("fd00::17%eth0", True),  # a link's zone id does not change the address
    ("fd01::17", False), ("::ffff:10.0.0.9", True), ("::ffff:203.0.113.9", False),
])
def test_trusted_proxies_match_by_address(peer, trusted):
    assert is_trusted_peer(peer, header_settings()) is trusted


def test_only_the_original_peer_counts_when_proxyfix_rewrote_remote_addr():
    rewritten = {"REMOTE_ADDR": "10.0.0.5", "werkzeug.proxy_fix.orig": {"REMOTE_ADDR": "203.0.113.9"}}
    assert peer_address(rewritten) == "203.0.113.9"
    # ProxyFix saw no peer either: fall back to what the server reports, never to nothing.
    assert peer_address({"REMOTE_ADDR": "10.0.0.5", "werkzeug.proxy_fix.orig": {"REMOTE_ADDR": None}}) == "10.0.0.5"
    assert peer_address({"REMOTE_ADDR": "10.0.0.5", "werkzeug.proxy_fix.orig": "not a mapping"}) == "10.0.0.5"
    assert peer_address({}) == ""


# --- header mode: the identity the proxy passed on ---------------------------------------------------

def test_the_headers_of_a_trusted_peer_become_the_identity():
    identity = resolve_header(request(headers={"X-Forwarded-Email": "  Ada@Example.com ",
                                               "X-Forwarded-Groups": "helpdesk, invite-admins,, helpdesk"}),
                              header_settings())
    assert identity == Identity(email="ada@example.com", groups=("helpdesk", "invite-admins"), role="admin",
                                source="header")


def test_without_a_groups_header_the_identity_has_no_groups():
    identity = resolve_header(request(headers={"X-Forwarded-Email": "ada@example.com"}), header_settings())
    assert identity.groups == () and identity.role is None


def test_a_missing_or_blank_email_header_is_refused_and_the_log_names_the_header():
    for headers in ({}, {"X-Forwarded-Email": "   "}):
        error = refusal(resolve_header, request(headers=headers), header_settings())
        assert error.reason == "missing_header" and "identity header was missing" in error.message
        assert "X-Forwarded-Email" in error.detail and PROXY in error.detail


def test_an_email_header_that_is_not_one_address_is_refused_without_logging_its_value():
    error = refusal(resolve_header, request(headers={"X-Forwarded-Email": "ada@example.com, eve@example.com"}),
                    header_settings())
    assert error.reason == "invalid_header" and "not a usable email address" in error.message
    assert "X-Forwarded-Email" in error.detail and PROXY in error.detail
    assert "eve@example.com" not in error.detail


@pytest.mark.parametrize("value, groups", [
    ("a, b ,,a", ("a", "b")),
    (["invite-admins", 7, " helpdesk ", "", None, "invite-admins"], ("invite-admins", "helpdesk")),
    (("x",), ("x",)),
    ({"invite-admins": True}, ()),
    (42, ()),
    (None, ()),
])
def test_groups_are_a_list_or_a_comma_separated_string_and_anything_else_grants_nothing(value, groups):
    assert split_groups(value) == groups


# --- dev mode ----------------------------------------------------------------------------------------

def test_dev_mode_is_the_configured_fixed_identity_whatever_the_request_says():
    settings = settings_from(sandbox=True, AUTH_MODE="dev", AUTH_DEV_EMAIL="Sam@Example.com", AUTH_DEV_ROLE="support")
    identity = resolve_identity(request("203.0.113.9", {"X-Forwarded-Email": "eve@example.com"}), settings, None)
    assert identity == Identity(email="sam@example.com", groups=(), role="support", source="dev")


def test_dev_mode_defaults_to_an_admin_on_localhost():
    identity = resolve_identity(request(), settings_from(sandbox=True, AUTH_MODE="dev"), None)
    assert (identity.email, identity.role, identity.source) == ("dev@localhost", "admin", "dev")


def test_header_mode_is_chosen_by_the_settings_not_by_the_request():
    identity = resolve_identity(request(headers={"X-Forwarded-Email": "ada@example.com"}), header_settings(), None)
    assert identity.source == "header"


# --- jwt mode ----------------------------------------------------------------------------------------

@pytest.fixture
def jwks():
    with JwksServer() as server:
        server.keys = [public_jwk(RSA, "rsa-1", "RS256")]
        yield JwksCache(server.url, timeout=2, clock=Clock())


@pytest.fixture
def jwt_settings(jwks):
    return settings_from(AUTH_MODE="jwt", AUTH_JWT_HEADER=HEADER, AUTH_JWKS_URL=jwks.url, AUTH_JWT_AUDIENCE=AUDIENCE,
                         AUTH_JWT_ISSUER=ISSUER, ADMIN_GROUPS="invite-admins", SUPPORT_GROUPS="helpdesk",
                         AUTH_JWT_EMAIL_CLAIM="upn", AUTH_JWT_GROUPS_CLAIM="roles")


def test_jwt_identity_comes_from_the_configured_claims(jwt_settings, jwks):
    token = sign(upn=" Ada@Example.com ", roles=["helpdesk", "helpdesk", "other"], email="eve@example.com",
                 groups=["invite-admins"])
    identity = resolve_identity(request(headers={HEADER: f" {token} "}), jwt_settings, jwks)
    assert identity == Identity(email="ada@example.com", groups=("helpdesk", "other"), role="support", source="jwt")


def test_a_token_without_a_kid_uses_the_only_published_key(jwt_settings, jwks):
    token = jwt.encode(claims(upn="ada@example.com", roles="invite-admins"), RSA, algorithm="RS256")
    assert resolve_jwt(request(headers={HEADER: token}), jwt_settings, jwks).role == "admin"


@pytest.mark.parametrize("kid", [7, ["rsa-1"], {"id": "rsa-1"}])
def test_a_kid_that_is_not_a_string_is_refused_as_unverifiable(jwt_settings, jwks, kid):
    token = handmade({"alg": "RS256", "typ": "JWT", "kid": kid}, claims(upn="ada@example.com"), b"signature")
    error = refusal(resolve_jwt, request(headers={HEADER: token}), jwt_settings, jwks)
    assert error.reason == "invalid_assertion" and error.status == 401
    assert error.detail.startswith(f"{HEADER} refused: InvalidTokenError")
    assert token not in error.detail


@pytest.mark.parametrize("email", [None, "", "   ", "not-an-address", ["ada@example.com"]])
def test_a_verified_token_without_a_usable_email_claim_is_refused_naming_the_claim(jwt_settings, jwks, email):
    error = refusal(resolve_jwt, request(headers={HEADER: sign(upn=email)}), jwt_settings, jwks)
    assert error.reason == "invalid_assertion"
    assert HEADER in error.detail and "'upn'" in error.detail


def test_a_refused_token_is_logged_by_kind_never_by_content(jwt_settings, jwks):
    token = sign(upn="ada@example.com", aud="some-other-app")
    error = refusal(resolve_jwt, request(headers={HEADER: token}), jwt_settings, jwks)
    assert error.reason == "invalid_assertion" and "could not be verified" in error.message
    assert error.detail == f"{HEADER} refused: InvalidAudienceError: Audience doesn't match"
    assert token not in error.detail and token.split(".")[1] not in error.detail


def test_what_a_token_makes_the_log_say_is_bounded(jwt_settings, jwks):
    # The kid is the sender's to choose, and the key set's refusal repeats it: an outsider cannot flood the log.
    error = refusal(resolve_jwt, request(headers={HEADER: sign(kid="k" * 5000)}), jwt_settings, jwks)
    prefix = f"{HEADER} refused: UnknownKey: "
    assert error.detail.startswith(prefix + "no usable signing key for kid 'kkk")
    assert len(error.detail) == len(prefix) + 200


def test_a_missing_token_says_the_proxy_passed_no_assertion(jwt_settings, jwks):
    error = refusal(resolve_jwt, request(headers={HEADER: "  "}), jwt_settings, jwks)
    assert error.reason == "missing_assertion" and error.status == 401
    assert f"{HEADER} missing" == error.detail


def test_an_unreachable_key_set_is_a_503_that_says_to_try_again():
    settings = settings_from(AUTH_MODE="jwt", AUTH_JWT_HEADER=HEADER, AUTH_JWKS_URL="https://127.0.0.1:9/jwks.json",
                             AUTH_JWT_AUDIENCE=AUDIENCE, AUTH_JWT_ISSUER=ISSUER, ADMIN_GROUPS="invite-admins")
    unreachable = JwksCache("http://127.0.0.1:9/jwks.json", timeout=1, clock=Clock())
    error = refusal(resolve_jwt, request(headers={HEADER: sign()}), settings, unreachable)
    assert error.reason == "unavailable" and error.status == 503
    assert "Try again in a minute" in error.message
    assert error.detail.startswith("no signing keys:")  # the log says why, for whoever runs the dashboard


# --- the refusal itself ------------------------------------------------------------------------------

def test_every_reason_but_an_unavailable_key_set_is_the_requesters_to_fix():
    statuses = {reason: AuthError(reason, "detail").status for reason in REASONS}
    assert statuses == {"untrusted": 401, "missing_header": 401, "invalid_header": 401, "missing_assertion": 401,
                        "invalid_assertion": 401, "unavailable": 503}


def test_a_refusal_keeps_its_log_detail_apart_from_the_page_text():
    error = AuthError("untrusted", "peer 203.0.113.9 is not in AUTH_TRUSTED_PROXIES")
    assert str(error) == error.detail == "peer 203.0.113.9 is not in AUTH_TRUSTED_PROXIES"
    assert "203.0.113.9" not in error.message
    with pytest.raises(AssertionError):
        AuthError("no-such-reason", "x")
