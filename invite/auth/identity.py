"""Who is asking: the identity a request carries, in header, jwt or dev mode.

Each resolver either returns an Identity or raises AuthError. An AuthError's `reason` picks a
generic sentence for the 401 page; its `detail` is for the log only and never holds a token or a
header value that came from outside the trusted proxy.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import jwt
from flask import Request

from invite.auth.jwks import JwksCache, JwksError, JwksUnavailable
from invite.auth.peers import peer_address
from invite.auth.repeated_headers import REPEATED_HEADERS, repeated_names
from invite.auth.roles import role_for
from invite.auth.settings import AuthSettings, looks_like_email, normalise_email

# Page text per reason. Generic on purpose: no header names, claim names or token contents, which
# would only help someone trying to forge them; the specifics go to the log.
REASONS = {
    "untrusted": "This request did not come through your company's sign-in proxy, so the dashboard "
                 "cannot tell who you are.",
    "missing_header": "Your company's sign-in proxy did not pass on who you are (the identity header "
                      "was missing).",
    "invalid_header": "The identity passed on by your company's sign-in proxy was not a usable email address.",
    "missing_assertion": "Your company's sign-in proxy did not pass on a signed sign-in assertion.",
    "invalid_assertion": "The signed sign-in assertion from your company's sign-in proxy could not be "
                         "verified; it may have expired.",
    "unavailable": "The dashboard could not fetch the keys it needs to check sign-ins. Try again in a minute.",
}

# Every reason is the requester's to fix by signing in, except a key set the app cannot fetch.
STATUS = {reason: 401 for reason in REASONS} | {"unavailable": 503}


@dataclass(frozen=True)
class Identity:
    email: str
    groups: tuple[str, ...]
    role: str | None  # "admin", "support" or None (signed in, but no access)
    source: str  # "header", "jwt" or "dev"


class AuthError(Exception):
    def __init__(self, reason: str, detail: str):
        assert reason in REASONS, reason
        super().__init__(detail)
        self.reason = reason
        self.detail = detail

    @property
    def message(self) -> str:
        return REASONS[self.reason]

    @property
    def status(self) -> int:
        return STATUS[self.reason]


def is_trusted_peer(address: str, settings: AuthSettings) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        # A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in settings.trusted_proxies)


def split_groups(value: Any) -> tuple[str, ...]:
    """Groups as a list of strings or one comma-separated string; anything else means none."""
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list | tuple):
        items = [item for item in value if isinstance(item, str)]
    else:
        return ()
    return tuple(dict.fromkeys(item.strip() for item in items if item.strip()))


def _identity(email: str, groups: tuple[str, ...], source: str, settings: AuthSettings) -> Identity:
    """`email` has passed _unambiguous()."""
    return Identity(email=email, groups=groups, role=role_for(email, groups, settings), source=source)


def _unambiguous(email: str, reason: str, detail: str) -> str:
    normalised = normalise_email(email)
    if normalised is None:
        raise AuthError(reason, f"{detail}: normalisation or case folding would change it")
    return normalised


def resolve_header(request: Request, settings: AuthSettings) -> Identity:
    peer = peer_address(request.environ)
    if not is_trusted_peer(peer, settings):
        raise AuthError("untrusted", f"peer {peer or '(none)'} is not in AUTH_TRUSTED_PROXIES")
    repeated = repeated_names(request.headers.get(REPEATED_HEADERS, ""))
    for name in (settings.email_header, settings.groups_header):
        if name.lower() in repeated:
            # Never merge: one of the copies may be the client's own, passed through by the proxy.
            raise AuthError("invalid_header", f"{name} arrived more than once from {peer}")
    email = request.headers.get(settings.email_header, "").strip()
    if not email:
        raise AuthError("missing_header", f"{settings.email_header} missing from a trusted peer ({peer})")
    if not looks_like_email(email):
        # A repeated header arrives joined with commas, which this also refuses.
        raise AuthError("invalid_header", f"{settings.email_header} from {peer} is not one email address")
    email = _unambiguous(email, "invalid_header", f"{settings.email_header} from {peer}")
    groups = split_groups(request.headers.get(settings.groups_header, ""))
    return _identity(email, groups, "header", settings)


def resolve_jwt(request: Request, settings: AuthSettings, jwks: JwksCache) -> Identity:
    token = request.headers.get(settings.jwt_header, "").strip()
    if not token:
        raise AuthError("missing_assertion", f"{settings.jwt_header} missing")
    try:
        header = jwt.get_unverified_header(token)
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise jwt.InvalidTokenError("kid is not a string")
        # The algorithm comes from the key the proxy published, never from the token's header: PyJWT
        # then refuses a token whose "alg" differs (none, HS256 keyed with our public key, ...).
        key = jwks.get_signing_key(kid)
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[key.algorithm_name],
            audience=list(settings.jwt_audience),
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_seconds,
            # nbf is checked when present but not required: Google IAP's assertions carry none.
            options={"require": ["exp", "iat", "iss", "aud"], "verify_signature": True},
        )
    except JwksUnavailable as exc:
        raise AuthError("unavailable", str(exc)) from None
    except (JwksError, jwt.PyJWTError) as exc:
        raise AuthError("invalid_assertion", f"{settings.jwt_header} refused: {type(exc).__name__}: "
                                             f"{str(exc)[:200]}") from None
    lifetime = int(claims["exp"]) - int(claims["iat"])  # PyJWT has checked that both read as integers
    if lifetime > settings.jwt_max_lifetime_seconds:
        raise AuthError("invalid_assertion", f"{settings.jwt_header} is valid for {lifetime:.0f} s, more than "
                                             f"AUTH_JWT_MAX_LIFETIME_SECONDS ({settings.jwt_max_lifetime_seconds})")
    # An identity provider that says it has not verified the address does not vouch for the person.
    if "email_verified" in claims and claims["email_verified"] not in (True, "true"):
        raise AuthError("invalid_assertion", f"{settings.jwt_header} says email_verified is "
                                             f"{str(claims['email_verified'])[:20]!r}")
    email = claims.get(settings.jwt_email_claim)
    if not isinstance(email, str) or not looks_like_email(email.strip()):
        raise AuthError("invalid_assertion", f"{settings.jwt_header} has no usable "
                                             f"{settings.jwt_email_claim!r} claim")
    email = _unambiguous(email.strip(), "invalid_assertion", f"{settings.jwt_header}'s "
                                                              f"{settings.jwt_email_claim!r} claim")
    groups = split_groups(claims.get(settings.jwt_groups_claim))
    return _identity(email, groups, "jwt", settings)


def resolve_dev(settings: AuthSettings) -> Identity:
    return Identity(email=settings.dev_email, groups=(), role=settings.dev_role, source="dev")


def resolve_identity(request: Request, settings: AuthSettings, jwks: JwksCache | None) -> Identity:
    if settings.mode == "header":
        return resolve_header(request, settings)
    if settings.mode == "jwt":
        assert jwks is not None
        return resolve_jwt(request, settings, jwks)
    return resolve_dev(settings)
