from __future__ import annotations

import threading
import time

import pytest

from invite.adapters.cache import CachedValue


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_loads_once_per_ttl():
    clock = Clock()
    calls = []
    cache = CachedValue(lambda: calls.append(1) or len(calls), ttl_seconds=60, clock=clock)
    assert cache.get().value == 1
    clock.now += 59
    assert cache.get().value == 1
    clock.now += 2
    assert cache.get().value == 2
    assert cache.loads == 2


def test_concurrent_expiry_costs_one_load():
    started = threading.Event()
    calls = []

    def slow_loader():
        calls.append(1)
        started.set()
        time.sleep(0.2)
        return "teams"

    cache = CachedValue(slow_loader, ttl_seconds=60)
    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get().value)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["teams"] * 8
    assert len(calls) == 1


def test_failed_reload_serves_older_value_with_error_then_retries_soon():
    clock = Clock()
    outcomes = iter(["v1", RuntimeError("down"), "v2"])

    def loader():
        value = next(outcomes)
        if isinstance(value, Exception):
            raise value
        return value

    cache = CachedValue(loader, ttl_seconds=60, failure_ttl_seconds=5, clock=clock)
    assert cache.get().value == "v1"
    clock.now += 61
    stale = cache.get()
    assert stale.value == "v1" and isinstance(stale.error, RuntimeError)
    clock.now += 1
    assert cache.get().error is not None  # still within the failure window: no new load
    assert cache.loads == 2
    clock.now += 5
    fresh = cache.get()
    assert fresh.value == "v2" and fresh.error is None


def test_failure_without_older_value_raises_and_is_remembered_briefly():
    clock = Clock()
    calls = []

    def loader():
        calls.append(1)
        raise RuntimeError("down")

    cache = CachedValue(loader, ttl_seconds=60, failure_ttl_seconds=5, clock=clock)
    with pytest.raises(RuntimeError):
        cache.get()
    with pytest.raises(RuntimeError):
        cache.get()
    assert len(calls) == 1
    clock.now += 6
    with pytest.raises(RuntimeError):
        cache.get()
    assert len(calls) == 2


def test_refresh_reloads_even_when_fresh():
    calls = []
    cache = CachedValue(lambda: calls.append(1) or len(calls), ttl_seconds=60)
    cache.get()
    assert cache.refresh().value == 2


def test_kept_values_hold_at_most_their_limit_dropping_the_oldest():
    from invite.adapters.cache import Kept

    kept = Kept()
    for n in range(5):
        kept.keep(f"k{n}", n, limit=3)
    assert list(kept) == ["k2", "k3", "k4"] and kept.get("k4") == 4 and kept.get("k0") is None
    kept.keep("k2", 20, limit=3)  # kept again: its value changes, nothing is dropped
    assert kept == {"k2": 20, "k3": 3, "k4": 4}
