"""Authentication settings: read once at start-up, every problem reported at once.

The dashboard acts with one shared Management Key, so Junction cannot tell people apart; these
settings decide how the dashboard itself learns who is asking. A mistake here either locks everyone
out or lets anyone in, so anything doubtful is a start-up problem rather than a guess.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MODES = ("header", "jwt", "dev")
ROLES = ("admin", "support")

DEFAULT_EMAIL_HEADER = "X-Forwarded-Email"  # oauth2-proxy's names
DEFAULT_GROUPS_HEADER = "X-Forwarded-Groups"
DEFAULT_EMAIL_CLAIM = "email"
DEFAULT_GROUPS_CLAIM = "groups"
DEFAULT_DEV_EMAIL = "dev@localhost"
JWKS_TIMEOUT_SECONDS = 3.0  # short: a request waits for a fetch only when no usable key is held
JWT_LEEWAY_SECONDS = 30
JWT_MAX_LIFETIME_SECONDS = 24 * 3600

# Letters, digits and dashes only: WSGI turns both "-" and "_" into "_", so a name with an underscore
# could be matched by a header the proxy never strips.
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,100}$")
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class AuthSettings:
    mode: str
    # header mode
    email_header: str = DEFAULT_EMAIL_HEADER
    groups_header: str = DEFAULT_GROUPS_HEADER
    trusted_proxies: tuple[IPNetwork, ...] = ()
    # jwt mode; the URL stays out of repr() in case an operator put credentials in it
    jwt_header: str = ""
    jwks_url: str = field(default="", repr=False)
    jwt_audience: tuple[str, ...] = ()
    jwt_issuer: str = ""
    jwt_email_claim: str = DEFAULT_EMAIL_CLAIM
    jwt_groups_claim: str = DEFAULT_GROUPS_CLAIM
    jwks_timeout_seconds: float = JWKS_TIMEOUT_SECONDS
    jwt_leeway_seconds: int = JWT_LEEWAY_SECONDS
    # A token valid for longer than this (exp - iat) is refused: a leaked one must not work for weeks.
    jwt_max_lifetime_seconds: int = JWT_MAX_LIFETIME_SECONDS
    # dev mode
    dev_email: str = DEFAULT_DEV_EMAIL
    dev_role: str = "admin"
    # role mapping; emails are kept in normalise_email()'s form, the form identities are compared in
    admin_groups: tuple[str, ...] = ()
    support_groups: tuple[str, ...] = ()
    admin_emails: frozenset[str] = frozenset()
    support_emails: frozenset[str] = frozenset()
    # Where "Sign in again" on the 401/403 pages goes (the SSO proxy's sign-in); empty: a reload.
    sign_in_url: str = ""

    @property
    def granting_groups(self) -> tuple[str, ...]:
        """The group names a person can be added to for access, for the 403 page."""
        return tuple(dict.fromkeys(self.admin_groups + self.support_groups))


def _list(raw: str | None) -> tuple[str, ...]:
    items = (item.strip() for item in (raw or "").split(","))
    return tuple(dict.fromkeys(item for item in items if item))


def looks_like_email(value: str) -> bool:
    """Deliberately loose: only rules out values that cannot be one person's address."""
    if not value or len(value) > 320 or any(ch.isspace() or ch in ",;<>\"" or ord(ch) < 32 for ch in value):
        return False
    local, at, domain = value.rpartition("@")
    return bool(at and local and domain)


_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def normalise_email(value: str) -> str | None:
    """The one form an identity is compared in, or None when the address is ambiguous.

    Only ASCII letters are lower-cased. An address that NFKC normalisation or Unicode case folding
    would still change after that (a Kelvin sign for K, full-width letters, a non-ASCII capital, ß) is
    refused outright: str.lower() maps "\u212aate@example.com" to Kate's address, so two people could
    otherwise compare equal.
    """
    lowered = value.translate(_ASCII_UPPER)
    if unicodedata.normalize("NFKC", lowered) != lowered or lowered.casefold() != lowered:
        return None
    return lowered


def _header_name(env: Mapping[str, str], name: str, default: str, problems: list[str]) -> str:
    value = env.get(name, "").strip() or default
    if value and not _HEADER_NAME.match(value):
        problems.append(f"{name}: {value!r} is not a usable header name (letters, digits and dashes only).")
    return value


def _emails(env: Mapping[str, str], name: str, problems: list[str]) -> frozenset[str]:
    found = set()
    for item in _list(env.get(name)):
        if not looks_like_email(item):
            problems.append(f"{name}: {item!r} is not an email address.")
        elif (normalised := normalise_email(item)) is None:
            problems.append(f"{name}: {item!r} has characters that Unicode normalisation or case folding "
                            f"would change (e.g. a Kelvin sign or a non-ASCII capital); write the address "
                            f"exactly as the sign-in proxy sends it, in lower case.")
        else:
            found.add(normalised)
    return frozenset(found)


def _trusted_proxies(env: Mapping[str, str], problems: list[str]) -> tuple[IPNetwork, ...]:
    items = _list(env.get("AUTH_TRUSTED_PROXIES"))
    if not items:
        problems.append("AUTH_TRUSTED_PROXIES is required when AUTH_MODE=header: the proxy's addresses "
                        "as comma-separated CIDRs (e.g. 10.0.0.0/24), so nobody else can set the identity headers.")
        return ()
    networks = []
    for item in items:
        try:
            network = ipaddress.ip_network(item, strict=True)
        except ValueError:
            try:
                loose = ipaddress.ip_network(item, strict=False)
            except ValueError:
                problems.append(f"AUTH_TRUSTED_PROXIES: {item!r} is not a CIDR.")
            else:
                problems.append(f"AUTH_TRUSTED_PROXIES: {item!r} has host bits set (did you mean {loose}?).")
            continue
        if network.prefixlen == 0:
            # Trusting every address would let anyone who reaches the app name themselves.
            problems.append(f"AUTH_TRUSTED_PROXIES: {item!r} would trust every address; list only the proxy's.")
            continue
        networks.append(network)
    return tuple(networks)


def _jwks_url(env: Mapping[str, str], problems: list[str]) -> str:
    url = env.get("AUTH_JWKS_URL", "").strip()
    if not url:
        problems.append("AUTH_JWKS_URL is required when AUTH_MODE=jwt (the proxy's public signing keys).")
        return ""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        problems.append("AUTH_JWKS_URL must be an https URL.")
    elif parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        # Keys fetched in the clear could be swapped in transit, and then anyone could sign in.
        problems.append("AUTH_JWKS_URL must use https (plain http is allowed only on loopback).")
    return url


def _max_lifetime(env: Mapping[str, str], problems: list[str]) -> int:
    raw = env.get("AUTH_JWT_MAX_LIFETIME_SECONDS", "").strip()
    if not raw:
        return JWT_MAX_LIFETIME_SECONDS
    if not raw.isdigit() or not 60 <= int(raw) <= 30 * 24 * 3600:
        problems.append(f"AUTH_JWT_MAX_LIFETIME_SECONDS must be a whole number of seconds from 60 to "
                        f"2592000 (30 days) (got {raw!r}).")
        return JWT_MAX_LIFETIME_SECONDS
    return int(raw)


def load_auth_settings(env: Mapping[str, str], *, sandbox: bool) -> tuple[AuthSettings | None, list[str]]:
    """Returns (settings, []) or (None, problems), one plain line per problem naming the variable."""
    problems: list[str] = []
    mode = env.get("AUTH_MODE", "").strip().lower()
    if not mode:
        if not sandbox:
            problems.append("AUTH_MODE is required outside the sandbox (header, jwt or dev).")
            return None, problems
        mode = "dev"
    if mode not in MODES:
        problems.append(f"AUTH_MODE must be header, jwt or dev (got {mode!r}).")
        return None, problems

    values: dict[str, object] = {"mode": mode}
    if mode == "header":
        values["email_header"] = _header_name(env, "AUTH_EMAIL_HEADER", DEFAULT_EMAIL_HEADER, problems)
        values["groups_header"] = _header_name(env, "AUTH_GROUPS_HEADER", DEFAULT_GROUPS_HEADER, problems)
        values["trusted_proxies"] = _trusted_proxies(env, problems)
    elif mode == "jwt":
        values["jwt_header"] = _header_name(env, "AUTH_JWT_HEADER", "", problems)
        if not values["jwt_header"]:
            problems.append("AUTH_JWT_HEADER is required when AUTH_MODE=jwt (e.g. Cf-Access-Jwt-Assertion, "
                            "X-Goog-IAP-JWT-Assertion or X-Pomerium-Jwt-Assertion).")
        values["jwks_url"] = _jwks_url(env, problems)
        values["jwt_audience"] = _list(env.get("AUTH_JWT_AUDIENCE"))
        if not values["jwt_audience"]:
            problems.append("AUTH_JWT_AUDIENCE is required when AUTH_MODE=jwt (the audience your proxy "
                            "puts in the assertion for this app).")
        values["jwt_issuer"] = env.get("AUTH_JWT_ISSUER", "").strip()
        if not values["jwt_issuer"]:
            problems.append("AUTH_JWT_ISSUER is required when AUTH_MODE=jwt (the iss your proxy signs with).")
        values["jwt_email_claim"] = env.get("AUTH_JWT_EMAIL_CLAIM", "").strip() or DEFAULT_EMAIL_CLAIM
        values["jwt_groups_claim"] = env.get("AUTH_JWT_GROUPS_CLAIM", "").strip() or DEFAULT_GROUPS_CLAIM
        values["jwt_max_lifetime_seconds"] = _max_lifetime(env, problems)
    else:
        if not sandbox:
            problems.append("AUTH_MODE=dev is allowed only with INVITE_SANDBOX=1: it signs everyone in "
                            "as one fixed person.")
        dev_email = env.get("AUTH_DEV_EMAIL", "").strip() or DEFAULT_DEV_EMAIL
        if not looks_like_email(dev_email):
            problems.append(f"AUTH_DEV_EMAIL: {dev_email!r} is not an email address.")
        elif normalise_email(dev_email) is None:
            problems.append(f"AUTH_DEV_EMAIL: {dev_email!r} has characters that Unicode normalisation or "
                            f"case folding would change; use the plain lower-case address.")
        values["dev_email"] = normalise_email(dev_email) or dev_email
        dev_role = env.get("AUTH_DEV_ROLE", "").strip().lower() or "admin"
        if dev_role not in ROLES:
            problems.append(f"AUTH_DEV_ROLE must be admin or support (got {dev_role!r}).")
        values["dev_role"] = dev_role

    values["admin_groups"] = _list(env.get("ADMIN_GROUPS"))
    values["support_groups"] = _list(env.get("SUPPORT_GROUPS"))
    values["admin_emails"] = _emails(env, "ADMIN_EMAILS", problems)
    values["support_emails"] = _emails(env, "SUPPORT_EMAILS", problems)
    sign_in_url = env.get("AUTH_SIGN_IN_URL", "").strip()
    if sign_in_url and (urlsplit(sign_in_url).scheme not in {"http", "https"} or not urlsplit(sign_in_url).hostname):
        problems.append("AUTH_SIGN_IN_URL must be an http(s) URL (the SSO proxy's sign-in address).")
    values["sign_in_url"] = sign_in_url
    role_names = ("ADMIN_GROUPS", "SUPPORT_GROUPS", "ADMIN_EMAILS", "SUPPORT_EMAILS")
    if mode != "dev" and not any(_list(env.get(name)) for name in role_names):
        problems.append("Set at least one of ADMIN_GROUPS, SUPPORT_GROUPS, ADMIN_EMAILS or SUPPORT_EMAILS: "
                        "without them nobody signed in would have a role.")

    if problems:
        return None, problems
    return AuthSettings(**values), []  # type: ignore[arg-type]
