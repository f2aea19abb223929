"""A value loaded from Junction and kept for a short while, shared by every thread of the process.

Only one thread loads at a time (others wait for its result), so an expired entry costs one
upstream traversal per process, not one per concurrent request. When a reload fails, the older
value (if any) is served with the error attached, and the failure itself is remembered for a few
seconds, so that while Junction is down pages do not each wait out a timeout.

With `refresh_in_background` (the team list, the org), a value is reloaded on a thread of its own,
from the first read after `refresh_ahead` of its lifetime has passed, while every read meanwhile gets
the value in hand at once: only a process's very first load is waited for (issue 25: a team list of
2,000 teams is 20 calls, up to a second, which the page view that noticed the expiry used to wait out).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Snapshot(Generic[T]):
    value: T
    loaded_at: float  # on the cache's clock
    error: Exception | None = None  # set when this is an older value served after a failed reload


def _on_a_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="cache-refresh", daemon=True).start()


class CachedValue(Generic[T]):
    def __init__(self, loader: Callable[[], T], ttl_seconds: float, *, failure_ttl_seconds: float = 5.0,
                 clock: Callable[[], float] = time.monotonic, refresh_in_background: bool = False,
                 refresh_ahead: float = 0.8, start: Callable[[Callable[[], None]], None] = _on_a_thread):
        self._loader = loader
        self._ttl = ttl_seconds
        self._failure_ttl = min(failure_ttl_seconds, ttl_seconds)
        self._clock = clock
        self._background = refresh_in_background and ttl_seconds > 0  # a TTL of 0 asks for no keeping at all
        # A background reload is begun this far into a value's lifetime, so that a busy process never
        # reaches the end of it.
        self._ahead = refresh_ahead if refresh_in_background else 1.0
        self._start = start
        self._lock = threading.Lock()  # one load at a time
        self._refreshing = threading.Lock()  # held while a background reload is under way
        self._snapshot: Snapshot[T] | None = None
        self._failure: Exception | None = None
        self._due = float("-inf")  # when the next load is due (in the background, or waited for)
        self.loads = 0  # how many times the loader ran; the benchmark and tests read it

    def get(self) -> Snapshot[T]:
        if self._clock() < self._due:
            return self._current()
        if self._background and self._snapshot is not None:
            self._refresh_in_background()
            return self._current()
        with self._lock:
            # Another thread may have loaded while this one waited for the lock.
            if self._clock() < self._due:
                return self._current()
            return self._load()

    def refresh(self) -> Snapshot[T]:
        with self._lock:
            return self._load()

    @property
    def refreshing(self) -> bool:
        """Whether a background reload is under way."""
        return self._refreshing.locked()

    def _refresh_in_background(self) -> None:
        if not self._refreshing.acquire(blocking=False):
            return  # one is under way already
        if self._clock() < self._due:  # it finished between this reader's look at the clock and now
            self._refreshing.release()
            return

        def reload() -> None:
            try:
                with self._lock:
                    self._load()
            finally:
                self._refreshing.release()

        try:
            self._start(reload)
        except BaseException:
            self._refreshing.release()
            raise

    def _current(self) -> Snapshot[T]:
        snapshot = self._snapshot
        if snapshot is None:
            assert self._failure is not None
            raise self._failure
        return snapshot

    def _load(self) -> Snapshot[T]:
        self.loads += 1
        try:
            value = self._loader()
        except Exception as exc:
            self._failure = exc
            if self._snapshot is not None:
                self._snapshot = Snapshot(self._snapshot.value, self._snapshot.loaded_at, error=exc)
            self._due = self._clock() + self._failure_ttl
            return self._current()
        self._failure = None
        self._snapshot = Snapshot(value, self._clock())
        self._due = self._snapshot.loaded_at + self._ttl * self._ahead
        return self._snapshot


class Kept(dict):
    """A dict that a process's threads share, holding at most `limit` entries: keeping one more drops the
    oldest. For values derived once and reused (a verified cookie, a rendered fragment, a built link)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    @classmethod
    def of(cls, extensions: dict, name: str) -> Kept:
        """The one kept under `name` in an app's `extensions`, made on first use: each app keeps its own
        (tests build several apps in one process, on different databases and team lists)."""
        kept = extensions.get(name)
        if kept is None:
            kept = extensions.setdefault(name, cls())
        return kept

    def keep(self, key: object, value: object, limit: int) -> None:
        with self._lock:
            self[key] = value
            while len(self) > limit:
                del self[next(iter(self))]
