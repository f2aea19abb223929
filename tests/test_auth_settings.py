"""load_auth_settings: every mode's variables, defaults, and one plain problem line per mistake."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest

from invite.auth import AuthSettings, load_auth_settings

ROLES = {"ADMIN_GROUPS": "invite-admins"}
JWT = {"AUTH_MODE": "jwt", "AUTH_JWT_HEADER": "Cf-Access-Jwt-Assertion",
       "AUTH_JWKS_URL": "https://example.cloudflareaccess.com/cdn-cgi/access/certs",
       "AUTH_JWT_AUDIENCE": "aud-tag", "AUTH_JWT_ISSUER": "https://example.cloudflareaccess.com", **ROLES}
HEADER = {"AUTH_MODE": "header", "AUTH_TRUSTED_PROXIES": "10.0.0.0/24", **ROLES}


def load(env, sandbox=False):
    return load_auth_settings(env, sandbox=sandbox)


def problems_of(env, sandbox=False) -> list[str]:
    settings, problems = load(env, sandbox)
    assert settings is None and problems
    return problems


# --- choosing a mode --------------------------------------------------------------------------------

def test_no_mode_outside_the_sandbox_refuses_to_start():
    assert problems_of({**ROLES}) == ["AUTH_MODE is required outside the sandbox (header, jwt or dev)."]


def test_no_mode_in_the_sandbox_means_dev_as_admin():
    settings, problems = load({}, sandbox=True)
    assert problems == []
    assert (settings.mode, settings.dev_email, settings.dev_role) == ("dev", "dev@localhost", "admin")


def test_unknown_mode():
    assert problems_of({"AUTH_MODE": "saml"}) == ["AUTH_MODE must be header, jwt or dev (got 'saml')."]


def test_mode_is_case_insensitive():
    settings, problems = load({**HEADER, "AUTH_MODE": " Header "})
    assert problems == [] and settings.mode == "header"


# --- dev --------------------------------------------------------------------------------------------

def test_dev_is_refused_outside_the_sandbox():
    problems = problems_of({"AUTH_MODE": "dev", **ROLES})
    assert len(problems) == 1
    assert problems[0].startswith("AUTH_MODE=dev is allowed only with INVITE_SANDBOX=1")


def test_dev_role_and_email():
    settings, _ = load({"AUTH_MODE": "dev", "AUTH_DEV_ROLE": "Support", "AUTH_DEV_EMAIL": "Me@Example.com"},
                       sandbox=True)
    assert (settings.dev_role, settings.dev_email) == ("support", "me@example.com")
    assert problems_of({"AUTH_MODE": "dev", "AUTH_DEV_ROLE": "owner"}, sandbox=True) == [
        "AUTH_DEV_ROLE must be admin or support (got 'owner')."]
    assert problems_of({"AUTH_MODE": "dev", "AUTH_DEV_EMAIL": "nobody"}, sandbox=True) == [
        "AUTH_DEV_EMAIL: 'nobody' is not an email address."]


def test_dev_needs_no_role_mapping():
    settings, problems = load({"AUTH_MODE": "dev"}, sandbox=True)
    assert problems == [] and settings.admin_groups == ()


# --- header -----------------------------------------------------------------------------------------

def test_header_defaults_are_oauth2_proxys():
    settings, problems = load(HEADER)
    assert problems == []
    assert settings.email_header == "X-Forwarded-Email"
    assert settings.groups_header == "X-Forwarded-Groups"
    assert settings.trusted_proxies == (ipaddress.ip_network("10.0.0.0/24"),)


def test_header_names_and_several_proxies():
    settings, problems = load({**HEADER, "AUTH_EMAIL_HEADER": "X-Auth-Request-Email",
                               "AUTH_GROUPS_HEADER": "X-Auth-Request-Groups",
                               "AUTH_TRUSTED_PROXIES": "10.0.0.0/24, 192.168.1.7 ,fd00::/64"})
    assert problems == []
    assert (settings.email_header, settings.groups_header) == ("X-Auth-Request-Email", "X-Auth-Request-Groups")
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.0/24", "192.168.1.7/32", "fd00::/64"]


def test_header_mode_requires_trusted_proxies():
    problems = problems_of({"AUTH_MODE": "header", **ROLES})
    assert len(problems) == 1 and problems[0].startswith("AUTH_TRUSTED_PROXIES is required when AUTH_MODE=header")


@pytest.mark.parametrize(("value", "problem"), [
    ("10.0.0.0/33", "AUTH_TRUSTED_PROXIES: '10.0.0.0/33' is not a CIDR."),
    ("proxy.internal", "AUTH_TRUSTED_PROXIES: 'proxy.internal' is not a CIDR."),
    ("10.0.0.5/24", "AUTH_TRUSTED_PROXIES: '10.0.0.5/24' has host bits set (did you mean 10.0.0.0/24?)."),
    ("0.0.0.0/0", "AUTH_TRUSTED_PROXIES: '0.0.0.0/0' would trust every address; list only the proxy's."),
    ("::/0", "AUTH_TRUSTED_PROXIES: '::/0' would trust every address; list only the proxy's."),
])
def test_bad_trusted_proxies(value, problem):
    assert problems_of({**HEADER, "AUTH_TRUSTED_PROXIES": f"10.1.0.0/16,{value}"}) == [problem]


def test_header_name_with_underscore_is_refused():
    assert problems_of({**HEADER, "AUTH_EMAIL_HEADER": "X_Forwarded_Email"}) == [
        "AUTH_EMAIL_HEADER: 'X_Forwarded_Email' is not a usable header name (letters, digits and dashes only)."]


# --- jwt --------------------------------------------------------------------------------------------

def test_jwt_settings_and_claim_defaults():
    settings, problems = load(JWT)
    assert problems == []
    assert settings.jwt_header == "Cf-Access-Jwt-Assertion"
    assert settings.jwt_audience == ("aud-tag",)
    assert settings.jwt_issuer == "https://example.cloudflareaccess.com"
    assert (settings.jwt_email_claim, settings.jwt_groups_claim) == ("email", "groups")
    assert settings.jwt_leeway_seconds == 30


def test_jwt_custom_claims_and_several_audiences():
    settings, _ = load({**JWT, "AUTH_JWT_EMAIL_CLAIM": "upn", "AUTH_JWT_GROUPS_CLAIM": "roles",
                        "AUTH_JWT_AUDIENCE": "a, b"})
    assert (settings.jwt_email_claim, settings.jwt_groups_claim, settings.jwt_audience) == ("upn", "roles", ("a", "b"))


def test_jwt_requires_each_of_its_variables():
    problems = problems_of({"AUTH_MODE": "jwt", **ROLES})
    assert [p.split(" ", 1)[0] for p in problems] == [
        "AUTH_JWT_HEADER", "AUTH_JWKS_URL", "AUTH_JWT_AUDIENCE", "AUTH_JWT_ISSUER"]


@pytest.mark.parametrize(("url", "ok"), [
    ("https://keys.example.com/jwks.json", True),
    ("http://127.0.0.1:8080/jwks", True),
    ("http://localhost/jwks", True),
    ("http://keys.example.com/jwks.json", False),  # keys in the clear could be swapped in transit
    ("ftp://keys.example.com/jwks.json", False),
    ("keys.example.com/jwks.json", False),
])
def test_jwks_url_must_be_https_except_on_loopback(url, ok):
    settings, problems = load({**JWT, "AUTH_JWKS_URL": url})
    assert (settings is not None) is ok
    assert all(p.startswith("AUTH_JWKS_URL must") for p in problems)


# --- role mapping -----------------------------------------------------------------------------------

def test_outside_dev_some_role_mapping_is_required():
    problems = problems_of({"AUTH_MODE": "header", "AUTH_TRUSTED_PROXIES": "10.0.0.0/24"})
    assert len(problems) == 1
    assert problems[0].startswith("Set at least one of ADMIN_GROUPS, SUPPORT_GROUPS, ADMIN_EMAILS or SUPPORT_EMAILS")


@pytest.mark.parametrize("name", ["ADMIN_GROUPS", "SUPPORT_GROUPS", "ADMIN_EMAILS", "SUPPORT_EMAILS"])
def test_any_one_role_variable_is_enough(name):
    value = "x@example.com" if name.endswith("EMAILS") else "group"
    settings, problems = load({"AUTH_MODE": "header", "AUTH_TRUSTED_PROXIES": "10.0.0.0/24", name: value})
    assert problems == [] and settings is not None


def test_role_lists_are_split_trimmed_and_emails_lower_cased():
    settings, _ = load({**HEADER, "ADMIN_GROUPS": " admins , ,ops", "SUPPORT_GROUPS": "helpdesk",
                        "ADMIN_EMAILS": "Boss@Example.COM", "SUPPORT_EMAILS": "a@example.com,B@example.com"})
    assert settings.admin_groups == ("admins", "ops")
    assert settings.support_groups == ("helpdesk",)
    assert settings.admin_emails == frozenset({"boss@example.com"})
    assert settings.support_emails == frozenset({"a@example.com", "b@example.com"})
    assert settings.granting_groups == ("admins", "ops", "helpdesk")


def test_bad_email_in_a_role_list():
    assert problems_of({**HEADER, "SUPPORT_EMAILS": "ok@example.com,bob"}) == [
        "SUPPORT_EMAILS: 'bob' is not an email address."]


def test_all_problems_are_reported_at_once():
    problems = problems_of({"AUTH_MODE": "header", "AUTH_TRUSTED_PROXIES": "10.0.0.0/33",
                            "AUTH_GROUPS_HEADER": "bad header", "ADMIN_EMAILS": "nope"})
    assert [p.split(":", 1)[0].split(" ", 1)[0] for p in problems] == [
        "AUTH_GROUPS_HEADER", "AUTH_TRUSTED_PROXIES", "ADMIN_EMAILS"]


# --- the settings object ----------------------------------------------------------------------------

def test_settings_are_frozen_and_repr_keeps_the_jwks_url_out():
    settings, _ = load({**JWT, "AUTH_JWKS_URL": "https://user:s3cret@keys.example.com/jwks?token=abc"})
    assert isinstance(settings, AuthSettings)
    assert "s3cret" not in repr(settings) and "token=abc" not in repr(settings)
    assert "mode='jwt'" in repr(settings)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.mode = "dev"
