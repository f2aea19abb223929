"""The SSO proxy's public signing keys, fetched with `requests` and cached.

Rules: a key is looked up by the token's `kid`; an unknown `kid` triggers one refetch, but there is
never more than one such refetch a minute, so a stream of made-up kids cannot turn the app into a load
generator against the JWKS endpoint (or stall every request behind it). The cached set is also
refreshed after an hour so a key the proxy withdrew stops being trusted; if that refresh fails the old
set is kept, because the alternative is locking everyone out while the endpoint is down. Until a first
set has been fetched, a failed fetch is retried after a few seconds rather than on every request.

PyJWT's PyJWKClient is not used: it fetches with urllib, has no injectable clock, and its cooldown
starts at every fetch (so a key rotated just after a routine fetch is refused until the cooldown ends),
so it cannot meet exactly these rules.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import jwt
import requests

# Asymmetric only. A JWK whose algorithm is anything else (an "oct" HMAC key above all) is ignored, so
# no token can ever be checked with a shared secret, let alone with a public key used as one.
ALLOWED_ALGORITHMS = frozenset({
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
})

REFETCH_INTERVAL_SECONDS = 60.0
MAX_AGE_SECONDS = 3600.0
FAILURE_RETRY_SECONDS = 5.0
# Never trust a JWKS endpoint to be small: a real one is a few kilobytes.
MAX_JWKS_BYTES = 1 << 20

log = logging.getLogger("invite.auth.jwks")


class JwksError(Exception):
    """Base class; `str()` is safe to log and never contains a token."""


class JwksUnavailable(JwksError):
    """No usable key set could be fetched (network, HTTP status, body)."""


class UnknownKey(JwksError):
    """The key set, even after any permitted refetch, has no usable key for this kid."""


class JwksCache:
    def __init__(self, url: str, *, timeout: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 refetch_interval: float = REFETCH_INTERVAL_SECONDS, max_age: float = MAX_AGE_SECONDS,
                 session: requests.Session | None = None):
        self.url = url
        self.timeout = timeout
        self.clock = clock
        self.refetch_interval = refetch_interval
        self.max_age = max_age
        self.session = session or requests.Session()
        self._keys: dict[str | None, jwt.PyJWK] | None = None
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last fetch of any kind, successful or not
        self._refetched_at: float | None = None  # last fetch caused by an unknown kid
        self._last_error = "not fetched yet"
        # One fetch at a time; the others wait for its result instead of fetching again.
        self._lock = threading.Lock()

    def get_signing_key(self, kid: str | None) -> jwt.PyJWK:
        """The usable key for `kid`; raises UnknownKey, or JwksUnavailable if no key set can be had."""
        with self._lock:
            now = self.clock()
            attempted = False  # at most one fetch per lookup
            if self._keys is None:
                # Everyone is locked out until this succeeds, so retry soon, but not on every request.
                if self._since(self._attempted_at, now) >= FAILURE_RETRY_SECONDS:
                    attempted = True
                    self._refresh(now)
                if self._keys is None:
                    raise JwksUnavailable(f"no signing keys: {self._last_error}")
            elif (self._since(self._fetched_at, now) >= self.max_age
                  and self._since(self._attempted_at, now) >= self.refetch_interval):
                attempted = True
                self._refresh(now)
            key = self._find(kid)
            if key is None and not attempted and self._since(self._refetched_at, now) >= self.refetch_interval:
                self._refetched_at = now
                if self._refresh(now):
                    key = self._find(kid)
            if key is None:
                raise UnknownKey(f"no usable signing key for kid {kid!r}" if kid else
                                 "token has no kid and the key set holds more than one key")
            return key

    @staticmethod
    def _since(moment: float | None, now: float) -> float:
        return float("inf") if moment is None else now - moment

    def _find(self, kid: str | None) -> jwt.PyJWK | None:
        assert self._keys is not None
        if kid is None:
            # Some proxies omit kid; that is unambiguous only when there is exactly one key.
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _refresh(self, now: float) -> bool:
        """Fetch the set; True if it was replaced. A failure keeps whatever set was held before."""
        self._attempted_at = now
        try:
            keys = self._fetch()
        except JwksUnavailable as exc:
            self._last_error = str(exc)
            log.warning("JWKS fetch failed: %s", exc)
            return False
        self._keys = keys
        self._fetched_at = now
        return True

    def _fetch(self) -> dict[str | None, jwt.PyJWK]:
        url = self._safe_url()
        try:
            with self.session.get(self.url, timeout=self.timeout, stream=True,
                                  headers={"Accept": "application/json"}) as response:
                if response.status_code != 200:
                    raise JwksUnavailable(f"{url} answered HTTP {response.status_code}")
                body = response.raw.read(MAX_JWKS_BYTES + 1, decode_content=True)
        except requests.RequestException as exc:
            raise JwksUnavailable(f"{url} unreachable ({type(exc).__name__})") from None
        if len(body) > MAX_JWKS_BYTES:
            raise JwksUnavailable(f"{url} answered more than {MAX_JWKS_BYTES} bytes")
        try:
            keyset = jwt.PyJWKSet.from_json(body.decode("utf-8"))
        except (ValueError, AttributeError, jwt.PyJWTError) as exc:
            raise JwksUnavailable(f"{url} did not answer a usable JWK set ({type(exc).__name__})") from None
        keys = {
            key.key_id: key for key in keyset.keys
            if key.algorithm_name in ALLOWED_ALGORITHMS and key.public_key_use in (None, "sig")
        }
        if not keys:
            raise JwksUnavailable(f"{url} holds no asymmetric signing keys")
        return keys

    def _safe_url(self) -> str:
        # No userinfo or query string: either could carry a credential.
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"
