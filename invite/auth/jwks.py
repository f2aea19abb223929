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
        # One fetch at a time. Held only around fetches; see get_signing_key for who waits on it.
        self._lock = threading.Lock()

    def get_signing_key(self, kid: str | None) -> jwt.PyJWK:
        """The usable key for `kid`; raises UnknownKey, or JwksUnavailable if no key set can be had.

        Only a request that needs a fetch waits for one: once a key set is held, a request whose kid is
        in it is served from it at once, even while another thread refreshes the set (a slow JWKS
        endpoint must not stall every signed-in request in the worker).
        """
        fetched = False  # at most one fetch per lookup
        keys = self._keys
        if keys is None:
            # Nothing to serve yet: wait for the one fetch under way, or make it.
            with self._lock:
                now = self.clock()
                if self._keys is None and self._since(self._attempted_at, now) >= FAILURE_RETRY_SECONDS:
                    # Everyone is locked out until this succeeds, so retry soon, but not on every request.
                    self._refresh(now)
                    fetched = True
                keys = self._keys
                if keys is None:
                    raise JwksUnavailable(f"no signing keys: {self._last_error}")
        elif self._is_old(self.clock()) and self._lock.acquire(blocking=False):
            # Routine refresh by whichever request notices first; the others keep using the held set.
            try:
                now = self.clock()
                if self._is_old(now):
                    self._refresh(now)
                    fetched = True
                keys = self._keys
            finally:
                self._lock.release()
        key = self._find(keys, kid)
        if key is None and not fetched:
            # An unknown kid may be a rotation: this request (only) waits for a refetch, at most one a minute.
            with self._lock:
                now = self.clock()
                key = self._find(self._keys, kid)  # another thread may just have fetched it
                if key is None and self._since(self._refetched_at, now) >= self.refetch_interval:
                    self._refetched_at = now
                    if self._refresh(now):
                        key = self._find(self._keys, kid)
        if key is None:
            raise UnknownKey(f"no usable signing key for kid {kid!r}" if kid else
                             "token has no kid and the key set holds more than one key")
        return key

    def _is_old(self, now: float) -> bool:
        return (self._since(self._fetched_at, now) >= self.max_age
                and self._since(self._attempted_at, now) >= self.refetch_interval)

    @staticmethod
    def _since(moment: float | None, now: float) -> float:
        return float("inf") if moment is None else now - moment

    @staticmethod
    def _find(keys: dict[str | None, jwt.PyJWK] | None, kid: str | None) -> jwt.PyJWK | None:
        if not keys:
            return None
        if kid is None:
            # Some proxies omit kid; that is unambiguous only when there is exactly one key.
            return next(iter(keys.values())) if len(keys) == 1 else None
        return keys.get(kid)

    def _refresh(self, now: float) -> bool:
        """Fetch the set; True if it was replaced. A failure keeps whatever set was held before."""
        self._attempted_at = now
        try:
            keys = self._fetch()
        except JwksUnavailable as exc:
            self._last_error = str(exc)
            log.warning("JWKS fetch failed: %s", exc)
            return False
        self._fetched_at = now
        self._keys = keys  # one assignment: readers outside the lock see the old set or the new one
        return True

    def _fetch(self) -> dict[str | None, jwt.PyJWK]:
        url = self._safe_url()
        try:
            # No redirects: an https URL must not hand the key set over to http, or to another host.
            with self.session.get(self.url, timeout=self.timeout, stream=True, allow_redirects=False,
                                  headers={"Accept": "application/json"}) as response:
                if response.is_redirect:
                    raise JwksUnavailable(f"{url} answered a redirect (HTTP {response.status_code}), "
                                          f"which is not followed; set AUTH_JWKS_URL to the final address")
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
