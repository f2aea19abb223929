"""A value loaded from Junction and kept for a short while, shared by every thread of the process.

Only one thread loads at a time (others wait for its result), so an expired entry costs one
upstream traversal per process, not one per concurrent request. When a reload fails, the older
value (if any) is served with the error attached, and the failure itself is remembered for a few
seconds, so that while Junction is down pages do not each wait out a timeout.
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


class CachedValue(Generic[T]):
    def __init__(self, loader: Callable[[], T], ttl_seconds: float, *, failure_ttl_seconds: float = 5.0,
                 clock: Callable[[], float] = time.monotonic):
        self._loader = loader
        self._ttl = ttl_seconds
        self._failure_ttl = min(failure_ttl_seconds, ttl_seconds)
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: Snapshot[T] | None = None
        self._failure: Exception | None = None
        self._valid_until = float("-inf")
        self.loads = 0  # how many times the loader ran; the benchmark and tests read it

    def get(self) -> Snapshot[T]:
        if self._clock() < self._valid_until:
            return self._current()
        with self._lock:
            # Another thread may have loaded while this one waited for the lock.
            if self._clock() < self._valid_until:
                return self._current()
            return self._load()

    def refresh(self) -> Snapshot[T]:
        with self._lock:
            return self._load()

    def _current(self) -> Snapshot[T]:
        if self._snapshot is None:
            assert self._failure is not None
            raise self._failure
        return self._snapshot

    def _load(self) -> Snapshot[T]:
        self.loads += 1
        try:
            value = self._loader()
        except Exception as exc:
            self._failure = exc
            self._valid_until = self._clock() + self._failure_ttl
            if self._snapshot is not None:
                self._snapshot = Snapshot(self._snapshot.value, self._snapshot.loaded_at, error=exc)
            return self._current()
        self._failure = None
        self._snapshot = Snapshot(value, self._clock())
        self._valid_until = self._snapshot.loaded_at + self._ttl
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
